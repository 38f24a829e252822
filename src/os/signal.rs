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
}
