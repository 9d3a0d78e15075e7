//! Bounded waits on a real cluster: the bound turns a hang into a failure; it is never an
//! assertion on speed.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` every 200 ms until it holds; panics naming `what` once `limit` has passed.
///
/// ```no_run
/// # async fn demo(admin: incluster_tests::controlplane::Admin) {
/// use std::time::Duration;
/// incluster_tests::wait::eventually("the namespace", Duration::from_secs(60), || async {
///     matches!(admin.raw("GET", "/api/v1/namespaces/demo", None).await, Ok((200, _)))
/// })
/// .await;
/// # }
/// ```
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
