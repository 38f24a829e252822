//! What u7s reads from and tells systemd: the state of a unit as `systemctl
//! show` prints it (parsed as data: the user manager belongs to u7s-admin),
//! its one-word health, and `sd_notify` for a `Type=notify` service.

use std::os::unix::net::UnixDatagram;

/// The properties u7s asks `systemctl show -p` for.
pub const SHOW_PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,Result,NRestarts";

/// One unit as `systemctl show -p SHOW_PROPERTIES` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    pub load: String,
    pub active: String,
    pub sub: String,
    pub result: String,
    pub restarts: u64,
}

/// What a unit's state means for the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Active and running (or, for a target or oneshot, active).
    Up,
    /// Being started for the first time.
    Starting,
    /// Between two tries of `Restart=`: it died and systemd will start it again.
    Restarting { result: String, restarts: u64 },
    /// Gave up: `failed` with its result (`exit-code`, `start-limit-hit`, ...).
    Failed { result: String },
    /// Stopped (or never started).
    Down,
    /// systemd knows no such unit (not installed).
    Missing,
}

impl UnitState {
    pub fn health(&self) -> Health {
        if self.load == "not-found" {
            return Health::Missing;
        }
        match (self.active.as_str(), self.sub.as_str()) {
            ("active", _) | ("reloading", _) => Health::Up,
            ("activating", "auto-restart") => Health::Restarting {
                result: self.result.clone(),
                restarts: self.restarts,
            },
            ("activating", _) if self.restarts > 0 => Health::Restarting {
                result: self.result.clone(),
                restarts: self.restarts,
            },
            ("activating", _) => Health::Starting,
            ("failed", _) => Health::Failed {
                result: self.result.clone(),
            },
            _ => Health::Down,
        }
    }

    /// `active (running)`, as `systemctl status` words it.
    pub fn describe(&self) -> String {
        let mut text = format!("{} ({})", self.active, self.sub);
        if self.restarts > 0 {
            text.push_str(&format!(", {} restarts", self.restarts));
        }
        if !self.result.is_empty() && self.result != "success" {
            text.push_str(&format!(", result {}", self.result));
        }
        text
    }
}

