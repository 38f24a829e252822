//! The rootlesskit state dir and its readiness contract.
//!
//! rootlesskit writes `child_pid` before the child has finished its setup
//! (rootlesskit issue #37), so the child-side setup writes `_child_pid.u7s-ready`
//! with the same pid when it is done. Ready = both exist, hold the same pid, and
//! that process is alive.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::users::AdminUser;

pub const CHILD_PID: &str = "child_pid";
pub const READY_FILE: &str = "_child_pid.u7s-ready";
pub const API_SOCK: &str = "api.sock";

/// `U7S_ROOTLESSKIT_STATE_DIR`, else `/run/user/<uid>/usernetes/rootlesskit`.
pub fn state_dir_for(admin: &AdminUser) -> PathBuf {
    match std::env::var_os("U7S_ROOTLESSKIT_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => admin.runtime_dir().join("usernetes/rootlesskit"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    NoChildPid,
    NoReadyFile,
    Malformed(&'static str),
    Mismatch { child: i32, ready: i32 },
    Dead(i32),
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
        }
    }
}

fn read_pid(path: &Path, name: &'static str, missing: NotReady) -> Result<i32, NotReady> {
    let text = std::fs::read_to_string(path).map_err(|_| missing)?;
    match text.trim().parse::<i32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err(NotReady::Malformed(name)),
    }
}

fn alive(pid: i32) -> bool {
    // EPERM means the process exists but belongs to someone else.
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

/// One readiness check of `dir`.
pub fn check(dir: &Path) -> Result<Pid, NotReady> {
    let child = read_pid(&dir.join(CHILD_PID), CHILD_PID, NotReady::NoChildPid)?;
    let ready = read_pid(&dir.join(READY_FILE), READY_FILE, NotReady::NoReadyFile)?;
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

/// Checks readiness up to `budget.tries` times; returns the last reason on failure.
pub fn wait_ready(dir: &Path, budget: RetryBudget) -> Result<Pid, NotReady> {
    let mut attempt = 1;
    loop {
        match check(dir) {
            Ok(pid) => return Ok(pid),
            Err(reason) if attempt >= budget.tries => return Err(reason),
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
        assert_eq!(wait_ready(&d, budget), Err(NotReady::NoChildPid));
        assert!(start.elapsed() >= Duration::from_millis(40));
    }
}
