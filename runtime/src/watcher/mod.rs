//! A watcher that never loses an event: list, then watch from the list's `resourceVersion`,
//! resume after every interruption, re-list after `410 Gone` (feature `watcher`).
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use incluster::watcher::Event;
//! use serde::Deserialize;
//!
//! #[derive(Debug, Clone, Deserialize)]
//! pub struct ConfigMap {
//!     pub metadata: Meta,
//! }
//! #[derive(Debug, Clone, Deserialize)]
//! pub struct Meta {
//!     pub name: String,
//! }
//!
//! // A trait method returning `incluster::Result<incluster::Watcher<ConfigMap>>` on a LIST path
//! // gets one; by hand:
//! # async fn run(client: incluster::Client) -> incluster::Result<()> {
//! let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
//!     .path_param("namespace", "default")
//!     .build()?;
//! let mut events = client.watcher::<ConfigMap>(list);
//! loop {
//!     match events.try_next().await {
//!         Ok(Some(Event::Apply(cm))) => println!("changed: {}", cm.metadata.name),
//!         Ok(Some(Event::Delete(cm))) => println!("deleted: {}", cm.metadata.name),
//!         Ok(Some(Event::Init)) => println!("(re)listing"),
//!         Ok(Some(Event::InitApply(cm))) => println!("exists: {}", cm.metadata.name),
//!         Ok(Some(Event::Vanished(gone))) => println!("deleted while away: {gone}"),
//!         Ok(Some(Event::InitDone)) => println!("listed"),
//!         Ok(None) => unreachable!("a watcher never ends"),
//!         // Logged and retried after a backoff by the next poll.
//!         Err(err) => eprintln!("watch failed: {err}"),
//!     }
//! }
//! # }
//! ```

mod backoff;
mod key;
mod machine;
#[cfg(test)]
mod model_tests;
mod stats;
mod store;
mod vanished;

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::http::client::Client;
use crate::request::Request;

use key::EventKey;
pub use stats::{WatcherCounts, WatcherStats};
pub use store::Store;
use store::Writer;

/// What a [`Watcher`] tells its consumer.
///
/// A (re)list is framed by `Init` … `InitDone`: the objects in between are the whole current
/// state, so a consumer that keeps a view builds a new one from them and swaps it in at
/// `InitDone` (objects of the old view that did not reappear were deleted meanwhile). After
/// that, `Apply` and `Delete` report every change in order. A re-list also says, by one
/// `Vanished` per object just before its `InitDone`, which objects the consumer was told about
/// are gone (deleted while the watch was away, so their last state is unknown).
///
/// ```
/// use incluster::watcher::Event;
/// let event: Event<u32> = Event::Apply(1);
/// assert_eq!(event.object(), Some(&1));
/// assert_eq!(Event::<u32>::InitDone.object(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<T> {
    /// A (re)list starts: what follows until `InitDone` replaces the consumer's view.
    Init,
    /// An object that exists, part of the (re)list.
    InitApply(T),
    /// The (re)list is complete.
    InitDone,
    /// An object was created or changed.
    Apply(T),
    /// An object was deleted (its last state).
    Delete(T),
    /// An object the consumer was told about (by `InitApply` or `Apply` since the previous
    /// `InitDone`) that a re-list no longer contains: it was deleted while the watch was away
    /// and its last state is unknown (client-go's `DeletedFinalStateUnknown`). Emitted after the
    /// re-list's `InitApply` events and before its `InitDone`, once per vanished object.
    Vanished(ObjectRef),
}

/// Namespace and name of an object, for [`Event::Vanished`]. Displays as `namespace/name`, or
/// `name` for a cluster-scoped object.
///
/// ```
/// use incluster::watcher::ObjectRef;
/// let r = ObjectRef { namespace: Some("default".into()), name: "settings".into() };
/// assert_eq!(r.to_string(), "default/settings");
/// let node = ObjectRef { namespace: None, name: "n1".into() };
/// assert_eq!(node.to_string(), "n1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    /// The namespace; `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{namespace}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl<T> Event<T> {
    /// The object of `InitApply`, `Apply` and `Delete` (`None` for `Vanished`: its last state
    /// is unknown).
    ///
    /// ```
    /// # use incluster::watcher::{Event, ObjectRef};
    /// assert_eq!(Event::Delete("x").object(), Some(&"x"));
    /// let gone: Event<&str> = Event::Vanished(ObjectRef { namespace: None, name: "x".into() });
    /// assert_eq!(gone.object(), None);
    /// ```
    pub fn object(&self) -> Option<&T> {
        match self {
            Event::InitApply(object) | Event::Apply(object) | Event::Delete(object) => Some(object),
            Event::Init | Event::InitDone | Event::Vanished(_) => None,
        }
    }
}

