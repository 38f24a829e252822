//! Signals, where nix has no safe call for what we need.

use nix::sys::signal::SigSet;

/// The signals pending for this thread (sigpending(2)): a stop request
/// that came while they were blocked.
pub fn pending() -> nix::Result<SigSet> {
    let mut raw = std::mem::MaybeUninit::<nix::libc::sigset_t>::uninit();
    // SAFETY: sigpending fills the set it is given.
    let rc = unsafe { nix::libc::sigpending(raw.as_mut_ptr()) };
    nix::errno::Errno::result(rc)?;
    // SAFETY: initialised by a successful sigpending.
    Ok(unsafe { SigSet::from_sigset_t_unchecked(raw.assume_init()) })
}

/// Waits up to `timeout` for one of `set` (which must be blocked):
/// sigtimedwait(2). The signal taken, or `None` when the time ran out.
pub fn wait_timeout(
    set: &SigSet,
    timeout: std::time::Duration,
) -> Option<nix::sys::signal::Signal> {
    let ts = nix::libc::timespec {
        tv_sec: timeout.as_secs() as nix::libc::time_t,
        tv_nsec: timeout.subsec_nanos() as nix::libc::c_long,
    };
    // SAFETY: `set` is a valid sigset_t and `ts` a valid timespec; no siginfo is asked for.
    let n = unsafe { nix::libc::sigtimedwait(set.as_ref(), std::ptr::null_mut(), &ts) };
    if n > 0 {
        nix::sys::signal::Signal::try_from(n).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{raise, Signal};

    #[test]
    fn a_blocked_signal_raised_is_pending() {
        // In a thread of its own: the mask is per thread.
        std::thread::spawn(|| {
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR2);
            set.thread_block().unwrap();
            assert!(!pending().unwrap().contains(Signal::SIGUSR2));
            // raise(3) signals the calling thread.
            raise(Signal::SIGUSR2).unwrap();
            assert!(pending().unwrap().contains(Signal::SIGUSR2));
            // Consume it so it never reaches the default action.
            set.wait().unwrap();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_timed_wait_takes_a_blocked_signal_or_times_out() {
        std::thread::spawn(|| {
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR1);
            set.thread_block().unwrap();
            let t = std::time::Instant::now();
            assert_eq!(
                wait_timeout(&set, std::time::Duration::from_millis(50)),
                None
            );
            assert!(t.elapsed() >= std::time::Duration::from_millis(40));
            raise(Signal::SIGUSR1).unwrap();
            assert_eq!(
                wait_timeout(&set, std::time::Duration::from_secs(5)),
                Some(Signal::SIGUSR1)
            );
        })
        .join()
        .unwrap();
    }
}
