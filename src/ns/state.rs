//! The rootlesskit state dir and its readiness contract.
//!
//! rootlesskit writes `child_pid` before the child has finished its setup
//! (rootlesskit issue #37), so the child-side setup writes `_child_pid.u7s-ready`
//! with the same pid when it is done. Ready = both exist, hold the same pid, and
//! that process is alive.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::libc;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::nofollow::{self, Meta};
use super::sys::read_bounded;
use crate::users::AdminUser;

pub const CHILD_PID: &str = "child_pid";
pub const READY_FILE: &str = "_child_pid.u7s-ready";
pub const API_SOCK: &str = "api.sock";

/// `U7S_ROOTLESSKIT_STATE_DIR` if absolute, else
/// `/run/user/<uid>/usernetes/rootlesskit` (the one rule: `layout::AdminDirs`).
pub fn state_dir_for(admin: &AdminUser) -> PathBuf {
    crate::layout::AdminDirs::standard(admin)
        .with_overrides(&|k: &str| std::env::var_os(k))
        .state_dir()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    NoChildPid,
    NoReadyFile,
    Malformed(&'static str),
    Mismatch {
        child: i32,
        ready: i32,
    },
    Dead(i32),
    /// The state is not something to wait for but to refuse: a symlink, a
    /// FIFO, a file of someone else (the reason, one line). Never retried.
    Refused(String),
}

impl NotReady {
    /// Whether waiting could change the answer.
    pub fn is_refusal(&self) -> bool {
        matches!(self, NotReady::Refused(_))
    }
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::NoChildPid => f.write_str(&crate::tr!("notready-no-child-pid", CHILD_PID)),
            NotReady::NoReadyFile => f.write_str(&crate::tr!("notready-no-ready-file", READY_FILE)),
            NotReady::Malformed(file) => f.write_str(&crate::tr!("notready-malformed", file)),
            NotReady::Mismatch { child, ready } => f.write_str(&crate::tr!(
                "notready-mismatch",
                CHILD_PID,
                child,
                READY_FILE,
                ready
            )),
            NotReady::Dead(pid) => f.write_str(&crate::tr!("notready-dead", pid)),
            NotReady::Refused(why) => f.write_str(why),
        }
    }
}

/// The largest state file we read: a pid and a newline fit in 12 bytes.
pub const MAX_STATE_FILE: u64 = 64;

/// Opens the state dir without following a symlink anywhere in its path;
/// with `owner`, it must belong to that uid and not be world-writable.
fn open_dir(dir: &Path, owner: Option<u32>) -> Result<OwnedFd, NotReady> {
    let fd = match nofollow::open_dir(dir) {
        Ok(fd) => fd,
        Err(nofollow::OpenError::Missing(_)) => return Err(NotReady::NoChildPid),
        Err(e) => return Err(NotReady::Refused(e.to_string())),
    };
    if let Some(uid) = owner {
        let meta = Meta::of(fd.as_raw_fd())
            .map_err(|e| NotReady::Refused(crate::tr!("cannot-open-err", dir.display(), e)))?;
        if meta.uid != uid || meta.mode & 0o002 != 0 {
            return Err(NotReady::Refused(crate::tr!(
                "state-dir-not-owned",
                dir.display(),
                meta.uid,
                format!("{:o}", meta.mode & 0o7777),
                uid
            )));
        }
    }
    Ok(fd)
}

