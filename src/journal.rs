//! Logging to the systemd journal through its native protocol, when stderr is
//! connected to the journal (systemd sets `JOURNAL_STREAM` to the device and
//! inode of that stream). The protocol is tracing-journald's: each message
//! keeps its priority and carries `SYSLOG_IDENTIFIER`, multi-line messages
//! are sent length-encoded, and one too large for a datagram goes through a
//! sealed memfd. journald adds the unit itself (`_SYSTEMD_UNIT`), so
//! `journalctl -u <unit>` finds it, but it reads that from /proc/<pid>/cgroup
//! when the datagram arrives: the last words of a process that exits right
//! after them (u7s.service failing) can lose it. A system unit's root process
//! therefore also names its unit in `OBJECT_SYSTEMD_UNIT`, which
//! `journalctl -u` matches for messages from uid 0.

use std::os::unix::fs::MetadataExt;

use tracing_journald::{Priority, PriorityMappings};

/// Whether stderr is the journal stream systemd gave this process.
pub fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var("JOURNAL_STREAM").ok() else {
        return false;
    };
    let Some((dev, ino)) = stream.split_once(':') else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    dev.parse::<u64>().ok() == Some(meta.dev()) && ino.parse::<u64>().ok() == Some(meta.ino())
}

/// The syslog priority of each tracing level, as the stderr logger ranks
/// them: an info line is informational (6), not a notice (tracing-journald's
/// default), and debug and trace are both debug (7).
pub fn priorities() -> PriorityMappings {
    PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    }
}

/// The system unit (`u7s.service`) a process of `uid` runs in, from the text
/// of its /proc/self/cgroup: the last `.service` in the unified (`0::`) or
/// systemd (`name=systemd`) hierarchy. None for a user manager's units (under
/// `user@<uid>.service`), for any uid but 0 (journalctl trusts the field only
/// from root), and outside a service.
pub fn system_unit_of(cgroup: &str, uid: u32) -> Option<String> {
    if uid != 0 {
        return None;
    }
    // The unified hierarchy first: under systemd-nspawn on a hybrid host the
    // container's systemd keeps its units there, while `name=systemd` is the
    // host's and shows "/".
    let path_in = |unified: bool| {
        cgroup.lines().find_map(|line| {
            let (id, rest) = line.split_once(':')?;
            let (controllers, path) = rest.split_once(':')?;
            let wanted = if unified {
                id == "0" && controllers.is_empty()
            } else {
                controllers == "name=systemd"
            };
            wanted.then_some(path)
        })
    };
    let paths = [path_in(true), path_in(false)];
    paths.into_iter().flatten().find_map(unit_in)
}

/// The innermost system `.service` of a cgroup path; None under a user manager.
fn unit_in(path: &str) -> Option<String> {
    if path.split('/').any(|part| part.starts_with("user@")) {
        return None;
    }
    path.rsplit('/')
        .find(|part| part.len() > ".service".len() && part.ends_with(".service"))
        .map(str::to_owned)
}

/// A tracing layer that sends every event to journald's socket
/// (`/run/systemd/journal/socket`) as `identifier`, naming `unit` when this
/// is a system unit's root process; an error when nothing listens there.
pub fn layer(identifier: &str, unit: Option<&str>) -> std::io::Result<tracing_journald::Layer> {
    let layer = tracing_journald::Layer::new()?
        .with_syslog_identifier(identifier.to_owned())
        .with_priority_mappings(priorities());
    Ok(match unit {
        Some(unit) => layer.with_custom_fields([("OBJECT_SYSTEMD_UNIT", unit)]),
        None => layer,
    })
}

/// The system unit this process runs in (see [`system_unit_of`]).
pub fn own_system_unit() -> Option<String> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    system_unit_of(&cgroup, nix::unistd::geteuid().as_raw())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_keep_the_syslog_priorities_of_the_stderr_logger() {
        let p = priorities();
        // tracing-journald's Priority is the digit journald reads.
        let digits = [p.error, p.warn, p.info, p.debug, p.trace].map(|p| p as u8 as char);
        assert_eq!(digits, ['3', '4', '6', '7', '7']);
    }

    #[test]
    fn a_root_process_of_a_system_unit_names_it() {
        let v2 = "0::/system.slice/u7s.service\n";
        assert_eq!(system_unit_of(v2, 0).as_deref(), Some("u7s.service"));
        let v1 = "4:memory:/system.slice/x.service\n1:name=systemd:/system.slice/u7s.service\n";
        assert_eq!(system_unit_of(v1, 0).as_deref(), Some("u7s.service"));
        let delegated = "0::/system.slice/u7s.service/supervisor\n";
        assert_eq!(system_unit_of(delegated, 0).as_deref(), Some("u7s.service"));
        // systemd-nspawn on a hybrid host: the host's v1 line comes first and is "/".
        let nspawn = "9:name=systemd:/\n4:memory:/\n0::/system.slice/u7s.service\n";
        assert_eq!(system_unit_of(nspawn, 0).as_deref(), Some("u7s.service"));
    }

    #[test]
    fn user_units_other_uids_and_shells_name_nothing() {
        let user = "0::/user.slice/user-999.slice/user@999.service/app.slice/u7s-kubelet.service\n";
        assert_eq!(system_unit_of(user, 0), None);
        assert_eq!(system_unit_of("0::/system.slice/u7s.service\n", 999), None);
        assert_eq!(
            system_unit_of("0::/user.slice/user-0.slice/session-3.scope\n", 0),
            None
        );
        assert_eq!(system_unit_of("0::/\n", 0), None);
        assert_eq!(
            system_unit_of("4:memory:/system.slice/u7s.service\n", 0),
            None
        );
        assert_eq!(system_unit_of("0::/system.slice/.service\n", 0), None);
    }
}
