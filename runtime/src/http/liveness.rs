//! How a silent connection is noticed, and how long an ordinary request may take.
//!
//! A connection can die without a word: the API server's VM stops, a NAT or conntrack entry is
//! dropped, a load balancer forgets the flow. Nothing arrives, not even a RST, and every request
//! multiplexed on that HTTP/2 connection would wait until the kernel gives up (many minutes).
//! incluster notices it this way, with no setting needed:
//!
//! - **HTTP/2 PING** (what client-go's health check does): when nothing has been read on a
//!   connection for [`PING_INTERVAL`], a PING is sent; without an answer within
//!   [`PING_TIMEOUT`] the connection is closed, every request and stream on it fails with
//!   "no answer from the server for N s", and the next request opens a new connection. A healthy
//!   connection answers PINGs even when no event or log line flows, so an idle watch or a quiet
//!   log follow is never cut. Bound: about `PING_INTERVAL + PING_TIMEOUT` (20 s) after the
//!   connection fell silent.
//! - **TCP keepalive and `TCP_USER_TIMEOUT`**: a peer that stops acknowledging is dropped by the
//!   kernel after [`TCP_USER_TIMEOUT`]; this covers HTTP/1.1 connections (a plain-http `kubectl
//!   proxy`), where there is no PING.
//! - **A whole-request limit for calls that are not streams** ([`DEFAULT_REQUEST_TIMEOUT`],
//!   70 s, longer than the API server's own 60 s so that its answer wins): `send`, `json`,
//!   `text`, `send_ignoring_body` and each page of a `ListStream`. Streams — `watch`, `lines`
//!   (log follows) and the `Watcher` — are never cut by it; they rely on PING. Set it per client
//!   with [`Config::with_timeout`](crate::Config::with_timeout) and per call with
//!   [`RequestBuilder::timeout`](crate::RequestBuilder::timeout), which also applies to streams.

use std::error::Error as StdError;
use std::time::Duration;

/// Silence on a connection after which an HTTP/2 PING is sent.
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(10);
/// How long a PING may go unanswered before the connection is given up.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle time before the first TCP keepalive probe.
pub(crate) const TCP_KEEPALIVE: Duration = Duration::from_secs(15);
/// Time between TCP keepalive probes.
pub(crate) const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// How long sent data may stay unacknowledged before the kernel drops the connection.
pub(crate) const TCP_USER_TIMEOUT: Duration = Duration::from_secs(30);
/// The whole-request limit of calls that are not streams, unless the client or the call sets one.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(70);

/// What kind of call a request is, for the whole-request limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// The body is read whole: the client's limit applies.
    Whole,
    /// The body is a stream that may last for hours: only a limit set on the request applies.
    Stream,
}

/// Whether `err` (anywhere in its chain) is an HTTP/2 PING that went unanswered.
pub(crate) fn is_ping_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        // hyper's `KeepAliveTimedOut` is private; its text is its only mark.
        if e.to_string() == "keep-alive timed out" {
            return true;
        }
        current = e.source();
    }
    false
}

/// Seconds, for messages.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_well() {
        assert_eq!(seconds(Duration::from_secs(20)), "20 s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");
    }
}
