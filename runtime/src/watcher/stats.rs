//! What a watcher did, counted: for tests, metrics and dashboards.

use std::sync::{Arc, Mutex};

/// Counts of what a [`Watcher`](super::Watcher) has done since it started. Take a handle with
/// [`Watcher::stats`](super::Watcher::stats) before moving the watcher into a task; read it any
/// time with [`WatcherStats::get`].
///
/// ```
/// let counts = incluster::watcher::WatcherCounts::default();
/// assert_eq!(counts.relists, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatcherCounts {
    /// Requests for pages of a paginated list (each page counts once).
    pub list_pages: u64,
    /// Full lists without `limit` (client-go's fallback after a `continue` token expired).
    pub full_lists: u64,
    /// Streaming lists started (`sendInitialEvents=true`).
    pub streaming_lists: u64,
    /// Streaming lists that reached their initial-events-end bookmark.
    pub streaming_lists_completed: u64,
    /// Watches started from a `resourceVersion`.
    pub watches: u64,
    /// (Re)lists started, the first one included.
    pub lists_started: u64,
    /// (Re)lists completed (`InitDone` emitted).
    pub lists_completed: u64,
    /// Re-lists: lists started after the first.
    pub relists: u64,
    /// `410 Gone` answers and events.
    pub gone: u64,
    /// Errors yielded to the consumer.
    pub errors: u64,
    /// Times the server refused a streaming list, so the watcher fell back to list + watch.
    pub streaming_list_refusals: u64,
    /// Re-lists caused by an event larger than the size limit.
    pub oversized_events: u64,
    /// Lists given up before they were complete because they passed the client's response
    /// limit (`Config::with_max_response_bytes`): a paginated list's pages together, or a
    /// streaming list's initial events before their initial-events-end bookmark.
    pub lists_over_limit: u64,
    /// Answers without a `resourceVersion` where one is needed.
    pub missing_resource_versions: u64,
    /// Bookmarks seen (initial-events-end ones included).
    pub bookmarks: u64,
}

/// A live handle on a watcher's [`WatcherCounts`]; cheap to clone, `Send + Sync`.
///
/// ```no_run
/// # fn f(watcher: incluster::Watcher<serde_json::Value>) {
/// let stats = watcher.stats();
/// tokio::spawn(futures::StreamExt::for_each(watcher, |_| async {}));
/// println!("{} re-lists so far", stats.get().relists);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct WatcherStats {
    counts: Arc<Mutex<WatcherCounts>>,
}

impl WatcherStats {
    /// The counts now.
    ///
    /// ```
    /// # fn f(stats: incluster::watcher::WatcherStats) {
    /// let counts = stats.get();
    /// # }
    /// ```
    pub fn get(&self) -> WatcherCounts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn count(&self, what: impl FnOnce(&mut WatcherCounts)) {
        what(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
