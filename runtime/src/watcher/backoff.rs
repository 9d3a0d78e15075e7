//! Capped exponential backoff with jitter between a watcher's failed attempts.

use std::time::Duration;

use crate::http::retry::exponential_backoff;

/// 800 ms, 1.6 s, 3.2 s, … up to 30 s (client-go's and kube-rs' defaults), each delay drawn
/// uniformly from its upper half so that many watchers restarting together spread out.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            failures: 0,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = exponential_backoff(self.initial, self.max, self.failures);
        self.failures = self.failures.saturating_add(1);
        delay
    }

    /// Forget past failures (after a success).
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_resets() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        for (n, delay) in delays.iter().enumerate() {
            let ceiling = Duration::from_millis(800 * (1 << n)).min(Duration::from_secs(30));
            assert!(*delay >= ceiling / 2 && *delay <= ceiling, "{n}: {delay:?}");
        }
        assert!(delays[9] >= Duration::from_secs(15));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(800));
        // Jitter: not every draw is the same.
        let draws: std::collections::BTreeSet<u128> = (0..20)
            .map(|_| Backoff::default().next_delay().as_nanos())
            .collect();
        assert!(draws.len() > 1);
    }
}
