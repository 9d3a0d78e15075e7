//! Capped exponential backoff with jitter between a watcher's failed attempts, reset only after
//! a stable period.

use std::time::{Duration, Instant};

use crate::http::retry::exponential_backoff;

/// 800 ms, 1.6 s, 3.2 s, … up to 30 s (client-go's and kube-rs' defaults), each delay drawn
/// uniformly from its upper half so that many watchers restarting together spread out. The
/// count of failures starts again only after [`STABLE_PERIOD`] without one (client-go's
/// backoff manager does the same), so a server that works for a moment between failures does
/// not bring the delay back to 800 ms each time.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
    last_failure: Option<Instant>,
}

/// How long without a failure before the backoff starts from its first delay again.
pub(crate) const STABLE_PERIOD: Duration = Duration::from_secs(60);

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            failures: 0,
            last_failure: None,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after one more failure; at least `server_wait` (a
    /// server's `Retry-After`) when it gave one.
    pub(crate) fn next_delay(&mut self, server_wait: Option<Duration>) -> Duration {
        self.next_delay_at(Instant::now(), server_wait)
    }

    fn next_delay_at(&mut self, now: Instant, server_wait: Option<Duration>) -> Duration {
        if self
            .last_failure
            .is_some_and(|last| now.saturating_duration_since(last) >= STABLE_PERIOD)
        {
            self.failures = 0;
        }
        self.last_failure = Some(now);
        let delay = exponential_backoff(self.initial, self.max, self.failures);
        self.failures = self.failures.saturating_add(1);
        delay.max(server_wait.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay(None)).collect();
        for (n, delay) in delays.iter().enumerate() {
            let ceiling = Duration::from_millis(800 * (1 << n)).min(Duration::from_secs(30));
            assert!(*delay >= ceiling / 2 && *delay <= ceiling, "{n}: {delay:?}");
        }
        assert!(delays[9] >= Duration::from_secs(15));
        // Jitter: not every draw is the same.
        let draws: std::collections::BTreeSet<u128> = (0..20)
            .map(|_| Backoff::default().next_delay(None).as_nanos())
            .collect();
        assert!(draws.len() > 1);
    }

    #[test]
    fn resets_only_after_a_stable_period_and_honours_retry_after() {
        let mut backoff = Backoff::default();
        let start = Instant::now();
        for n in 0..6 {
            backoff.next_delay_at(start + Duration::from_secs(n), None);
        }
        // A failure soon after the last one: still long.
        let soon = backoff.next_delay_at(start + Duration::from_secs(20), None);
        assert!(soon >= Duration::from_secs(15), "{soon:?}");
        // After a stable minute: short again.
        let later = backoff.next_delay_at(start + Duration::from_secs(200), None);
        assert!(later <= Duration::from_millis(800), "{later:?}");
        // A server's Retry-After is a floor.
        let waited = backoff.next_delay_at(
            start + Duration::from_secs(500),
            Some(Duration::from_secs(7)),
        );
        assert_eq!(waited, Duration::from_secs(7));
    }
}