/// Reads the pid in `name`: a small regular file, owned by `owner` if given,
/// opened with no symlink followed and no blocking.
fn read_pid(
    dir: &OwnedFd,
    name: &'static str,
    owner: Option<u32>,
    missing: NotReady,
) -> Result<i32, NotReady> {
    let fd = match nofollow::open_file_in(dir, name) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Err(missing),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(NotReady::Refused(crate::tr!("state-file-symlink", name)))
        }
        Err(e) => return Err(NotReady::Refused(crate::tr!("cannot-open-err", name, e))),
    };
    let meta = Meta::of(fd.as_raw_fd())
        .map_err(|e| NotReady::Refused(crate::tr!("cannot-open-err", name, e)))?;
    if !meta.is_file() {
        return Err(NotReady::Refused(crate::tr!(
            "state-file-not-regular",
            name,
            meta.kind()
        )));
    }
    if let Some(uid) = owner {
        if meta.uid != uid {
            return Err(NotReady::Refused(crate::tr!(
                "state-file-not-owned",
                name,
                meta.uid,
                uid
            )));
        }
    }
    if meta.size > MAX_STATE_FILE {
        return Err(NotReady::Refused(crate::tr!(
            "state-file-too-large",
            name,
            meta.size,
            MAX_STATE_FILE
        )));
    }
    let bytes = read_bounded(fd.as_raw_fd(), MAX_STATE_FILE as usize + 1)
        .map_err(|e| NotReady::Refused(crate::tr!("cannot-open-err", name, e)))?;
    parse_pid(&bytes).ok_or(NotReady::Malformed(name))
}

/// A positive decimal pid, with optional surrounding whitespace.
pub fn parse_pid(bytes: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i32>().ok().filter(|pid| *pid > 0)
}

fn alive(pid: i32) -> bool {
    // EPERM means the process exists but belongs to someone else.
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

/// One readiness check of `dir`; files are read as data (see `read_pid`)
/// but their owner is not checked (a hint for callers that prove later).
pub fn check(dir: &Path) -> Result<Pid, NotReady> {
    check_owned(dir, None)
}

/// One readiness check of `dir`, whose files must belong to `owner` if given.
pub fn check_owned(dir: &Path, owner: Option<u32>) -> Result<Pid, NotReady> {
    let fd = open_dir(dir, owner)?;
    let child = read_pid(&fd, CHILD_PID, owner, NotReady::NoChildPid)?;
    let ready = read_pid(&fd, READY_FILE, owner, NotReady::NoReadyFile)?;
    if child != ready {
        return Err(NotReady::Mismatch { child, ready });
    }
    if !alive(child) {
        return Err(NotReady::Dead(child));
    }
    Ok(Pid::from_raw(child))
}

/// How long to wait for readiness: `U7S_NSENTER_RETRIES` tries (default 10),
/// `U7S_NSENTER_INTERVAL_MS` apart (default 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    pub tries: u32,
    pub interval: Duration,
}

impl RetryBudget {
    pub fn from_env() -> RetryBudget {
        let num = |var: &str, default: u64| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(default)
        };
        RetryBudget {
            tries: num("U7S_NSENTER_RETRIES", 10).clamp(1, 3600) as u32,
            interval: Duration::from_millis(num("U7S_NSENTER_INTERVAL_MS", 1000).min(60_000)),
        }
    }
}

