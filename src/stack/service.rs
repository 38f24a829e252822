//! `u7s service start|stop`: what the system unit `u7s.service` runs as root.
//!
//! The stack lives in u7s-admin's systemd user manager (`u7s.target` pulls in
//! `u7s-rootlesskit.service`, whose child runs CRI-O, and `u7s-kubelet.service`). Root
//! reaches that manager with `systemctl --user -M u7s-admin@`, which returns
//! the job's real result; the reference's `machinectl shell` always exits 0
//! and writes noise on stdout.

use std::ffi::OsString;

pub const TARGET: &str = "u7s.target";
/// The user units of the stack, in the order they start.
pub const ROOTLESSKIT_UNIT: &str = "u7s-rootlesskit.service";
pub const KUBELET_UNIT: &str = "u7s-kubelet.service";
pub const STACK_UNITS: [&str; 2] = [ROOTLESSKIT_UNIT, KUBELET_UNIT];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    /// u7s.service's main process: start, then watch the user units until
    /// one of them gives up (the service then fails) or SIGTERM (stop).
    Run,
    /// Print the state of the user units; exit 0 only when both run.
    Status,
}

impl Action {
    pub fn parse(word: &str) -> Option<Action> {
        match word {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "run" => Some(Action::Run),
            "status" => Some(Action::Status),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Start | Action::Run => "start",
            Action::Stop => "stop",
            Action::Status => "status",
        }
    }
}

/// The systemctl calls, in order, as argv vectors (systemctl itself not included).
/// Starting first makes sure the user manager runs (`user@UID.service` is
/// idempotent to start and waits until the manager is up), so the unit does not
/// depend on when logind gets to the lingering users at boot.
pub fn systemctl_calls(action: Action, user: &str, uid: u32) -> Vec<Vec<OsString>> {
    let os = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
    let machine = format!("{user}@");
    let target_call = os(&["--user", "-M", &machine, action.verb(), TARGET]);
    match action {
        Action::Start | Action::Run => vec![
            os(&["start", &format!("user@{uid}.service")]),
            // A unit that gave up (start-limit-hit) refuses a start until
            // reset; without names, units that are not loaded are no error.
            os(&["--user", "-M", &machine, "reset-failed"]),
            target_call,
        ],
        Action::Stop => vec![target_call],
        Action::Status => vec![show_call(user)],
    }
}

/// `systemctl --user -M USER@ show -p ... u7s-rootlesskit.service u7s-kubelet.service`.
pub fn show_call(user: &str) -> Vec<OsString> {
    let mut call: Vec<OsString> = ["--user", "-M", &format!("{user}@"), "show", "-p"]
        .iter()
        .map(OsString::from)
        .collect();
    call.push(crate::systemd::SHOW_PROPERTIES.into());
    call.extend(STACK_UNITS.iter().map(OsString::from));
    call
}

/// What the watch concludes from one look at the user units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// For `STATUS=` (shown by `systemctl status u7s`).
    pub status: String,
    /// Set when the stack is down for good: u7s.service fails with this line.
    pub fatal: Option<String>,
}

/// The verdict on the stack's user units: rootlesskit or kubelet failed
/// (systemd gave up restarting it) or stopped is fatal; restarting is shown
/// but not fatal (kubelet restarts until kubeadm has written its config).
pub fn verdict(units: &[crate::systemd::UnitState]) -> Verdict {
    use crate::systemd::{find, Health};
    let mut parts = Vec::new();
    let mut fatal = None;
    for id in STACK_UNITS {
        let unit = find(units, id);
        parts.push(format!("{id}: {}", unit.describe()));
        let why = match unit.health() {
            Health::Failed { result } => Some(crate::tr!("unit-failed", id, result)),
            Health::Down => Some(crate::tr!("unit-stopped", id)),
            Health::Missing => Some(crate::tr!("unit-missing", id)),
            Health::Up | Health::Starting | Health::Restarting { .. } => None,
        };
        if fatal.is_none() {
            fatal = why;
        }
    }
    Verdict {
        status: parts.join("; "),
        fatal,
    }
}