/// Applies each event to a store (a type-erased [`Writer`]).
type Feed<T> = Box<dyn FnMut(&Event<T>, &EventKey<'_>) + Send>;

/// How a watcher lists and watches.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) page_size: u32,
    pub(crate) server_timeout: Duration,
    pub(crate) streaming_list: bool,
    pub(crate) keep_managed_fields: bool,
}

/// Every object of a collection, then every change, forever: a `Stream` of [`Event`]s.
///
/// What it does (client-go's reflector, kube-rs' `watcher`):
/// - **Initial state.** By default a *streaming list*: one watch with `sendInitialEvents=true`,
///   `resourceVersionMatch=NotOlderThan` and `allowWatchBookmarks=true`; the server sends every
///   object, then a bookmark annotated `k8s.io/initial-events-end`, then changes. Where the server
///   refuses that (kube-apiserver before 1.27, or the `WatchList` feature gate off: a `400`/`422`
///   answer naming `sendInitialEvents` or `resourceVersionMatch`; any other 400/422 is an
///   ordinary failure) the watcher falls back, for the rest of its life, to a paginated list
///   ([`Watcher::page_size`] items per request) followed by a watch from the list's
///   `resourceVersion`. A streaming list that ends, fails or goes past `timeoutSeconds` +
///   15 s without its initial-events-end bookmark is followed by one paginated list (a warning is
///   logged after 60 s of waiting). A paginated list reads all its pages before handing the
///   items out, so a slow consumer cannot make it outlive its `continue` token; a token that
///   expires anyway (`410`) is followed by one full list without `limit` (client-go's pager).
///   Either kind of list is held to the client's response limit
///   ([`Config::with_max_response_bytes`](crate::Config::with_max_response_bytes)), as the one
///   response it stands for: a paginated list's pages together, a streaming list's initial
///   events until their bookmark. Past it, an `Error::Protocol` and a re-list after the backoff
///   (after a streaming list, a paginated one); the objects of a list that never completes
///   never reach a [`Store`]. Either way the consumer sees `Init`, `InitApply`…, (`Vanished`…),
///   `InitDone`.
/// - **Resume.** Watches carry `allowWatchBookmarks=true` and `timeoutSeconds`
///   ([`Watcher::server_timeout`], 290 s by default) so idle watches are renewed. When a watch
///   ends (timeout, closed or dropped connection) the next one starts from the last
///   `resourceVersion` seen in an event or a bookmark: nothing is missed, nothing repeated.
/// - **Re-list.** When that `resourceVersion` is too old (`410 Gone` as an HTTP answer or as an
///   `ERROR` event, e.g. after etcd compacted its history while the watcher was disconnected) the
///   watcher lists again and emits `Init` … `InitDone`. A `410` is not yielded as an error.
/// - **Failures** (transport errors, `403`, `5xx`, an object that does not decode into `T`) are
///   yielded as `Err(e)`; the next poll retries after a capped exponential backoff with jitter
///   (800 ms doubling to 30 s, at least the server's `Retry-After`; it starts again from 800 ms
///   only after 60 s without a failure). Every re-list and every watch that ended within 10 s
///   waits for the same backoff, so a server that answers `410` to everything, or closes each
///   watch at once, sees a few requests a minute, not thousands a second. A watch refused with
///   an API error other than `410`/`429` (e.g. "too large resource version"), an `ERROR` event,
///   an event over the 16 MiB limit, and a list or initial-events-end bookmark without a
///   `resourceVersion` all lead to a re-list (after the backoff), never to the same request
///   again. The stream never ends by itself.
/// - **Liveness.** A connection that goes silent (no RST: a dead node, a dropped NAT entry) is
///   noticed by HTTP/2 PING within about 20 s; the watch resumes on a new connection. A healthy
///   watch with no events is never cut (the server answers PINGs and sends bookmarks).
///
/// Each object's `resourceVersion`, namespace and name are read from its `metadata` without any
/// trait on `T`: a small serde struct with just the fields you use, or a k8s-openapi type. Its
/// `metadata.managedFields` is skipped unread unless [`Watcher::keep_managed_fields`] says
/// otherwise.
///
/// A [`Store`] (from [`Watcher::store`]) keeps the latest state of every object for lookups.
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
///     .path_param("namespace", "default")
///     .query("labelSelector", "app=web")
///     .build()?;
/// let mut events = incluster::Watcher::<serde_json::Value>::new(client, list)
///     .page_size(100)
///     .server_timeout(std::time::Duration::from_secs(120));
/// while let Some(event) = events.next().await {
///     println!("{:?}", event);
/// }
/// # Ok(()) }
/// ```
pub struct Watcher<T> {
    client: Client,
    list: Request,
    settings: Settings,
    feeds: Arc<Mutex<Vec<Feed<T>>>>,
    /// Whether `feeds` has any: a watcher without a store takes no lock per event.
    fed: AtomicBool,
    running: Option<machine::Running<T>>,
    vanished: vanished::Vanished,
    /// The bytes of the current event's key, joined here (see [`EventKey`]) in a buffer kept
    /// from one event to the next.
    key_bytes: Vec<u8>,
    stats: WatcherStats,
}

