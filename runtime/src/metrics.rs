//! The metrics incluster records, through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`; without it every hook is an empty inline function).
//!
//! Install any exporter — e.g. `metrics-exporter-prometheus` — and these series appear. The
//! names follow controller-runtime's; labels never carry a filled URL, a name or a namespace
//! (the `path` label is the request's *template*, `/api/v1/namespaces/{namespace}/configmaps`),
//! so cardinality stays bounded by the code, not by the cluster.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`REQUESTS`] `incluster_requests_total` | counter | `verb`, `path`, `code` (`0`: no response) |
//! | [`REQUEST_DURATION`] `incluster_request_duration_seconds` | histogram | `verb`, `path` |
//! | [`RETRIES`] `incluster_request_retries_total` | counter | `verb`, `path` |
//! | [`WATCHER_RELISTS`] `incluster_watcher_relists_total` | counter | `path` |
//! | [`WATCHER_ERRORS`] `incluster_watcher_errors_total` | counter | `path` |
//! | [`QUEUE_DEPTH`] `incluster_workqueue_depth` | gauge | `name` |
//! | [`QUEUE_ADDS`] `incluster_workqueue_adds_total` | counter | `name` |
//! | [`QUEUE_LATENCY`] `incluster_workqueue_queue_duration_seconds` | histogram | `name` |
//! | [`QUEUE_RETRIES`] `incluster_workqueue_retries_total` | counter | `name` |
//! | [`RECONCILES`] `incluster_reconcile_total` | counter | `controller`, `result` (`success`, `requeue`, `error`, `timeout`) |
//! | [`RECONCILE_ERRORS`] `incluster_reconcile_errors_total` | counter | `controller` |
//! | [`RECONCILE_DURATION`] `incluster_reconcile_time_seconds` | histogram | `controller` |
//! | [`ACTIVE_WORKERS`] `incluster_controller_active_workers` | gauge | `controller` |
//! | [`LEADER`] `incluster_leader_election_is_leader` | gauge (0/1) | `lease` |
//!
//! ```
//! assert_eq!(incluster::metrics::REQUESTS, "incluster_requests_total");
//! ```

/// Requests sent, by `verb`, `path` (template) and `code`.
pub const REQUESTS: &str = "incluster_requests_total";
/// Time from sending a request to its response headers, by `verb` and `path` (template).
pub const REQUEST_DURATION: &str = "incluster_request_duration_seconds";
/// Retries of failed attempts, by `verb` and `path` (template).
pub const RETRIES: &str = "incluster_request_retries_total";
/// Watcher (re)lists started, by `path` (template of the LIST request).
pub const WATCHER_RELISTS: &str = "incluster_watcher_relists_total";
/// Watcher failures yielded to the consumer, by `path`.
pub const WATCHER_ERRORS: &str = "incluster_watcher_errors_total";
/// Keys waiting in a work queue, by `name`.
pub const QUEUE_DEPTH: &str = "incluster_workqueue_depth";
/// Keys added to a work queue, by `name`.
pub const QUEUE_ADDS: &str = "incluster_workqueue_adds_total";
/// Time a key waited in a work queue before a worker took it, by `name`.
pub const QUEUE_LATENCY: &str = "incluster_workqueue_queue_duration_seconds";
/// Keys re-queued after a failure (with backoff), by `name`.
pub const QUEUE_RETRIES: &str = "incluster_workqueue_retries_total";
/// Reconciles finished, by `controller` and `result`.
pub const RECONCILES: &str = "incluster_reconcile_total";
/// Reconciles that failed or timed out, by `controller`.
pub const RECONCILE_ERRORS: &str = "incluster_reconcile_errors_total";
/// Time one reconcile took, by `controller`.
pub const RECONCILE_DURATION: &str = "incluster_reconcile_time_seconds";
/// Reconciles running now, by `controller`.
pub const ACTIVE_WORKERS: &str = "incluster_controller_active_workers";
/// 1 while this process leads the Lease `lease` (`namespace/name`), else 0.
pub const LEADER: &str = "incluster_leader_election_is_leader";

#[cfg(feature = "metrics")]
#[allow(dead_code)] // the queue and reconcile hooks are used with feature `controller` only
#[allow(clippy::ptr_arg)] // `&Cow` so a literal template is cloned as a borrow, never copied
mod record {
    use std::borrow::Cow;
    use std::time::Duration;

