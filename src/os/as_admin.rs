//! Work in u7s-admin's directories, done as u7s-admin. A forked child drops
//! to its ids (setgroups, setresgid, setresuid, in that order, with the
//! same system calls namespace entry uses: `crate::ns::sys`) before it
//! touches any path, so whatever u7s-admin planted there can lead the child
//! nowhere u7s-admin could not go itself. The result comes back over a pipe.
//!
//! The flow is single-threaded when it forks (u7s starts no threads), so
//! the child may allocate; it leaves with `_exit`, never returning into the
//! caller's code.

use std::io::Read as _;
use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{anyhow, bail, Result};
use nix::libc;

use super::Ids;
use crate::ns::sys::NsSys;

/// The most a child hands back (a file of [`super::READ_LIMIT`] and a little).
const WIRE_LIMIT: u64 = super::READ_LIMIT + 4096;

/// Drops every privilege to `ids`: no supplementary groups, then the group,
/// then the user (real, effective and saved alike, so there is no way
/// back), and checks that it took.
pub fn drop_to(sys: &mut impl NsSys, ids: Ids) -> std::io::Result<()> {
    sys.drop_groups()?;
    sys.setresgid(ids.gid)?;
    sys.setresuid(ids.uid)?;
    if sys.geteuid() != ids.uid {
        return Err(std::io::Error::from_raw_os_error(libc::EPERM));
    }
    Ok(())
}

/// Runs `work` as u7s-admin (`ids`) and returns what it returned. Root
/// forks a child that drops to `ids` first; a process that already runs as
/// `ids` does the work itself; anyone else may not.
pub fn run_as(ids: Ids, work: impl FnOnce() -> Result<Vec<u8>>) -> Result<Vec<u8>> {
    let euid = nix::unistd::geteuid().as_raw();
    if euid == ids.uid {
        return work();
    }
    if euid != 0 {
        bail!("{}", crate::tr!("os-cannot-act-as", ids.uid));
    }
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the array or fails.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!(
            "{}",
            crate::tr!("fork-failed", std::io::Error::last_os_error())
        );
    }
    // SAFETY: the kernel gave us both ends.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: u7s is single-threaded here (see the module comment); the
    // child only runs `work` and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!(
            "{}",
            crate::tr!("fork-failed", std::io::Error::last_os_error())
        );
    }
    if pid == 0 {
        drop(read_end);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            drop_to(&mut crate::ns::sys::Linux, ids)
                .map_err(|e| anyhow!("{}", crate::tr!("os-cannot-drop", ids.uid, e)))
                .and_then(|()| work())
        }));
        let wire = match outcome {
            Ok(Ok(bytes)) => [&[0u8][..], &bytes].concat(),
            Ok(Err(e)) => [&[1u8][..], format!("{e:#}").as_bytes()].concat(),
            Err(_) => vec![1u8],
        };
        let mut file = std::fs::File::from(write_end);
        let _ = std::io::Write::write_all(&mut file, &wire);
        drop(file);
        // SAFETY: leave the child at once, running none of the parent's exit code.
        unsafe { libc::_exit(0) };
    }
    drop(write_end);
    let mut wire = Vec::new();
    let read = std::fs::File::from(read_end)
        .take(WIRE_LIMIT)
        .read_to_end(&mut wire);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    read.map_err(|e| anyhow!("{}", crate::tr!("os-child-lost", e)))?;
    match wire.split_first() {
        Some((0, bytes)) => Ok(bytes.to_vec()),
        Some((_, message)) if !message.is_empty() => {
            bail!("{}", String::from_utf8_lossy(message))
        }
        _ => bail!(
            "{}",
            crate::tr!("os-child-lost", format!("status {status}"))
        ),
    }
}

/// `run_as` for work that gives nothing back.
pub fn do_as(ids: Ids, work: impl FnOnce() -> Result<()>) -> Result<()> {
    run_as(ids, || work().map(|()| Vec::new())).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ns::sys::Recording;

    #[test]
    fn groups_then_group_then_user_and_it_must_take() {
        let ids = Ids { uid: 989, gid: 988 };
        // A recording whose effective uid is the one the drop leads to.
        let mut sys = Recording::genuine(989, 989);
        drop_to(&mut sys, ids).unwrap();
        assert_eq!(
            sys.calls,
            ["setgroups([])", "setresgid(988)", "setresuid(989)"]
        );
        let mut failing = Recording::genuine(989, 989);
        failing.fail.push(("setresgid", libc::EPERM));
        assert!(drop_to(&mut failing, ids).is_err());
        assert!(
            !failing.calls.iter().any(|c| c.starts_with("setresuid")),
            "no user change after a failed group change: {:?}",
            failing.calls
        );
        // Still root afterwards (a drop that did not take) is a failure.
        let mut still_root = Recording::genuine(989, 0);
        assert!(drop_to(&mut still_root, ids).is_err());
    }

    #[test]
    fn work_as_oneself_runs_in_process() {
        let me = Ids {
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        };
        assert_eq!(run_as(me, || Ok(b"x".to_vec())).unwrap(), b"x");
        let e = run_as(me, || Err(anyhow!("refused"))).unwrap_err();
        assert_eq!(e.to_string(), "refused");
    }
}
