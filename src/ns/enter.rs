//! Joining the namespaces of the rootlesskit child (what util-linux
//! `nsenter --user --mount --net --cgroup --pid --ipc --uts --wd` does).
//!
//! Traps handled here: setns into a user namespace needs a single-threaded
//! process (u7s starts no threads); an unprivileged caller must join the user
//! namespace first to gain the rights for the others, while root joins it last
//! and then becomes uid/gid 0 inside (the mapped u7s-admin); a namespace we are
//! already in is skipped (setns would fail with EINVAL for the user namespace);
//! joining the mount namespace resets the working directory, so it is restored
//! by path afterwards; the namespace fds are opened O_CLOEXEC.

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use nix::sched::{setns, CloneFlags};
use nix::unistd::{chdir, geteuid, setgroups, setresgid, setresuid, Gid, Pid, Uid};

/// The namespaces joined, in the order non-root joins them (user first).
const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
];

/// What joining changed, for the caller to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entered {
    /// A pid namespace only applies to children: the caller must fork.
    pub pid_namespace: bool,
}

fn same_namespace(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

struct NsFd {
    name: &'static str,
    kind: CloneFlags,
    file: File,
}

fn open_namespaces(pid: Pid) -> Result<Vec<NsFd>> {
    let mut fds = Vec::new();
    for (name, kind) in NAMESPACES {
        let theirs = PathBuf::from(format!("/proc/{pid}/ns/{name}"));
        let ours = PathBuf::from(format!("/proc/self/ns/{name}"));
        if same_namespace(&theirs, &ours) {
            tracing::debug!("already in the {name} namespace of pid {pid}");
            continue;
        }
        // std opens files O_CLOEXEC.
        let file =
            File::open(&theirs).with_context(|| crate::tr!("ns-cannot-open", theirs.display()))?;
        fds.push(NsFd { name, kind, file });
    }
    Ok(fds)
}

fn join(ns: &NsFd, pid: Pid) -> Result<()> {
    setns(ns.file.as_fd(), ns.kind)
        .map_err(|e| anyhow!("{}", crate::tr!("ns-cannot-enter", ns.name, pid, e)))
}

/// Joins every namespace of `pid` and restores the working directory by path
/// (`/` if it does not exist inside).
pub fn enter(pid: Pid) -> Result<Entered> {
    let cwd = std::env::current_dir().ok();
    let fds = open_namespaces(pid)?;
    let is_user = |ns: &&NsFd| ns.kind == CloneFlags::CLONE_NEWUSER;
    let root = geteuid().is_root();
    if !root {
        for ns in fds.iter().filter(is_user) {
            join(ns, pid)?;
        }
    }
    for ns in fds.iter().filter(|ns| !is_user(ns)) {
        join(ns, pid)?;
    }
    if root {
        if let Some(ns) = fds.iter().find(is_user) {
            join(ns, pid)?;
            // Root is unmapped inside; become the mapped uid 0 (u7s-admin outside).
            setgroups(&[]).map_err(|e| anyhow!("{}", crate::tr!("ns-cannot-setgroups", e)))?;
            let zero_g = Gid::from_raw(0);
            let zero_u = Uid::from_raw(0);
            setresgid(zero_g, zero_g, zero_g)
                .map_err(|e| anyhow!("{}", crate::tr!("ns-cannot-setgid", e)))?;
            setresuid(zero_u, zero_u, zero_u)
                .map_err(|e| anyhow!("{}", crate::tr!("ns-cannot-setuid", e)))?;
        }
    }
    restore_cwd(cwd.as_deref());
    Ok(Entered {
        pid_namespace: fds.iter().any(|ns| ns.kind == CloneFlags::CLONE_NEWPID),
    })
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
