//! When a failed request is sent again, and after how long.
//!
//! The rules follow what the API server promises: a `429` was rejected before anything happened
//! (API Priority and Fairness), so any verb may be retried, after its `Retry-After`; a `500`,
//! `503` or `504` may have done the work, so only idempotent verbs (GET, HEAD, PUT, DELETE,
//! OPTIONS) are retried. A connection that failed before the request left is retried for every
//! verb (the server saw nothing). A connection lost after the request was written (reset, closed,
//! an HTTP/2 PING unanswered) is retried for GET and HEAD only: a PUT or DELETE may have been
//! done, and sending it again would answer `409`/`404` for work that succeeded. Every other
//! answer is final.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use reqwest::Method;

/// How failed requests are retried: on by default, see [`Config::with_retry`](crate::Config::with_retry).
///
/// | failure | GET, HEAD | PUT, DELETE, OPTIONS | POST, PATCH |
/// |---|---|---|---|
/// | `429 Too Many Requests` (after its `Retry-After`, seconds or HTTP-date) | retried | retried | retried |
/// | `500`, `503`, `504` | retried | retried | never |
/// | could not connect (the request never left) | retried | retried | retried |
/// | connection lost after the request was written (reset, closed, PING unanswered) | retried | never | never |
/// | the request's own time limit, other 4xx, a body cut off | never | never | never |
///
/// (A PUT or DELETE lost in flight may have been done: sending it again would turn a success
/// into a `409` or `404`, so the caller gets the transport error and decides.)
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
    let safe = matches!(*method, Method::GET | Method::HEAD);
    match outcome {
        Outcome::Status(429) => Some("429 Too Many Requests"),
        Outcome::Status(500) if idempotent => Some("500 Internal Server Error"),
        Outcome::Status(503) if idempotent => Some("503 Service Unavailable"),
        Outcome::Status(504) if idempotent => Some("504 Gateway Timeout"),
        Outcome::NotSent => Some("the connection failed before the request was sent"),
        Outcome::Lost if safe => Some("the connection was lost before a response"),
        _ => None,
    }
}

/// What a failed attempt came to, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server answered with this status.
    Status(u16),
    /// No connection: the request never left.
    NotSent,
    /// The connection failed after the request may have been written, before a response.
    Lost,
    /// Anything else (the request's own time limit, a TLS failure, a body cut off): never
    /// retried.
    Final,
}

/// The longest `Retry-After` honoured; a longer one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// A `Retry-After` header: seconds (the form the API server sends) or an HTTP-date (RFC 9110
/// allows both; a date in the past means "now"), capped at an hour.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    retry_after_value(value, std::time::SystemTime::now())
}

/// [`retry_after`] of one header value, `now` being the current time.
pub(crate) fn retry_after_value(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => {
            let date = crate::http::http_date::parse_http_date(value)?;
            date.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_are_retried() {
        assert!(retryable(&Method::POST, Outcome::Status(429)).is_some());
        assert!(retryable(&Method::PATCH, Outcome::Status(429)).is_some());
        assert!(retryable(&Method::POST, Outcome::Status(503)).is_none());
        assert!(retryable(&Method::PATCH, Outcome::Lost).is_none());
        assert!(retryable(&Method::PATCH, Outcome::NotSent).is_some());
        assert!(retryable(&Method::POST, Outcome::NotSent).is_some());
        assert!(retryable(&Method::GET, Outcome::Status(503)).is_some());
        assert!(retryable(&Method::PUT, Outcome::Status(500)).is_some());
        assert!(retryable(&Method::DELETE, Outcome::NotSent).is_some());
        // Written, then lost: only a read is sent again.
        assert!(retryable(&Method::GET, Outcome::Lost).is_some());
        assert!(retryable(&Method::HEAD, Outcome::Lost).is_some());
        for verb in [Method::PUT, Method::DELETE, Method::POST, Method::PATCH] {
            assert!(retryable(&verb, Outcome::Lost).is_none(), "{verb}");
        }
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
    fn retry_after_in_seconds_or_as_an_http_date() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(
            retry_after_value("Wed, 21 Oct 2015 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        // The obsolete forms RFC 9110 still asks recipients to accept.
        assert_eq!(
            retry_after_value("Wednesday, 21-Oct-15 07:28:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after_value("Wed Oct 21 07:28:07 2015", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after_value("Tue, 20 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: now"
        );
        assert_eq!(
            retry_after_value("Fri, 21 Oct 2016 07:28:00 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(retry_after_value("soon", now), None);
        assert_eq!(retry_after_value("-1", now), None);
        assert_eq!(retry_after_value("99999999999999999999", now), None);
    }
}
