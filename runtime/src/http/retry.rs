//! When a failed request is sent again, and after how long.
//!
//! The rules follow what the API server promises: a `429` was rejected before anything happened
//! (API Priority and Fairness), so any verb may be retried, after its `Retry-After`; a `500`,
//! `503` or `504`, or a connection that failed before any byte of the response, may have done
//! the work, so only idempotent verbs (GET, HEAD, PUT, DELETE, OPTIONS) are retried. Every other
//! answer is final.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::Method;

/// How failed requests are retried: on by default, see [`Config::with_retry`](crate::Config::with_retry).
///
/// - `429 Too Many Requests`: every verb, after the server's `Retry-After` (else the backoff).
/// - `500`, `503`, `504`, and connections that failed before a response: GET, HEAD, PUT, DELETE
///   and OPTIONS only (never POST or PATCH: the server may have acted).
/// - anything else (other 4xx, a 2xx, a timeout of the request itself): never.
///
/// Attempts stop at [`Retry::max_attempts`] (default 5, counting the first) or when the next wait
/// would end after [`Retry::max_elapsed`] (default 30 s from the first attempt); the last error
/// is returned. Waits grow exponentially from 200 ms to at most 5 s, with jitter.
///
/// ```
/// use std::time::Duration;
/// let retry = incluster::Retry::default()
///     .max_attempts(3)
///     .max_elapsed(Duration::from_secs(10))
///     .backoff(Duration::from_millis(100), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    max_attempts: u32,
    max_elapsed: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 5,
            max_elapsed: Duration::from_secs(30),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl Retry {
    /// No retries: every request is sent once (the 401 re-read of a rotated token still applies).
    ///
    /// ```
    /// let retry = incluster::Retry::none();
    /// ```
    pub fn none() -> Retry {
        Retry {
            max_attempts: 1,
            ..Retry::default()
        }
    }

    /// The most attempts of one request, the first included (at least 1).
    ///
    /// ```
    /// let retry = incluster::Retry::default().max_attempts(10);
    /// ```
    pub fn max_attempts(mut self, attempts: u32) -> Retry {
        self.max_attempts = attempts.max(1);
        self
    }

    /// No retry starts after this long from the first attempt.
    ///
    /// ```
    /// let retry = incluster::Retry::default().max_elapsed(std::time::Duration::from_secs(60));
    /// ```
    pub fn max_elapsed(mut self, elapsed: Duration) -> Retry {
        self.max_elapsed = elapsed;
        self
    }

    /// The first wait and the longest one (waits double in between, with jitter).
    ///
    /// ```
    /// use std::time::Duration;
    /// let retry = incluster::Retry::default().backoff(Duration::from_millis(50), Duration::from_secs(1));
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Retry {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The wait before attempt `attempt + 1`, or `None` when this policy gives up. `server_wait`
    /// is the server's `Retry-After`, honoured as given; `elapsed` is the time since the first
    /// attempt.
    pub(crate) fn next_wait(
        &self,
        attempt: u32,
        elapsed: Duration,
        server_wait: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let wait = server_wait.unwrap_or_else(|| self.backoff_for(attempt));
        (elapsed + wait <= self.max_elapsed).then_some(wait)
    }

    fn backoff_for(&self, attempt: u32) -> Duration {
        exponential_backoff(
            self.initial_backoff,
            self.max_backoff,
            attempt.saturating_sub(1),
        )
    }
}

/// `initial` doubled `doublings` times (at most 16), capped at `max`, with "equal jitter": half of
/// it fixed, half drawn at random, so that many clients failing together spread out. Retries and
/// the watcher's reconnects both wait this way.
pub(crate) fn exponential_backoff(initial: Duration, max: Duration, doublings: u32) -> Duration {
    let full = initial.saturating_mul(1 << doublings.min(16)).min(max);
    let half = full / 2;
    half + half.mul_f64(jitter())
}

/// A number in `[0, 1)`, different on every call (std's per-instance random hash keys).
pub(crate) fn jitter() -> f64 {
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Why a failed attempt may be retried; `None` when it must not be.
pub(crate) fn retryable(method: &Method, outcome: Outcome) -> Option<&'static str> {
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    );
    match outcome {
        Outcome::Status(429) => Some("429 Too Many Requests"),
        Outcome::Status(500) if idempotent => Some("500 Internal Server Error"),
        Outcome::Status(503) if idempotent => Some("503 Service Unavailable"),
        Outcome::Status(504) if idempotent => Some("504 Gateway Timeout"),
        Outcome::NoResponse if idempotent => Some("the connection failed before a response"),
        _ => None,
    }
}

/// What a failed attempt came to, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered with this status.
    Status(u16),
    /// The connection failed before any byte of a response arrived.
    NoResponse,
    /// Anything else (a timeout, a TLS failure, a body cut off): never retried.
    Final,
}

/// A `Retry-After` header in seconds (the form the API server sends), capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_are_retried() {
        assert!(retryable(&Method::POST, Outcome::Status(429)).is_some());
        assert!(retryable(&Method::PATCH, Outcome::Status(429)).is_some());
        assert!(retryable(&Method::POST, Outcome::Status(503)).is_none());
        assert!(retryable(&Method::PATCH, Outcome::NoResponse).is_none());
        assert!(retryable(&Method::GET, Outcome::Status(503)).is_some());
        assert!(retryable(&Method::PUT, Outcome::Status(500)).is_some());
        assert!(retryable(&Method::DELETE, Outcome::NoResponse).is_some());
        for code in [400, 401, 403, 404, 409, 410, 422, 501, 502] {
            assert!(
                retryable(&Method::GET, Outcome::Status(code)).is_none(),
                "{code}"
            );
        }
        assert!(retryable(&Method::GET, Outcome::Final).is_none());
    }

    #[test]
    fn waits_grow_are_jittered_and_stop_at_the_caps() {
        let retry =
            Retry::default().backoff(Duration::from_millis(100), Duration::from_millis(400));
        let first = retry.next_wait(1, Duration::ZERO, None).unwrap();
        assert!((Duration::from_millis(50)..=Duration::from_millis(100)).contains(&first));
        let later = retry.next_wait(4, Duration::ZERO, None).unwrap();
        assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&later));
        assert_eq!(
            retry.next_wait(5, Duration::ZERO, None),
            None,
            "5 attempts made"
        );
        assert_eq!(
            retry.next_wait(1, Duration::from_secs(29), Some(Duration::from_secs(2))),
            None,
            "the wait would end after max_elapsed"
        );
        assert_eq!(
            retry.next_wait(1, Duration::ZERO, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1)),
            "Retry-After is honoured as given"
        );
        assert_eq!(Retry::none().next_wait(1, Duration::ZERO, None), None);
    }

    #[test]
    fn retry_after_in_seconds() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
