//! Joining the namespaces of the rootlesskit child, after proving that the pid
//! read from u7s-admin's state files is really u7s-admin's rootlesskit child.
//!
//! A pid is not a proof: u7s-admin writes `child_pid`, so it could name any
//! process, e.g. one of its own on the host, whose namespaces are all the
//! host's (root would then "enter" nothing and run its command on the host).
//! So the target is opened as a pidfd; its credentials and user namespace
//! are read through `/proc/<pid>` and only then is the pidfd checked to be
//! still alive (so the pid was not reused in between); it must run as
//! u7s-admin, in a user namespace that is not ours and that u7s-admin created
//! (NS_GET_OWNER_UID), and share none of our other namespaces (a process
//! in a user namespace of its own but on the host's mounts and network is
//! not a rootlesskit child either). The namespaces are then joined through the pidfd, all
//! seven at once (setns with a pidfd applies them atomically and joins the
//! user namespace first, so root and u7s-admin need no ordering of their
//! own), and root becomes uid/gid 0 inside, i.e. the mapped u7s-admin, with no
//! capability left over the host.
//!
//! Other traps: setns into a user namespace needs a single-threaded process
//! (u7s starts no threads); joining the mount namespace resets the working
//! directory, so it is restored by path afterwards, with the credentials of
//! inside (`/` if it does not exist there).

use std::fmt;
use std::io;
use std::path::Path;

use nix::libc;
use nix::sched::CloneFlags;
use nix::unistd::chdir;

use super::sys::{kind_names, Linux, NsSys, NAMESPACES};

/// Every namespace of the rootlesskit child that we join.
pub const ALL: CloneFlags = CloneFlags::CLONE_NEWUSER
    .union(CloneFlags::CLONE_NEWNS)
    .union(CloneFlags::CLONE_NEWNET)
    .union(CloneFlags::CLONE_NEWCGROUP)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWUTS);

/// What joining changed, for the caller to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entered {
    /// A pid namespace only applies to children: the caller must fork.
    pub pid_namespace: bool,
}

/// Whose namespaces may be entered.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub uid: u32,
}

/// Why the namespaces were not entered. Each renders as one line.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// u7s-admin is uid 0: there is no boundary to prove.
    OwnerIsRoot {
        name: String,
    },
    NotRunning {
        pid: i32,
    },
    /// The process runs as someone else (uid as in /proc/<pid>/status).
    NotOwners {
        pid: i32,
        uids: String,
        owner: String,
    },
    /// The process is in our own user namespace: nothing would be joined.
    NoUserNamespace {
        pid: i32,
    },
    /// It shares another of our namespaces (the host's mount namespace, say):
    /// whatever it is, it is not a rootlesskit child.
    SharesNamespace {
        pid: i32,
        kind: &'static str,
    },
    /// Its user namespace was created by someone else.
    UserNamespaceNotOwners {
        pid: i32,
        creator: u32,
        owner: String,
    },
    /// A system call failed.
    Failed {
        what: String,
        pid: i32,
        err: String,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Refusal::OwnerIsRoot { name } => crate::tr!("enter-owner-is-root", name),
            Refusal::NotRunning { pid } => crate::tr!("notready-dead", pid),
            Refusal::NotOwners { pid, uids, owner } => {
                crate::tr!("enter-not-owners", pid, uids, owner)
            }
            Refusal::NoUserNamespace { pid } => crate::tr!("enter-no-user-namespace", pid),
            Refusal::SharesNamespace { pid, kind } => {
                crate::tr!("enter-shares-namespace", pid, kind)
            }
            Refusal::UserNamespaceNotOwners {
                pid,
                creator,
                owner,
            } => crate::tr!("enter-user-namespace-not-owners", pid, creator, owner),
            Refusal::Failed { what, pid, err } => crate::tr!("enter-failed", what, pid, err),
        };
        f.write_str(&text)
    }
}

impl std::error::Error for Refusal {}

/// The four uids (real, effective, saved, filesystem) of a `/proc/<pid>/status`.
pub fn status_uids(status: &str) -> Option<[u32; 4]> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let ids: Vec<u32> = line
        .split_ascii_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    ids.try_into().ok()
}