impl<T> std::fmt::Debug for Watcher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("list", &self.list.to_string())
            .field("settings", &self.settings)
            .field("started", &self.running.is_some())
            .finish()
    }
}

impl<T: DeserializeOwned + Send + 'static> Watcher<T> {
    /// A watcher of the collection that `list` (a plain LIST request, e.g. `GET
    /// /api/v1/namespaces/{namespace}/configmaps` with any `labelSelector`/`fieldSelector`)
    /// reads. Nothing is sent before the first poll.
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) -> incluster::Result<()> {
    /// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces").build()?;
    /// let namespaces = incluster::Watcher::<serde_json::Value>::new(client, list);
    /// # Ok(()) }
    /// ```
    pub fn new(client: Client, list: Request) -> Watcher<T> {
        Watcher {
            client,
            list,
            settings: Settings {
                page_size: crate::stream::list::DEFAULT_PAGE_SIZE,
                server_timeout: Duration::from_secs(290),
                streaming_list: true,
                keep_managed_fields: false,
            },
            feeds: Arc::default(),
            fed: AtomicBool::new(false),
            running: None,
            vanished: vanished::Vanished::default(),
            key_bytes: Vec::new(),
            stats: WatcherStats::default(),
        }
    }
}

impl<T> Watcher<T> {
    /// Items per page of the initial (paginated) list; 500 by default, at least 1.
    ///
    /// ```no_run
    /// # fn f(w: incluster::Watcher<serde_json::Value>) {
    /// let w = w.page_size(100);
    /// # }
    /// ```
    pub fn page_size(mut self, n: u32) -> Self {
        self.settings.page_size = n.max(1);
        self
    }

    /// The `timeoutSeconds` of each watch request (290 s by default, at least 1 s): the server
    /// ends a watch after this long and the watcher starts the next one where it left off.
    ///
    /// ```no_run
    /// # fn f(w: incluster::Watcher<serde_json::Value>) {
    /// let w = w.server_timeout(std::time::Duration::from_secs(60));
    /// # }
    /// ```
    pub fn server_timeout(mut self, d: Duration) -> Self {
        self.settings.server_timeout = d.max(Duration::from_secs(1));
        self
    }

    /// Whether to get the initial state by a streaming list (`sendInitialEvents=true`, the
    /// default; the watcher falls back to list + watch where the server refuses it) or always by a
    /// paginated list followed by a watch (`false`).
    ///
    /// ```no_run
    /// # fn f(w: incluster::Watcher<serde_json::Value>) {
    /// let w = w.streaming_list(false);
    /// # }
    /// ```
    pub fn streaming_list(mut self, on: bool) -> Self {
        self.settings.streaming_list = on;
        self
    }

    /// Whether objects keep `metadata.managedFields` (`false` by default: the watcher skips
    /// that field while decoding, so `T` sees an object without it).
    ///
    /// Server-side apply's field ownership records are usually the largest part of an object
    /// and of no use to a cache or a reconcile (an apply needs none of them): skipping them
    /// unread saves the memory of every cached copy and the CPU of decoding them — client-go's
    /// `TransformStripManagedFields` and kube-rs' `.modify(|o| o.managed_fields_mut().clear())`
    /// do the same after decoding. Keep them (`true`) to inspect who owns which field. Where
    /// `T` reads `metadata` as raw JSON (e.g. a `Box<RawValue>` field) it is handed over
    /// untouched, with the field; a `T` that *requires* `managedFields` must keep them.
    ///
    /// ```no_run
    /// # fn f(w: incluster::Watcher<serde_json::Value>) {
    /// let w = w.keep_managed_fields(true);
    /// # }
    /// ```
    pub fn keep_managed_fields(mut self, keep: bool) -> Self {
        self.settings.keep_managed_fields = keep;
        self
    }