/// Checks readiness up to `budget.tries` times; returns the last reason on
/// failure, or at once a reason to refuse.
pub fn wait_ready(dir: &Path, owner: Option<u32>, budget: RetryBudget) -> Result<Pid, NotReady> {
    let mut attempt = 1;
    loop {
        match check_owned(dir, owner) {
            Ok(pid) => return Ok(pid),
            Err(reason) if attempt >= budget.tries || reason.is_refusal() => return Err(reason),
            Err(reason) => {
                tracing::debug!(
                    "rootlesskit not ready ({reason}), try {attempt}/{}",
                    budget.tries
                );
                std::thread::sleep(budget.interval);
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("u7s-state-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn ready_when_both_files_name_a_live_process() {
        let d = dir("ready");
        let me = std::process::id().to_string();
        std::fs::write(d.join(CHILD_PID), &me).unwrap();
        std::fs::write(d.join(READY_FILE), format!("{me}\n")).unwrap();
        assert_eq!(check(&d).unwrap().as_raw().to_string(), me);
    }

    #[test]
    fn each_not_ready_reason() {
        let d = dir("reasons");
        assert_eq!(check(&d), Err(NotReady::NoChildPid));
        std::fs::write(d.join(CHILD_PID), "1234567").unwrap();
        assert_eq!(check(&d), Err(NotReady::NoReadyFile));
        std::fs::write(d.join(READY_FILE), "7654321").unwrap();
        assert_eq!(
            check(&d),
            Err(NotReady::Mismatch {
                child: 1234567,
                ready: 7654321
            })
        );
        std::fs::write(d.join(READY_FILE), "garbage").unwrap();
        assert_eq!(check(&d), Err(NotReady::Malformed(READY_FILE)));
        // A pid above the kernel's pid_max cannot be alive.
        std::fs::write(d.join(CHILD_PID), "2147483646").unwrap();
        std::fs::write(d.join(READY_FILE), "2147483646").unwrap();
        assert_eq!(check(&d), Err(NotReady::Dead(2147483646)));
    }

    #[test]
    fn waiting_gives_up_after_the_budget() {
        let d = dir("budget");
        let budget = RetryBudget {
            tries: 3,
            interval: Duration::from_millis(20),
        };
        let start = std::time::Instant::now();
        assert_eq!(wait_ready(&d, None, budget), Err(NotReady::NoChildPid));
        assert!(start.elapsed() >= Duration::from_millis(40));
    }

    #[test]
    fn state_files_are_read_as_data_never_followed() {
        let d = dir("data");
        let me = nix::unistd::geteuid().as_raw();
        let pid = std::process::id().to_string();
        std::fs::write(d.join(READY_FILE), &pid).unwrap();
        let refused = |d: &Path, owner: Option<u32>| {
            let err = check_owned(d, owner).unwrap_err();
            assert!(err.is_refusal(), "{err:?}");
            assert!(!err.to_string().contains('\n'), "{err}");
            err.to_string()
        };
        std::os::unix::fs::symlink("/dev/zero", d.join(CHILD_PID)).unwrap();
        assert!(refused(&d, Some(me)).contains("symbolic link"));
        std::fs::remove_file(d.join(CHILD_PID)).unwrap();
        nix::unistd::mkfifo(
            &d.join(CHILD_PID),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        assert!(refused(&d, Some(me)).contains("FIFO"));
        std::fs::remove_file(d.join(CHILD_PID)).unwrap();
        std::fs::write(d.join(CHILD_PID), "1".repeat(100)).unwrap();
        assert!(refused(&d, Some(me)).contains("100 bytes"));
        std::fs::write(d.join(CHILD_PID), &pid).unwrap();
        assert_eq!(check_owned(&d, Some(me)).unwrap().as_raw().to_string(), pid);
        assert!(refused(&d, Some(me + 1)).contains(&format!("uid {me}")));
        let link = d.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&d, &link).unwrap();
        assert!(refused(&link, Some(me)).contains("symbolic link"));
        assert!(refused(&link, None).contains("symbolic link"));
        // The link sits beside the test's directory: /tmp held one per run.
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn refusals_are_not_waited_for() {
        let d = dir("refusal");
        std::os::unix::fs::symlink("/dev/zero", d.join(CHILD_PID)).unwrap();
        let budget = RetryBudget {
            tries: 5,
            interval: Duration::from_secs(1),
        };
        let start = std::time::Instant::now();
        assert!(wait_ready(&d, None, budget).unwrap_err().is_refusal());
        assert!(start.elapsed() < Duration::from_millis(900));
    }

    #[test]
    fn pids_are_plain_positive_numbers() {
        assert_eq!(parse_pid(b"123\n"), Some(123));
        assert_eq!(parse_pid(b" 7 "), Some(7));
        for bad in [
            &b""[..],
            b"0",
            b"-5",
            b"+5",
            b"12a",
            b"99999999999",
            b"\xff",
        ] {
            assert_eq!(parse_pid(bad), None, "{bad:?}");
        }
    }
}