/// Proves that `pid` is `owner`'s process in `owner`'s user namespace and
/// joins all its namespaces; root then becomes uid/gid 0 inside. Nothing
/// is joined unless every check passed.
pub fn prove_and_join<S: NsSys>(sys: &mut S, pid: i32, owner: Owner) -> Result<Entered, Refusal> {
    let owner_name = owner.name.to_owned();
    if owner.uid == 0 {
        return Err(Refusal::OwnerIsRoot { name: owner_name });
    }
    let gone = |e: &io::Error| matches!(e.raw_os_error(), Some(libc::ESRCH) | Some(libc::ENOENT));
    let failed = |what: &str, e: io::Error| Refusal::Failed {
        what: what.to_owned(),
        pid,
        err: e.to_string(),
    };
    let or_gone = |what: &'static str| {
        move |e: io::Error| {
            if gone(&e) {
                Refusal::NotRunning { pid }
            } else {
                failed(what, e)
            }
        }
    };
    let pidfd = sys.pidfd_open(pid).map_err(or_gone("pidfd_open"))?;
    let proc_dir = sys.open_proc(pid).map_err(or_gone("/proc/<pid>"))?;
    let status = sys
        .read_status(&proc_dir)
        .map_err(or_gone("/proc/<pid>/status"))?;
    let user_ns = sys
        .open_user_ns(&proc_dir)
        .map_err(or_gone("/proc/<pid>/ns/user"))?;
    let mut theirs = Vec::with_capacity(NAMESPACES.len());
    for (_, kind) in NAMESPACES {
        let id = sys
            .ns_id(&proc_dir, kind)
            .map_err(or_gone("/proc/<pid>/ns"))?;
        theirs.push((kind, id));
    }
    // Still the same process: the pid was not reused while we read.
    sys.pidfd_alive(&pidfd)
        .map_err(or_gone("pidfd_send_signal"))?;
    let uids = status_uids(&status).ok_or_else(|| Refusal::Failed {
        what: "/proc/<pid>/status".into(),
        pid,
        err: "no Uid line".into(),
    })?;
    if uids.iter().any(|&u| u != owner.uid) {
        return Err(Refusal::NotOwners {
            pid,
            uids: uids.map(|u| u.to_string()).join(" "),
            owner: owner_name,
        });
    }
    for (kind, id) in theirs {
        let ours = sys
            .own_ns_id(kind)
            .map_err(|e| failed("/proc/self/ns", e))?;
        if id == ours {
            return Err(if kind == "user" {
                Refusal::NoUserNamespace { pid }
            } else {
                Refusal::SharesNamespace { pid, kind }
            });
        }
    }
    let creator = sys
        .ns_owner_uid(&user_ns)
        .map_err(|e| failed("NS_GET_OWNER_UID", e))?;
    if creator != owner.uid {
        return Err(Refusal::UserNamespaceNotOwners {
            pid,
            creator,
            owner: owner_name,
        });
    }
    let root = sys.geteuid() == 0;
    sys.setns(&pidfd, ALL)
        .map_err(|e| failed(&format!("setns({})", kind_names(ALL)), e))?;
    if root {
        // Root is unmapped inside; become the mapped uid 0 (u7s-admin
        // outside): supplementary groups, then gid, then uid.
        sys.drop_groups().map_err(|e| failed("setgroups", e))?;
        sys.setresgid(0).map_err(|e| failed("setresgid(0)", e))?;
        sys.setresuid(0).map_err(|e| failed("setresuid(0)", e))?;
    }
    Ok(Entered {
        pid_namespace: true,
    })
}

/// Proves and joins the namespaces of `pid` for real, then restores the
/// working directory by path (`/` if it does not exist inside).
pub fn enter(pid: i32, owner: Owner) -> Result<Entered, Refusal> {
    let cwd = std::env::current_dir().ok();
    let entered = prove_and_join(&mut Linux, pid, owner)?;
    restore_cwd(cwd.as_deref());
    Ok(entered)
}