    pub(crate) fn request(verb: &str, path: &Cow<'static, str>, code: u16, took: Duration) {
        metrics::counter!(super::REQUESTS, "verb" => verb.to_string(), "path" => path.clone(), "code" => code.to_string()).increment(1);
        metrics::histogram!(super::REQUEST_DURATION, "verb" => verb.to_string(), "path" => path.clone())
            .record(took.as_secs_f64());
    }
    pub(crate) fn retry(verb: &str, path: &Cow<'static, str>) {
        metrics::counter!(super::RETRIES, "verb" => verb.to_string(), "path" => path.clone())
            .increment(1);
    }
    pub(crate) fn watcher_relist(path: &Cow<'static, str>) {
        metrics::counter!(super::WATCHER_RELISTS, "path" => path.clone()).increment(1);
    }
    pub(crate) fn watcher_error(path: &Cow<'static, str>) {
        metrics::counter!(super::WATCHER_ERRORS, "path" => path.clone()).increment(1);
    }
    pub(crate) fn leader(lease: &str, leading: bool) {
        metrics::gauge!(super::LEADER, "lease" => lease.to_string())
            .set(f64::from(u8::from(leading)));
    }
    pub(crate) fn queue_depth(name: &str, depth: usize) {
        metrics::gauge!(super::QUEUE_DEPTH, "name" => name.to_string()).set(depth as f64);
    }
    pub(crate) fn queue_add(name: &str) {
        metrics::counter!(super::QUEUE_ADDS, "name" => name.to_string()).increment(1);
    }
    pub(crate) fn queue_latency(name: &str, waited: Duration) {
        metrics::histogram!(super::QUEUE_LATENCY, "name" => name.to_string())
            .record(waited.as_secs_f64());
    }
    pub(crate) fn queue_retry(name: &str) {
        metrics::counter!(super::QUEUE_RETRIES, "name" => name.to_string()).increment(1);
    }
    pub(crate) fn reconcile(controller: &str, result: &'static str, took: Duration) {
        metrics::counter!(super::RECONCILES, "controller" => controller.to_string(), "result" => result).increment(1);
        if result == "error" || result == "timeout" {
            metrics::counter!(super::RECONCILE_ERRORS, "controller" => controller.to_string())
                .increment(1);
        }
        metrics::histogram!(super::RECONCILE_DURATION, "controller" => controller.to_string())
            .record(took.as_secs_f64());
    }
    pub(crate) fn active_workers(controller: &str, n: usize) {
        metrics::gauge!(super::ACTIVE_WORKERS, "controller" => controller.to_string())
            .set(n as f64);
    }
}

#[cfg(not(feature = "metrics"))]
// The same signatures as the recording functions above (so callers compile either way).
#[allow(dead_code, clippy::ptr_arg)]
mod record {
    use std::borrow::Cow;
    use std::time::Duration;

    #[inline(always)]
    pub(crate) fn request(_: &str, _: &Cow<'static, str>, _: u16, _: Duration) {}
    #[inline(always)]
    pub(crate) fn retry(_: &str, _: &Cow<'static, str>) {}
    #[inline(always)]
    pub(crate) fn watcher_relist(_: &Cow<'static, str>) {}
    #[inline(always)]
    pub(crate) fn watcher_error(_: &Cow<'static, str>) {}
    #[inline(always)]
    pub(crate) fn queue_depth(_: &str, _: usize) {}
    #[inline(always)]
    pub(crate) fn queue_add(_: &str) {}
    #[inline(always)]
    pub(crate) fn queue_latency(_: &str, _: Duration) {}
    #[inline(always)]
    pub(crate) fn queue_retry(_: &str) {}
    #[inline(always)]
    pub(crate) fn reconcile(_: &str, _: &'static str, _: Duration) {}
    #[inline(always)]
    pub(crate) fn active_workers(_: &str, _: usize) {}
}

#[allow(unused_imports)]
pub(crate) use record::*;

/// Hook of `Client::send_once`: one attempt's answer (or transport failure), timed from `sent`.
#[inline]
pub(crate) fn sent(
    request: &crate::request::Request,
    result: &Result<reqwest::Response, reqwest::Error>,
    sent: std::time::Instant,
) {
    let code = result.as_ref().map_or(0, |r| r.status().as_u16());
    record::request(
        request.method.as_str(),
        &request.template,
        code,
        sent.elapsed(),
    );
}

/// Hook of `Client::send_streaming`: a failed attempt is about to be retried.
#[inline]
pub(crate) fn retrying(request: &crate::request::Request) {
    record::retry(request.method.as_str(), &request.template);
}

/// Hook of leader election: this process leads (or stopped leading) the Lease `namespace/name`.
#[inline]
#[cfg_attr(not(feature = "leader-election"), allow(dead_code))]
pub(crate) fn leader_state(namespace: &str, name: &str, leading: bool) {
    #[cfg(feature = "metrics")]
    record::leader(&format!("{namespace}/{name}"), leading);
    #[cfg(not(feature = "metrics"))]
    let _ = (namespace, name, leading);
}
