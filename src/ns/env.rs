//! The environment of a program that root runs inside the namespaces.
//!
//! Inside, root is the mapped u7s-admin, and the program is u7s-admin's to
//! inspect (it can ptrace it, read its /proc/<pid>/environ). So root's
//! environment does not go in wholesale: secrets root keeps in it (tokens,
//! agent sockets, proxy passwords) would be handed over. The program gets
//! u7s-admin's session (HOME, USER, LOGNAME, SHELL, XDG_*) and, from root's
//! environment, only what chooses a terminal, a language, a time zone, a
//! search path and which kubeconfig or editor the tools use:
//!
//! - `PATH`: the tools root means by a bare name (root's choice of search
//!   path; the programs found there run with u7s-admin's rights only);
//! - `TERM`, `COLORTERM`, `NO_COLOR`: how to draw on root's terminal;
//! - `LANG`, `LANGUAGE`, `LC_*`, `TZ`: the language and time of messages;
//! - `KUBECONFIG`, `KUBE_EDITOR`, `EDITOR`, `VISUAL`: which kubeconfig
//!   kubectl reads (with u7s-admin's rights: a root-only file stays
//!   unreadable) and what `kubectl edit` starts;
//! - `U7S_*`: u7s's own settings (tool paths, the state dir, versions), which
//!   a u7s applet inside reads; they name paths and versions, not secrets.
//!
//! Anything else (`SSH_AUTH_SOCK`, `*_TOKEN`, `LD_PRELOAD`, `SUDO_*`,
//! `JOURNAL_STREAM`, `TMPDIR`, `MAIL`, ...) stays outside.

use std::ffi::{OsStr, OsString};

use crate::users::AdminUser;

/// Variables passed from root's environment by name.
pub const PASSED: [&str; 11] = [
    "PATH",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "LANG",
    "LANGUAGE",
    "TZ",
    "KUBECONFIG",
    "KUBE_EDITOR",
    "EDITOR",
    "VISUAL",
];

/// Variables passed by prefix.
pub const PASSED_PREFIXES: [&str; 2] = ["LC_", "U7S_"];

/// Whether root's variable `key` reaches the program inside.
pub fn passes(key: &OsStr) -> bool {
    let Some(key) = key.to_str() else {
        return false;
    };
    PASSED.contains(&key) || PASSED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The whole environment of a program root runs inside: the passed part of
/// `caller` (root's environment), then u7s-admin's session, which wins.
pub fn for_root_inside(
    caller: impl IntoIterator<Item = (OsString, OsString)>,
    admin: &AdminUser,
) -> Vec<(OsString, OsString)> {
    let session = admin.session_env();
    let mut env: Vec<(OsString, OsString)> = caller
        .into_iter()
        .filter(|(k, _)| passes(k))
        .filter(|(k, _)| !session.iter().any(|(s, _)| s == k))
        .collect();
    env.extend(session);
    env.push(("SHELL".into(), admin.shell.clone().into_os_string()));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::unistd::{Gid, Uid};

    fn admin() -> AdminUser {
        AdminUser {
            name: "u7s-admin".into(),
            uid: Uid::from_raw(999),
            gid: Gid::from_raw(998),
            home: "/var/lib/u7s-admin".into(),
            shell: "/bin/bash".into(),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        list.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn only_the_whitelist_and_the_admin_session_go_inside() {
        let root = pairs(&[
            ("PATH", "/usr/libexec/podsec/u7s/bin:/usr/bin"),
            ("TERM", "xterm-256color"),
            ("LANG", "ru_RU.UTF-8"),
            ("LC_TIME", "C"),
            ("KUBECONFIG", "/etc/kubernetes/admin.conf"),
            ("U7S_KUBEADM", "/opt/kubeadm"),
            ("HOME", "/root"),
            ("USER", "root"),
            ("XDG_RUNTIME_DIR", "/run/user/0"),
            ("SHELL", "/bin/zsh"),
            ("SSH_AUTH_SOCK", "/tmp/ssh-x/agent.1"),
            ("AWS_SECRET_ACCESS_KEY", "hunter2"),
            ("LD_PRELOAD", "/root/hook.so"),
            ("SUDO_USER", "alice"),
            ("JOURNAL_STREAM", "8:1234"),
            ("BASH_ENV", "/root/.bashrc"),
        ]);
        let env = for_root_inside(root, &admin());
        let get = |k: &str| {
            let found: Vec<_> = env.iter().filter(|(key, _)| key == k).collect();
            assert!(found.len() <= 1, "{k} twice");
            found.first().map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(
            get("PATH").as_deref(),
            Some("/usr/libexec/podsec/u7s/bin:/usr/bin")
        );
        assert_eq!(get("TERM").as_deref(), Some("xterm-256color"));
        assert_eq!(get("LANG").as_deref(), Some("ru_RU.UTF-8"));
        assert_eq!(get("LC_TIME").as_deref(), Some("C"));
        assert_eq!(
            get("KUBECONFIG").as_deref(),
            Some("/etc/kubernetes/admin.conf")
        );
        assert_eq!(get("U7S_KUBEADM").as_deref(), Some("/opt/kubeadm"));
        assert_eq!(get("HOME").as_deref(), Some("/var/lib/u7s-admin"));
        assert_eq!(get("USER").as_deref(), Some("u7s-admin"));
        assert_eq!(get("XDG_RUNTIME_DIR").as_deref(), Some("/run/user/999"));
        assert_eq!(get("SHELL").as_deref(), Some("/bin/bash"));
        for gone in [
            "SSH_AUTH_SOCK",
            "AWS_SECRET_ACCESS_KEY",
            "LD_PRELOAD",
            "SUDO_USER",
            "JOURNAL_STREAM",
            "BASH_ENV",
        ] {
            assert_eq!(get(gone), None, "{gone}");
        }
    }

    #[test]
    fn names_are_matched_exactly() {
        for no in ["PATHX", "XPATH", "LC", "U7S", "lang", "TERMINFO"] {
            assert!(!passes(OsStr::new(no)), "{no}");
        }
        for yes in ["LC_ALL", "U7S_SHIM_DEPTH", "TZ"] {
            assert!(passes(OsStr::new(yes)), "{yes}");
        }
    }

    #[test]
    fn the_help_names_the_whole_whitelist() {
        let help = crate::docs::long_help("nsenter_u7s").replace('\n', " ");
        for name in PASSED {
            assert!(help.contains(name), "{name} is not in nsenter_u7s --help");
        }
        for prefix in PASSED_PREFIXES {
            assert!(help.contains(&format!("{prefix}*")), "{prefix}*");
        }
    }
}
