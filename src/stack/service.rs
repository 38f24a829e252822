//! `u7s service start|stop`: what the system unit `u7s.service` runs as root.
//!
//! The stack lives in u7s-admin's systemd user manager (`u7s.target` pulls in
//! `u7s-rootlesskit.service`, whose child runs CRI-O, and `u7s-kubelet.service`). Root
//! reaches that manager with `systemctl --user -M u7s-admin@`, which returns
//! the job's real result; the reference's `machinectl shell` always exits 0
//! and writes noise on stdout.

use std::ffi::OsString;

pub const TARGET: &str = "u7s.target";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
}

impl Action {
    pub fn parse(word: &str) -> Option<Action> {
        match word {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
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
        Action::Start => vec![os(&["start", &format!("user@{uid}.service")]), target_call],
        Action::Stop => vec![target_call],
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
                vec![
                    OsString::from("--user"),
                    "-M".into(),
                    "u7s-admin@".into(),
                    "start".into(),
                    "u7s.target".into()
                ],
            ]
        );
        let stop = systemctl_calls(Action::Stop, "u7s-admin", 989);
        assert_eq!(stop.len(), 1);
        assert_eq!(stop[0][3], "stop");
        assert_eq!(Action::parse("start"), Some(Action::Start));
        assert_eq!(Action::parse("restart"), None);
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
