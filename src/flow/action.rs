//! One change to the host or one command, described completely enough that the
//! dry run can print it and the executor can carry it out.

use std::fmt;
use std::time::Duration;

/// Who owns a file u7s writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Root,
    Admin,
}

pub use crate::os::Place;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A read-only check; failing it stops the flow before any change.
    Check(super::preflight::Check),
    /// Set a kernel parameter now (`/proc/sys/...`); the sysctl.d file keeps it.
    SetSysctl { key: String, value: String },
    /// Write a whole file atomically (temp file + rename).
    WriteFile {
        path: String,
        mode: u32,
        owner: Owner,
        contents: String,
        /// Secrets are never printed, not even by the dry run.
        secret: bool,
    },
    /// Create a directory if missing, then give it `mode` and `owner`.
    MakeDir {
        path: String,
        mode: u32,
        owner: Owner,
    },
    /// Move an existing path aside to `<path>.u7s-backup-<timestamp>`.
    MoveAside { path: String },
    /// Run a command; its output streams to the admin as it comes.
    Run {
        argv: Vec<String>,
        place: Place,
        /// Bounded retries: (attempts, pause between them).
        retries: Option<(u32, Duration)>,
    },
    /// Wait for a unix socket to appear, at most `timeout`.
    WaitForSocket { path: String, timeout: Duration },
    /// Add the audit flags, volume and mount to the kube-apiserver manifest
    /// (a typed YAML edit).
    AuditApiserver { manifest: String, policy: String },
    /// Give u7s-admin subuid/subgid ranges (65536 ids that overlap nobody's)
    /// unless it has them.
    EnsureSubordinateIds { user: String },
    /// Copy a file, setting its mode and owner. A kubeconfig is checked on
    /// the way: it was written inside the namespaces (u7s-admin could have
    /// changed it), and an `exec` or `auth-provider` entry would run code as
    /// whoever uses the copy, root included.
    Copy {
        from: String,
        to: String,
        mode: u32,
        owner: Owner,
    },
    /// Record how far the flow got (`/etc/podsec/u7s/config/state`), so a
    /// rerun after a crash knows the leftovers are its own.
    MarkState { state: String },
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Owner::Root => "root",
            Owner::Admin => "u7s-admin",
        })
    }
}

/// Renders an argv for reading; entries that need it are single-quoted so the
/// line is unambiguous (it is never given to a shell).
pub fn show_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Check(check) => write!(f, "check {check}"),
            Action::SetSysctl { key, value } => write!(f, "set {key} = {value}"),
            Action::WriteFile {
                path,
                mode,
                owner,
                contents,
                secret,
            } => {
                let lines = contents.lines().count();
                let note = if *secret { ", holds secrets" } else { "" };
                let plural = if lines == 1 { "" } else { "s" };
                write!(
                    f,
                    "write {path} (mode {mode:04o}, owner {owner}, {lines} line{plural}{note})"
                )
            }
            Action::MakeDir { path, mode, owner } => {
                write!(f, "make directory {path} (mode {mode:04o}, owner {owner})")
            }
            Action::MoveAside { path } => {
                write!(f, "move {path} aside to {path}.u7s-backup-<date> if it exists")
            }
            Action::Run {
                argv,
                place,
                retries,
            } => {
                let place = match place {
                    Place::Host => "run",
                    Place::Inside => "run inside the namespaces",
                };
                write!(f, "{place}: {}", show_argv(argv))?;
                if let Some((n, pause)) = retries {
                    write!(f, " (up to {n} tries, {}s apart)", pause.as_secs())?;
                }
                Ok(())
            }
            Action::WaitForSocket { path, timeout } => {
                write!(f, "wait for {path} (at most {}s)", timeout.as_secs())
            }
            Action::AuditApiserver { manifest, policy } => write!(
                f,
                "edit {manifest}: add --audit-policy-file={policy}, --audit-log-path and their volume and mount"
            ),
            Action::EnsureSubordinateIds { user } => write!(
                f,
                "give {user} 65536 subordinate uids and gids in /etc/subuid and /etc/subgid unless it has them"
            ),
            Action::Copy {
                from,
                to,
                mode,
                owner,
            } => write!(f, "copy {from} to {to} (mode {mode:04o}, owner {owner})"),
            Action::MarkState { state } => {
                write!(f, "record state {state:?} in {}", crate::layout::host::STATE_FILE)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_is_shown_unambiguously() {
        let argv = vec![
            "kubeadm".to_string(),
            "init".into(),
            "a b".into(),
            "it's".into(),
        ];
        assert_eq!(show_argv(&argv), "kubeadm init 'a b' 'it'\\''s'");
    }

    #[test]
    fn secrets_are_never_shown() {
        let a = Action::WriteFile {
            path: "/etc/podsec/u7s/config/env".into(),
            mode: 0o600,
            owner: Owner::Root,
            contents: "U7S_TOKEN='abcdef.0123456789abcdef'\n".into(),
            secret: true,
        };
        let shown = a.to_string();
        assert!(!shown.contains("abcdef"), "{shown}");
        assert!(
            shown.contains("0600") && shown.contains("holds secrets"),
            "{shown}"
        );
    }
}