fn restore_cwd(cwd: Option<&Path>) {
    if let Some(dir) = cwd {
        if chdir(dir).is_ok() {
            return;
        }
        tracing::debug!(
            "{} does not exist inside the namespaces, using /",
            dir.display()
        );
    }
    let _ = chdir("/");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns::sys::Recording;

    const ADMIN: Owner = Owner {
        name: "u7s-admin",
        uid: 999,
    };

    /// The proof: read everything through the /proc handle, confirm the
    /// pidfd is alive, then compare and ask the owner.
    fn proof() -> Vec<String> {
        let mut calls = vec![
            "pidfd_open(4242)".to_owned(),
            "open(/proc/4242)".into(),
            "read(proc:4242/status)".into(),
            "open(proc:4242/ns/user)".into(),
        ];
        for (_, kind) in NAMESPACES {
            calls.push(format!("stat(proc:4242/ns/{kind})"));
        }
        calls.push("pidfd_send_signal(pidfd:4242, 0)".into());
        for (_, kind) in NAMESPACES {
            calls.push(format!("stat(/proc/self/ns/{kind})"));
        }
        calls.push("NS_GET_OWNER_UID(proc:4242/ns/user)".into());
        calls
    }

    #[test]
    fn root_proves_then_joins_then_becomes_the_mapped_admin() {
        let mut sys = Recording::genuine(999, 0);
        let entered = prove_and_join(&mut sys, 4242, ADMIN).unwrap();
        assert!(entered.pid_namespace);
        let mut expected = proof();
        expected.extend([
            "setns(pidfd:4242, user|mnt|net|cgroup|pid|ipc|uts)".into(),
            "setgroups([])".into(),
            "setresgid(0)".into(),
            "setresuid(0)".into(),
        ]);
        assert_eq!(sys.calls, expected);
    }

    #[test]
    fn the_admin_joins_without_changing_credentials() {
        let mut sys = Recording::genuine(999, 999);
        prove_and_join(&mut sys, 4242, ADMIN).unwrap();
        let mut expected = proof();
        expected.push("setns(pidfd:4242, user|mnt|net|cgroup|pid|ipc|uts)".into());
        assert_eq!(sys.calls, expected);
    }

    /// Every refusal happens before any setns or credential change.
    fn refused(mut sys: Recording) -> Refusal {
        let err = prove_and_join(&mut sys, 4242, ADMIN).unwrap_err();
        assert!(
            !sys.calls.iter().any(|c| c.starts_with("setns")
                || c.starts_with("setres")
                || c.starts_with("setgroups")),
            "{:?}",
            sys.calls
        );
        assert!(!err.to_string().contains('\n'));
        err
    }

    #[test]
    fn a_host_process_of_the_admin_is_refused() {
        // u7s-admin's own `sleep` on the host: right uid, but our user namespace.
        let mut sys = Recording::genuine(999, 0);
        for (_, kind) in NAMESPACES {
            sys.target_ns.push((kind, Recording::own(kind)));
        }
        sys.owner_uid = 0;
        let err = refused(sys);
        assert_eq!(err, Refusal::NoUserNamespace { pid: 4242 });
        assert!(
            err.to_string()
                .contains("no user namespace would be joined"),
            "{err}"
        );
    }

    #[test]
    fn a_user_namespace_on_the_hosts_mounts_is_refused() {
        // `unshare --user` by u7s-admin: its own user namespace, our others.
        for (_, shared) in &NAMESPACES[1..] {
            let mut sys = Recording::genuine(999, 0);
            sys.target_ns.push((shared, Recording::own(shared)));
            assert_eq!(
                refused(sys),
                Refusal::SharesNamespace {
                    pid: 4242,
                    kind: shared
                }
            );
        }
    }

    #[test]
    fn someone_elses_process_or_namespace_is_refused() {
        let mut sys = Recording::genuine(999, 0);
        sys.status = "Uid:\t999\t0\t999\t999\n".into();
        assert!(matches!(refused(sys), Refusal::NotOwners { .. }));
        let mut sys = Recording::genuine(999, 0);
        sys.owner_uid = 1000;
        assert_eq!(
            refused(sys),
            Refusal::UserNamespaceNotOwners {
                pid: 4242,
                creator: 1000,
                owner: "u7s-admin".into()
            }
        );
        let mut sys = Recording::genuine(999, 0);
        sys.status = "Name:\tx\n".into();
        assert!(matches!(refused(sys), Refusal::Failed { .. }));
    }

    #[test]
    fn a_process_that_dies_or_is_replaced_meanwhile_is_refused() {
        for call in ["pidfd_open", "open_proc", "read_status", "pidfd_alive"] {
            let mut sys = Recording::genuine(999, 0);
            sys.fail.push((call, libc::ESRCH));
            assert_eq!(refused(sys), Refusal::NotRunning { pid: 4242 }, "{call}");
        }
    }

    #[test]
    fn an_admin_that_is_root_is_refused_before_any_call() {
        let mut sys = Recording::genuine(0, 0);
        let err = prove_and_join(
            &mut sys,
            4242,
            Owner {
                name: "root",
                uid: 0,
            },
        )
        .unwrap_err();
        assert!(matches!(err, Refusal::OwnerIsRoot { .. }));
        assert!(sys.calls.is_empty());
    }

    #[test]
    fn a_failed_setns_stops_before_the_credentials_change() {
        let mut sys = Recording::genuine(999, 0);
        sys.fail.push(("setns", libc::EPERM));
        let err = prove_and_join(&mut sys, 4242, ADMIN).unwrap_err();
        assert!(err.to_string().contains("setns"), "{err}");
        assert!(sys.calls.last().unwrap().starts_with("setns"));
    }

    #[test]
    fn status_uid_lines() {
        assert_eq!(
            status_uids("Name:\ta\nUid:\t1\t2\t3\t4\nGid:\t0\t0\t0\t0\n"),
            Some([1, 2, 3, 4])
        );
        assert_eq!(status_uids("Uid:\t1\t2\t3\n"), None);
        assert_eq!(status_uids("Uid:\t1\t2\t3\t-4\n"), None);
        assert_eq!(status_uids(""), None);
    }
}