    /// A live count of what this watcher does (lists, re-lists, watches, `410`s, errors…):
    /// structured signals for tests and metrics. Take it before moving the watcher into a task.
    ///
    /// ```no_run
    /// # fn f(w: incluster::Watcher<serde_json::Value>) {
    /// let stats = w.stats();
    /// assert_eq!(stats.get().relists, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> WatcherStats {
        self.stats.clone()
    }

    /// A [`Store`] kept up to date by this watcher as it is polled. Take it before the first
    /// poll: a store taken later fills at the watcher's next re-list.
    ///
    /// ```no_run
    /// # #[derive(Clone, serde::Deserialize)] struct ConfigMap {}
    /// # fn f(w: incluster::Watcher<ConfigMap>) {
    /// let store = w.store();
    /// # }
    /// ```
    pub fn store(&self) -> Store<T>
    where
        T: Clone + Send + Sync + 'static,
    {
        let (mut writer, store) = Writer::new();
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(move |event, key| writer.apply(event, key)));
        self.fed.store(true, Ordering::Release);
        store
    }
}

impl<T> Watcher<Arc<T>> {
    /// A [`Store`] of `T` that shares each object with the events of this `Watcher<Arc<T>>`:
    /// the store keeps the event's `Arc` rather than a copy, so each object is in memory once
    /// and nothing is cloned (what [`Watcher::store`] does for a `Watcher<T>`, which gives its
    /// consumer the object itself). Take it before the first poll, as `store`.
    ///
    /// The events' objects read like `T` (`cm.metadata.name`), through `Arc`'s `Deref`.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use futures::StreamExt;
    /// # #[derive(serde::Deserialize)] struct ConfigMap { metadata: Meta }
    /// # #[derive(serde::Deserialize)] struct Meta { name: String }
    /// # async fn run(client: incluster::Client, list: incluster::Request) {
    /// let mut events = client.watcher::<Arc<ConfigMap>>(list);
    /// let store: incluster::watcher::Store<ConfigMap> = events.shared_store();
    /// while let Some(Ok(event)) = events.next().await {
    ///     if let incluster::watcher::Event::Apply(cm) = event {
    ///         // the very object the store holds
    ///         assert!(Arc::ptr_eq(&cm, &store.get("default", &cm.metadata.name).unwrap()));
    ///     }
    /// }
    /// # }
    /// ```
    pub fn shared_store(&self) -> Store<T>
    where
        T: Send + Sync + 'static,
    {
        let (mut writer, store) = Writer::new();
        self.feeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(move |event, key| writer.apply_shared(event, key)));
        self.fed.store(true, Ordering::Release);
        store
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for Watcher<T> {
    type Item = Result<Event<T>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some((event, key)) = this.vanished.next_pending() {
            feed(&this.feeds, &this.fed, &event, &EventKey::of(&key));
            return Poll::Ready(Some(Ok(event)));
        }
        let running = this.running.get_or_insert_with(|| {
            machine::Running::start(
                this.client.clone(),
                this.list.clone(),
                this.settings.clone(),
                this.stats.clone(),
            )
        });
        match std::task::ready!(running.poll_next(cx)) {
            Ok(event) => {
                if let Event::InitDone = event {
                    // Objects gone across a re-list come first; the `InitDone` is held back.
                    if let Some((vanished, key)) = this.vanished.list_done() {
                        feed(&this.feeds, &this.fed, &vanished, &EventKey::of(&key));
                        return Poll::Ready(Some(Ok(vanished)));
                    }
                }
                let key = if event.object().is_some() {
                    let (namespace, name) = running.key();
                    EventKey::join(&mut this.key_bytes, namespace, name)
                } else {
                    EventKey::none()
                };
                // The tracker first: a key new to it is built there and shared with the stores.
                this.vanished.observe(&event, &key);
                feed(&this.feeds, &this.fed, &event, &key);
                Poll::Ready(Some(Ok(event)))
            }
            Err(err) => Poll::Ready(Some(Err(err))),
        }
    }
}

/// Gives `event` to every store.
fn feed<T>(feeds: &Mutex<Vec<Feed<T>>>, fed: &AtomicBool, event: &Event<T>, key: &EventKey<'_>) {
    // Set (by `store`/`shared_store`, which take `&self`) before the poll that follows.
    if !fed.load(Ordering::Acquire) {
        return;
    }
    for feed in feeds.lock().unwrap_or_else(|e| e.into_inner()).iter_mut() {
        feed(event, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watcher_is_unpin_and_send() {
        fn check<S: Unpin + Send>() {}
        struct NotSync(std::marker::PhantomData<std::cell::Cell<u8>>);
        check::<Watcher<NotSync>>();
        fn shareable<S: Clone + Send + Sync>() {}
        shareable::<Store<u32>>();
    }
}
