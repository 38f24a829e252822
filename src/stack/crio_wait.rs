//! `u7s init-crio`: kubelet's start waits here until CRI-O answers on its socket.
//!
//! The reference `init-crio.sh` created an empty socket file with `mksock` so
//! that kubelet would find *something* at the path; that hides a crio that has
//! not started (or died) behind a socket nobody listens on. We create the
//! directory and wait, with a bound, until a connection is accepted.

use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Default wait for the socket (`U7S_CRIO_WAIT_SECS` changes it).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// `U7S_CRIO_WAIT_SECS` as a duration; malformed or missing: the default.
pub fn wait_budget(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WAIT)
}

/// Waits until something accepts connections on `socket`, polling every
/// `interval`. The error says what was seen last and where root finds
/// CRI-O's log (`log`, a journal command).
pub fn wait_for_socket(
    socket: &Path,
    budget: Duration,
    interval: Duration,
    log: &str,
) -> Result<(), String> {
    let deadline = Instant::now() + budget;
    loop {
        let last = match UnixStream::connect(socket) {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Err(crate::tr!(
                "crio-not-answering",
                socket.display(),
                budget.as_secs(),
                last,
                log
            ));
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    const LOG: &str = "journalctl _UID=999 _SYSTEMD_USER_UNIT=u7s-rootlesskit.service";

    #[test]
    fn budget_from_env_value() {
        assert_eq!(wait_budget(None), DEFAULT_WAIT);
        assert_eq!(wait_budget(Some("5")), Duration::from_secs(5));
        assert_eq!(wait_budget(Some("x")), DEFAULT_WAIT);
    }

    #[test]
    fn waits_for_a_listener_and_gives_up_on_a_dead_socket() {
        let dir = std::env::temp_dir().join(format!("u7s-crio-wait-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("crio.sock");
        let _ = std::fs::remove_file(&sock);
        let e = wait_for_socket(
            &sock,
            Duration::from_millis(50),
            Duration::from_millis(10),
            LOG,
        )
        .unwrap_err();
        assert!(e.contains("crio.sock"), "{e}");
        assert!(
            e.ends_with(&format!("root sees its log with: {LOG}")),
            "{e}"
        );
        // A stale socket file with no listener is not ready either.
        drop(UnixListener::bind(&sock).unwrap());
        assert!(sock.exists());
        assert!(wait_for_socket(
            &sock,
            Duration::from_millis(50),
            Duration::from_millis(10),
            LOG
        )
        .is_err());
        std::fs::remove_file(&sock).unwrap();
        let sock2 = sock.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            let l = UnixListener::bind(&sock2).unwrap();
            let _ = l.accept();
        });
        wait_for_socket(
            &sock,
            Duration::from_secs(10),
            Duration::from_millis(10),
            LOG,
        )
        .unwrap();
        t.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
