//! How a command that waits for the cluster is tried again: a pause between
//! tries and a deadline on the whole, so that an API server that never comes
//! up ends `kubeadm init` with an error instead of a wait without end. Pure:
//! the executor says how much time has passed.

use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Between a failed try and the next.
    pub pause: Duration,
    /// No try begins this long after the first began.
    pub deadline: Duration,
}

impl Retry {
    /// The CNI manifest's apply right after `kubeadm init`: the API server
    /// may still be coming up (its static pod, etcd), which takes a minute or
    /// two on a slow host; five minutes without it is a problem for
    /// `u7s doctor`, not for more waiting.
    pub const CNI_APPLY: Retry = Retry {
        pause: Duration::from_secs(5),
        deadline: Duration::from_secs(300),
    };

    /// After a failed try, `elapsed` after the first one began: the pause
    /// before the next try, or `None` when that try would begin at or after
    /// the deadline.
    pub fn after_failure(&self, elapsed: Duration) -> Option<Duration> {
        let next = elapsed.checked_add(self.pause)?;
        (next < self.deadline).then_some(self.pause)
    }

    /// The deadline in whole minutes, as the step's title states it.
    pub fn deadline_minutes(&self) -> u64 {
        self.deadline.as_secs().div_ceil(60)
    }
}

/// kubectl's limit on each of its requests (`--request-timeout`). Without
/// it a try against an API server that takes the connection and never
/// answers would never end, and the deadline would never be looked at.
pub const KUBECTL_REQUEST_TIMEOUT: &str = "--request-timeout=30s";

/// The time from `start` to `now` on the wall clock; none if the clock
/// was set back meanwhile.
pub fn elapsed(start: SystemTime, now: SystemTime) -> Duration {
    now.duration_since(start).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn tries_go_on_every_pause_until_the_next_would_begin_at_the_deadline() {
        let retry = Retry::CNI_APPLY;
        assert_eq!(retry.after_failure(S(0)), Some(S(5)));
        assert_eq!(retry.after_failure(S(294)), Some(S(5)));
        assert_eq!(retry.after_failure(S(295)), None, "would begin at 300s");
        assert_eq!(retry.after_failure(S(3600)), None);
        assert_eq!(retry.after_failure(Duration::MAX), None, "no overflow");
    }

    #[test]
    fn instant_failures_get_one_try_per_pause_in_the_deadline() {
        // A try that fails at once (connection refused): the clock moves
        // only by the pauses.
        let retry = Retry::CNI_APPLY;
        let mut elapsed = Duration::ZERO;
        let mut tries = 1;
        while let Some(pause) = retry.after_failure(elapsed) {
            elapsed += pause;
            tries += 1;
        }
        assert_eq!(tries, 60);
        assert!(elapsed < retry.deadline);
    }

    #[test]
    fn slow_tries_use_up_the_deadline_sooner() {
        // Each try waits out kubectl's 30 s request timeout: fewer tries,
        // and none begins after the deadline.
        let retry = Retry::CNI_APPLY;
        let mut begun = vec![Duration::ZERO];
        let mut elapsed = S(30);
        while let Some(pause) = retry.after_failure(elapsed) {
            begun.push(elapsed + pause);
            elapsed += pause + S(30);
        }
        assert_eq!(begun.len(), 9);
        assert!(begun.iter().all(|b| *b < retry.deadline), "{begun:?}");
    }

    #[test]
    fn a_clock_set_back_counts_as_no_time() {
        let start = SystemTime::UNIX_EPOCH + S(1000);
        assert_eq!(elapsed(start, start + S(7)), S(7));
        assert_eq!(elapsed(start, start - S(7)), Duration::ZERO);
    }

    #[test]
    fn the_deadline_is_stated_in_minutes() {
        assert_eq!(Retry::CNI_APPLY.deadline_minutes(), 5);
        let odd = Retry {
            pause: S(1),
            deadline: S(61),
        };
        assert_eq!(odd.deadline_minutes(), 2, "rounded up, never understated");
    }
}