/// Where systemctl is: `U7S_SYSTEMCTL`, else the first of `/usr/bin/systemctl`
/// and `/bin/systemctl` that exists (ALT keeps it in `/bin`).
pub fn systemctl_candidate(
    override_value: Option<OsString>,
    exists: impl Fn(&str) -> bool,
) -> OsString {
    if let Some(v) = override_value.filter(|v| !v.is_empty()) {
        return v;
    }
    ["/usr/bin/systemctl", "/bin/systemctl"]
        .into_iter()
        .find(|p| exists(p))
        .unwrap_or("/usr/bin/systemctl")
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_brings_up_the_manager_then_the_target() {
        let calls = systemctl_calls(Action::Start, "u7s-admin", 989);
        assert_eq!(
            calls,
            vec![
                vec![OsString::from("start"), "user@989.service".into()],
                ["--user", "-M", "u7s-admin@", "reset-failed"]
                    .map(OsString::from)
                    .to_vec(),
                vec![
                    OsString::from("--user"),
                    "-M".into(),
                    "u7s-admin@".into(),
                    "start".into(),
                    "u7s.target".into()
                ],
            ]
        );
        assert_eq!(systemctl_calls(Action::Run, "u7s-admin", 989), calls);
        let stop = systemctl_calls(Action::Stop, "u7s-admin", 989);
        assert_eq!(stop.len(), 1);
        assert_eq!(stop[0][3], "stop");
        assert_eq!(Action::parse("start"), Some(Action::Start));
        assert_eq!(Action::parse("restart"), None);
        assert_eq!(Action::parse("run"), Some(Action::Run));
    }

    #[test]
    fn the_watch_fails_the_service_only_when_a_unit_gave_up_or_stopped() {
        use crate::systemd::parse_show;
        let show = |rk: &str, kl: &str| {
            parse_show(&format!(
                "Id=u7s-rootlesskit.service\nLoadState=loaded\n{rk}\n\nId=u7s-kubelet.service\nLoadState=loaded\n{kl}\n"
            ))
        };
        let up = "ActiveState=active\nSubState=running\nResult=success";
        let v = verdict(&show(up, up));
        assert_eq!(v.fatal, None);
        assert_eq!(
            v.status,
            "u7s-rootlesskit.service: active (running); u7s-kubelet.service: active (running)"
        );
        let restarting =
            "ActiveState=activating\nSubState=auto-restart\nResult=exit-code\nNRestarts=3";
        let v = verdict(&show(up, restarting));
        assert_eq!(v.fatal, None);
        assert!(
            v.status.contains("3 restarts, result exit-code"),
            "{}",
            v.status
        );
        let failed = "ActiveState=failed\nSubState=failed\nResult=start-limit-hit";
        let v = verdict(&show(up, failed));
        assert_eq!(
            v.fatal.as_deref(),
            Some("u7s-kubelet.service failed (start-limit-hit)")
        );
        let stopped = "ActiveState=inactive\nSubState=dead\nResult=success";
        let v = verdict(&show(stopped, stopped));
        assert_eq!(
            v.fatal.as_deref(),
            Some("u7s-rootlesskit.service is not running")
        );
        assert!(verdict(&[])
            .fatal
            .unwrap()
            .contains("u7s-rootlesskit.service"));
    }

    #[test]
    fn systemctl_location() {
        assert_eq!(
            systemctl_candidate(Some("/x/systemctl".into()), |_| false),
            "/x/systemctl"
        );
        assert_eq!(
            systemctl_candidate(None, |p| p == "/bin/systemctl"),
            "/bin/systemctl"
        );
        assert_eq!(systemctl_candidate(None, |_| true), "/usr/bin/systemctl");
        assert_eq!(systemctl_candidate(None, |_| false), "/usr/bin/systemctl");
    }
}
