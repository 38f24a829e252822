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

pub use crate::layout::Domain;
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
        domain: Domain,
        mode: u32,
        owner: Owner,
        contents: String,
        /// Secrets are never printed, not even by the dry run.
        secret: bool,
    },
    /// Create a directory if missing, then give it `mode` and `owner`.
    MakeDir {
        path: String,
        domain: Domain,
        mode: u32,
        owner: Owner,
    },
    /// Move an existing path aside to `<path>.u7s-backup-<timestamp>`.
    MoveAside { path: String, domain: Domain },
    /// The same for a directory, but only when it holds something (kubeadm
    /// refuses a non-empty etcd data dir; an empty one it may keep).
    MoveAsideIfNotEmpty { path: String, domain: Domain },
    /// Run a command; its output streams to the admin as it comes.
    Run {
        argv: Vec<String>,
        place: Place,
        /// Tried again after a failure, until a deadline (`flow::retry`).
        retries: Option<super::retry::Retry>,
    },
    /// Before anything is pulled: every image kubeadm lists (`list`, run
    /// inside) and every CNI image (`cni`) has its tag in the registry, by
    /// the registry's tag list (`skopeo list-tags`, inside); else stop with
    /// the tags it has and the fix.
    CheckImages {
        list: Vec<String>,
        cni: Vec<String>,
        skopeo: String,
    },
    /// Wait for a unix socket to appear, at most `timeout`.
    WaitForSocket {
        path: String,
        domain: Domain,
        timeout: Duration,
    },
    /// Add the audit flags, volume and mount to the kube-apiserver manifest
    /// (a typed YAML edit of what kubeadm wrote).
    AuditApiserver {
        manifest: String,
        domain: Domain,
        policy: String,
    },
    /// Give u7s-admin subuid/subgid ranges (65536 ids that overlap nobody's)
    /// unless it has them.
    EnsureSubordinateIds { user: String },
    /// Install an admin kubeconfig at `to`, made from the one kubeadm wrote
    /// inside the namespaces (`from`, u7s-admin's: read as u7s-admin, small,
    /// no symbolic link). It is data from u7s-admin, so it passes
    /// `execute::kubeconfig_for_root` (never a plain copy): an `exec` or
    /// `auth-provider` entry would run code as whoever uses it, root
    /// included.
    InstallKubeconfig {
        from: String,
        to: String,
        domain: Domain,
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

/// How the dry run says where a file effect happens.
fn who(domain: &Domain) -> &'static str {
    match domain {
        Domain::Root => "",
        Domain::Admin => "as u7s-admin: ",
    }
}

impl Action {
    /// Where to look when this action fails, if not where its step's hint
    /// points (a message id): the registry check fails before kubeadm runs,
    /// so "kubeadm's output is above" would send the admin the wrong way.
    pub fn hint_id(&self) -> Option<&'static str> {
        match self {
            Action::CheckImages { .. } => Some(crate::tr_id!("hint-registry")),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Check(check) => write!(f, "check {check}"),
            Action::SetSysctl { key, value } => write!(f, "set {key} = {value}"),
            Action::WriteFile {
                path,
                domain,
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
                    "{}write {path} (mode {mode:04o}, owner {owner}, {lines} line{plural}{note})",
                    who(domain)
                )
            }
            Action::MakeDir {
                path,
                domain,
                mode,
                owner,
            } => write!(
                f,
                "{}make directory {path} (mode {mode:04o}, owner {owner})",
                who(domain)
            ),
            Action::MoveAside { path, domain } => write!(
                f,
                "{}move {path} aside to {path}.u7s-backup-<date> if it exists",
                who(domain)
            ),
            Action::MoveAsideIfNotEmpty { path, domain } => write!(
                f,
                "{}move {path} aside to {path}.u7s-backup-<date> if it is not empty",
                who(domain)
            ),
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
                if let Some(retry) = retries {
                    write!(
                        f,
                        " (tried again every {}s for up to {}s)",
                        retry.pause.as_secs(),
                        retry.deadline.as_secs()
                    )?;
                }
                Ok(())
            }
            Action::CheckImages { list, cni, skopeo } => write!(
                f,
                "check inside the namespaces that the registry has the tag of each image of `{}` and of {}: {skopeo} list-tags docker://<image>",
                show_argv(list),
                cni.join(", ")
            ),
            Action::WaitForSocket {
                path,
                domain,
                timeout,
            } => write!(
                f,
                "{}wait for {path} (at most {}s)",
                who(domain),
                timeout.as_secs()
            ),
            Action::AuditApiserver {
                manifest,
                domain,
                policy,
            } => write!(
                f,
                "{}edit {manifest}: add --audit-policy-file={policy}, --audit-log-path and their volume and mount",
                who(domain)
            ),
            Action::EnsureSubordinateIds { user } => write!(
                f,
                "give {user} 65536 subordinate uids and gids in /etc/subuid and /etc/subgid unless it has them"
            ),
            Action::InstallKubeconfig {
                from,
                to,
                domain,
                mode,
                owner,
            } => write!(
                f,
                "{}install {to} (mode {mode:04o}, owner {owner}) from {from}, read as u7s-admin and checked",
                who(domain)
            ),
            Action::MarkState { state } => {
                write!(
                    f,
                    "record state {state:?} in {}",
                    crate::layout::host::STATE_FILE
                )
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
            domain: Domain::Root,
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
