//! Logging to the systemd journal through its native protocol, when stderr is
//! connected to the journal (systemd sets `JOURNAL_STREAM` to the device and
//! inode of that stream). The protocol is tracing-journald's: each message
//! keeps its priority and carries `SYSLOG_IDENTIFIER`, multi-line messages
//! are sent length-encoded, and one too large for a datagram goes through a
//! sealed memfd. journald adds the unit itself (`_SYSTEMD_UNIT`), so
//! `journalctl -u <unit>` finds it, but it reads that from /proc/<pid>/cgroup
//! when the datagram arrives: the last words of a process that exits right
//! after them (u7s.service failing, `u7s kubelet` refusing to start) can lose
//! it. So each process names its own unit as well: a system unit's root
//! process in `OBJECT_SYSTEMD_UNIT`, which `journalctl -u` matches for
//! messages from uid 0, and a user unit's process in
//! `OBJECT_SYSTEMD_USER_UNIT`, which `--user-unit` and
//! [`crate::systemd::journal_command`] match for messages from its uid.
//! Not covered: the rootlesskit child, whose cgroup namespace shows "/"; its
//! messages keep depending on journald reading its cgroup in time.

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

/// The unit a process runs in, as the field that names it to journalctl.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnUnit {
    /// `OBJECT_SYSTEMD_UNIT`: a system unit (`u7s.service`), run as root.
    System(String),
    /// `OBJECT_SYSTEMD_USER_UNIT`: a unit of a user manager
    /// (`u7s-kubelet.service` under `user@<uid>.service`).
    User(String),
}

impl OwnUnit {
    fn field(&self) -> (&'static str, &str) {
        match self {
            OwnUnit::System(unit) => ("OBJECT_SYSTEMD_UNIT", unit),
            OwnUnit::User(unit) => ("OBJECT_SYSTEMD_USER_UNIT", unit),
        }
    }
}

/// The unit a process of `uid` runs in, from the text of its
/// /proc/self/cgroup: the innermost `.service` of the unified (`0::`) or
/// systemd (`name=systemd`) hierarchy; a user unit when it lies under
/// `user@<n>.service`. None outside a service, and for a system unit of
/// any uid but 0 (journalctl trusts that field only from root).
pub fn unit_of(cgroup: &str, uid: u32) -> Option<OwnUnit> {
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
    [path_in(true), path_in(false)]
        .into_iter()
        .flatten()
        .find_map(|path| unit_in(path, uid))
}

fn unit_in(path: &str, uid: u32) -> Option<OwnUnit> {
    // As systemd's cg_path_get_unit and cg_path_get_user_unit: past the
    // slices (and, for a user unit, past `user@<n>.service`), the first
    // component is the unit; a sub-cgroup of it (a delegated subtree) names
    // no unit of its own.
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let (rest, user) = match parts.iter().position(|p| p.starts_with("user@")) {
        Some(manager) => (&parts[manager + 1..], true),
        None if uid == 0 => (&parts[..], false),
        None => return None,
    };
    let unit = rest.iter().find(|p| !p.ends_with(".slice"))?;
    if unit.len() <= ".service".len() || !unit.ends_with(".service") {
        return None;
    }
    Some(if user {
        OwnUnit::User(unit.to_string())
    } else {
        OwnUnit::System(unit.to_string())
    })
}

/// A tracing layer that sends every event to journald's socket
/// (`/run/systemd/journal/socket`) as `identifier`, naming `unit` (the one
/// this process runs in); an error when nothing listens there.
pub fn layer(identifier: &str, unit: Option<&OwnUnit>) -> std::io::Result<tracing_journald::Layer> {
    let layer = tracing_journald::Layer::new()?
        .with_syslog_identifier(identifier.to_owned())
        .with_priority_mappings(priorities());
    Ok(match unit {
        Some(unit) => layer.with_custom_fields([unit.field()]),
        None => layer,
    })
}

/// The unit this process runs in (see [`unit_of`]).
pub fn own_unit() -> Option<OwnUnit> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    unit_of(&cgroup, nix::unistd::geteuid().as_raw())
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

    fn system(unit: &str) -> Option<OwnUnit> {
        Some(OwnUnit::System(unit.into()))
    }

    fn user(unit: &str) -> Option<OwnUnit> {
        Some(OwnUnit::User(unit.into()))
    }

    #[test]
    fn a_root_process_of_a_system_unit_names_it() {
        let v2 = "0::/system.slice/u7s.service\n";
        assert_eq!(unit_of(v2, 0), system("u7s.service"));
        let v1 = "4:memory:/system.slice/x.service\n1:name=systemd:/system.slice/u7s.service\n";
        assert_eq!(unit_of(v1, 0), system("u7s.service"));
        let delegated = "0::/system.slice/u7s.service/supervisor\n";
        assert_eq!(unit_of(delegated, 0), system("u7s.service"));
        // A sub-cgroup named like a unit is still the outer unit's, as systemd reads it.
        let inner = "0::/system.slice/u7s.service/evil.service\n";
        assert_eq!(unit_of(inner, 0), system("u7s.service"));
        // systemd-nspawn on a hybrid host: the host's v1 line comes first and is "/".
        let nspawn = "9:name=systemd:/\n4:memory:/\n0::/system.slice/u7s.service\n";
        assert_eq!(unit_of(nspawn, 0), system("u7s.service"));
    }

    #[test]
    fn a_user_managers_unit_is_a_user_unit_for_any_uid() {
        let kubelet =
            "0::/user.slice/user-999.slice/user@999.service/app.slice/u7s-kubelet.service\n";
        assert_eq!(unit_of(kubelet, 999), user("u7s-kubelet.service"));
        assert_eq!(unit_of(kubelet, 0), user("u7s-kubelet.service"));
        let inner = "0::/user.slice/user-999.slice/user@999.service/app.slice/u7s-kubelet.service/x.service\n";
        assert_eq!(unit_of(inner, 999), user("u7s-kubelet.service"));
        // The manager itself is no unit of its own.
        let manager = "0::/user.slice/user-999.slice/user@999.service/init.scope\n";
        assert_eq!(unit_of(manager, 999), None);
    }

    #[test]
    fn other_uids_sessions_and_the_root_cgroup_name_nothing() {
        assert_eq!(unit_of("0::/system.slice/u7s.service\n", 999), None);
        assert_eq!(
            unit_of("0::/user.slice/user-0.slice/session-3.scope\n", 0),
            None
        );
        assert_eq!(unit_of("0::/\n", 0), None);
        assert_eq!(unit_of("4:memory:/system.slice/u7s.service\n", 0), None);
        assert_eq!(unit_of("0::/system.slice/.service\n", 0), None);
    }
}