/// The units of `systemctl show -p ... UNIT...` output: blocks of `Key=Value`
/// lines separated by blank lines. Unknown keys and malformed lines are
/// ignored; a block without `Id=` is dropped.
pub fn parse_show(text: &str) -> Vec<UnitState> {
    let mut units = Vec::new();
    let mut current = UnitState::default();
    let flush = |u: &mut UnitState, units: &mut Vec<UnitState>| {
        let done = std::mem::take(u);
        if !done.id.is_empty() {
            units.push(done);
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut current, &mut units);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        // A value is one word; anything else is not systemd's.
        let value: String = value
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        match key {
            "Id" => current.id = value,
            "LoadState" => current.load = value,
            "ActiveState" => current.active = value,
            "SubState" => current.sub = value,
            "Result" => current.result = value,
            "NRestarts" => current.restarts = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    flush(&mut current, &mut units);
    units
}

/// The state of `id` among `units`; a unit systemd did not describe counts
/// as missing.
pub fn find(units: &[UnitState], id: &str) -> UnitState {
    units
        .iter()
        .find(|u| u.id == id)
        .cloned()
        .unwrap_or_else(|| UnitState {
            id: id.to_owned(),
            load: "not-found".into(),
            active: "inactive".into(),
            sub: "dead".into(),
            ..Default::default()
        })
}

/// The journalctl command that shows a user unit of the system user `uid`
/// to root: systemd keeps a system user's user-unit logs in the system
/// journal, where `journalctl --user -M user@` cannot open them and
/// `--user-unit` matches the caller's own uid only. Both the unit's output
/// (`_SYSTEMD_USER_UNIT`), its user manager's words about it (`USER_UNIT`:
/// started, failed, restarting) and the last words of a u7s applet that
/// exited before journald read its cgroup (`OBJECT_SYSTEMD_USER_UNIT`, which
/// the applet sets itself: `crate::journal`) are shown. Verified under
/// systemd 252 (tests/doctor_systemd.rs).
pub fn journal_command(uid: u32, unit: &str) -> String {
    format!(
        "journalctl _UID={uid} _SYSTEMD_USER_UNIT={unit} + _UID={uid} USER_UNIT={unit} \
         + _UID={uid} OBJECT_SYSTEMD_USER_UNIT={unit}"
    )
}

/// `sd_notify` for a `Type=notify` service: the socket systemd named in
/// `NOTIFY_SOCKET`, taken out of the environment so that the programs this
/// process starts do not talk to systemd in its name.
pub struct Notifier {
    socket: Option<std::ffi::OsString>,
}

impl Notifier {
    /// Takes `NOTIFY_SOCKET` (call while single-threaded, before any spawn).
    pub fn from_env() -> Notifier {
        let socket = std::env::var_os("NOTIFY_SOCKET");
        std::env::remove_var("NOTIFY_SOCKET");
        Notifier { socket }
    }

    /// Tells the service manager `state` (`READY=1`, `STATUS=...`); does
    /// nothing outside a notify service.
    pub fn notify(&self, state: &str) {
        let Some(path) = &self.socket else {
            return;
        };
        let Ok(sock) = UnixDatagram::unbound() else {
            return;
        };
        let bytes = path.as_encoded_bytes();
        let sent = if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|addr| sock.send_to_addr(state.as_bytes(), &addr))
        } else {
            sock.send_to(state.as_bytes(), path)
        };
        if let Err(e) = sent {
            tracing::debug!("sd_notify: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = "\
Id=u7s-rootlesskit.service
LoadState=loaded
ActiveState=active
SubState=running
Result=success
NRestarts=0

Id=u7s-kubelet.service
LoadState=loaded
ActiveState=activating
SubState=auto-restart
Result=exit-code
NRestarts=4

Id=nope.service
LoadState=not-found
ActiveState=inactive
SubState=dead
Result=success
NRestarts=0
";

    #[test]
    fn show_output_parses_into_units_with_their_health() {
        let units = parse_show(SHOW);
        assert_eq!(units.len(), 3);
        assert_eq!(find(&units, "u7s-rootlesskit.service").health(), Health::Up);
        let kubelet = find(&units, "u7s-kubelet.service");
        assert_eq!(
            kubelet.health(),
            Health::Restarting {
                result: "exit-code".into(),
                restarts: 4
            }
        );
        assert_eq!(
            kubelet.describe(),
            "activating (auto-restart), 4 restarts, result exit-code"
        );
        assert_eq!(find(&units, "nope.service").health(), Health::Missing);
        assert_eq!(find(&units, "absent.service").health(), Health::Missing);
    }

    #[test]
    fn failed_down_and_starting() {
        let unit = |active: &str, sub: &str, result: &str, restarts: u64| UnitState {
            id: "x.service".into(),
            load: "loaded".into(),
            active: active.into(),
            sub: sub.into(),
            result: result.into(),
            restarts,
        };
        assert_eq!(
            unit("failed", "failed", "start-limit-hit", 5).health(),
            Health::Failed {
                result: "start-limit-hit".into()
            }
        );
        assert_eq!(
            unit("inactive", "dead", "success", 0).health(),
            Health::Down
        );
        assert_eq!(
            unit("activating", "start-pre", "success", 0).health(),
            Health::Starting
        );
        assert_eq!(unit("active", "exited", "success", 0).health(), Health::Up);
    }

    #[test]
    fn the_journal_command_matches_the_unit_and_its_manager_for_that_uid() {
        assert_eq!(
            journal_command(997, "u7s-kubelet.service"),
            "journalctl _UID=997 _SYSTEMD_USER_UNIT=u7s-kubelet.service + _UID=997 USER_UNIT=u7s-kubelet.service \
             + _UID=997 OBJECT_SYSTEMD_USER_UNIT=u7s-kubelet.service"
        );
    }

    #[test]
    fn junk_is_ignored() {
        let units =
            parse_show("garbage\nId=a.service\nActiveState=act\u{1b}[31mive\nNRestarts=x\n\n\n");
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].active, "act[31mive");
        assert_eq!(units[0].restarts, 0);
        assert!(parse_show("LoadState=loaded\n").is_empty());
    }
}
