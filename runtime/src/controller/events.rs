//! An `events.k8s.io/v1` recorder (client-go's `events.EventRecorder`, kube-rs' `Recorder`):
//! required fields, `MicroTime`, unique names, the `default` namespace for cluster-scoped
//! objects, character-safe truncation, and repeated events folded into a series.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::meta::ObjectMeta;
use crate::http::client::Client;
use crate::request::patch::Patch;
use crate::request::{Method, Request};

/// The most bytes of `note` the API server accepts.
pub const NOTE_LIMIT: usize = 1024;
/// The most bytes of `reason`, `action`, `reportingController` and `reportingInstance`.
pub const FIELD_LIMIT: usize = 128;
/// Repeats of the same event within this window are one series (client-go: 6 minutes).
pub const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// How many distinct series the recorder remembers (the oldest is forgotten first).
pub const SERIES_CACHE: usize = 4096;

/// `Normal` or `Warning`.
///
/// ```
/// assert_eq!(incluster::controller::EventType::Warning.as_str(), "Warning");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    /// `Normal` / `Warning`.
    ///
    /// ```
    /// assert_eq!(incluster::controller::EventType::Normal.as_str(), "Normal");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// The object an Event is about (`regarding`).
///
/// ```
/// use incluster::controller::{ObjectMeta, Reference};
/// let meta = ObjectMeta { name: "m".into(), namespace: Some("ns".into()), uid: "u".into(), ..Default::default() };
/// let r = Reference::of("example.com/v1", "Widget", &meta);
/// assert_eq!(r.namespace.as_deref(), Some("ns"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Namespace (`None`: cluster-scoped; the Event then goes to `default`).
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// UID.
    pub uid: String,
}

impl Reference {
    /// A reference to the object of `kind` with metadata `meta`.
    ///
    /// ```
    /// # use incluster::controller::{ObjectMeta, Reference};
    /// let r = Reference::of("v1", "Node", &ObjectMeta { name: "n1".into(), ..Default::default() });
    /// assert_eq!(r.namespace, None);
    /// ```
    pub fn of(api_version: &str, kind: &str, meta: &ObjectMeta) -> Reference {
        Reference {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
            name: meta.name.clone(),
            uid: meta.uid.clone(),
        }
    }
}

/// One Event to record.
///
/// ```
/// use incluster::controller::{Event, EventType};
/// let event = Event::new(EventType::Warning, "TargetConflict", "Mirror", "ns/x is not ours");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event {
    /// `Normal` or `Warning`.
    pub type_: EventType,
    /// Why (CamelCase, ≤ 128 bytes: longer is cut).
    pub reason: String,
    /// What the controller did or failed to do (≤ 128 bytes).
    pub action: String,
    /// For humans (≤ 1 KiB: longer is cut at a character boundary).
    pub note: String,
}

impl Event {
    /// An Event of `type_`.
    ///
    /// ```
    /// # use incluster::controller::{Event, EventType};
    /// let e = Event::new(EventType::Normal, "Mirrored", "Mirror", "copied");
    /// assert_eq!(e.reason, "Mirrored");
    /// ```
    pub fn new(type_: EventType, reason: &str, action: &str, note: &str) -> Event {
        Event {
            type_,
            reason: reason.to_string(),
            action: action.to_string(),
            note: note.to_string(),
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary (never inside a multi-byte
/// character).
///
/// ```
/// use incluster::controller::truncate;
/// assert_eq!(truncate("héllo", 2), "h");
/// assert_eq!(truncate("héllo", 3), "hé");
/// assert_eq!(truncate("abc", 10), "abc");
/// ```
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[derive(Clone)]
struct Series {
    namespace: String,
    name: String,
    count: u32,
    last: Instant,
}

type SeriesKey = (Reference, Event);

/// Records `events.k8s.io/v1` Events. Cheap to clone (clones share the series cache).
///
/// - Each Event has every required field: `eventTime` as a `MicroTime`
///   (`2024-01-01T00:00:00.000000Z`), `reportingController`, `reportingInstance`, `action`,
///   `reason`, `type`, `regarding`.
/// - Its name is client-go's: `<regarding name>.<hex unix nanoseconds>`, unique per recorder.
/// - It goes to the regarding object's namespace, or `default` for a cluster-scoped object.
/// - `note` is cut to 1 KiB and the short fields to 128 bytes, at character boundaries.
/// - The same Event (same object, type, reason, action and note) again within 6 minutes does
///   not create a new Event: the first one's `series` (`count`, `lastObservedTime`) is
///   PATCHed. The cache of series is bounded ([`SERIES_CACHE`]).
///
/// A failure to record is returned; operators usually log it and go on.
///
/// ```no_run
/// use incluster::controller::{Event, EventType, ObjectMeta, Recorder, Reference};
/// # async fn f(client: incluster::Client, meta: ObjectMeta) -> incluster::Result<()> {
/// let recorder = Recorder::new(client, "example.com/widget-controller", "widget-controller-7f9c");
/// let widget = Reference::of("example.com/v1", "Widget", &meta);
/// recorder.publish(&widget, &Event::new(EventType::Normal, "Scaled", "Scale", "3 replicas")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Recorder {
    client: Client,
    controller: String,
    instance: String,
    series: Arc<Mutex<HashMap<SeriesKey, Series>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("controller", &self.controller)
            .field("instance", &self.instance)
            .finish()
    }
}

impl Recorder {
    /// A recorder reporting as `controller` (e.g. `example.com/widget-controller`) and
    /// `instance` (e.g. the Pod name).
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) {
    /// let recorder = incluster::controller::Recorder::new(client, "example.com/c", "pod-1");
    /// # }
    /// ```
    pub fn new(client: Client, controller: &str, instance: &str) -> Recorder {
        Recorder {
            client,
            controller: truncate(controller, FIELD_LIMIT).to_string(),
            instance: truncate(instance, FIELD_LIMIT).to_string(),
            series: Arc::default(),
        }
    }

    /// Records `event` about `regarding`: a new Event, or one more of a series.
    ///
    /// ```no_run
    /// # use incluster::controller::*;
    /// # async fn f(recorder: Recorder, widget: Reference) -> incluster::Result<()> {
    /// recorder.publish(&widget, &Event::new(EventType::Warning, "Failed", "Reconcile", "…")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish(&self, regarding: &Reference, event: &Event) -> crate::Result<()> {
        let event = Event {
            type_: event.type_,
            reason: truncate(&event.reason, FIELD_LIMIT).to_string(),
            action: truncate(&event.action, FIELD_LIMIT).to_string(),
            note: truncate(&event.note, NOTE_LIMIT).to_string(),
        };
        let key = (regarding.clone(), event);
        let repeat = {
            let mut cache = self.series.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get_mut(&key) {
                Some(series) if series.last.elapsed() < SERIES_WINDOW => {
                    series.count += 1;
                    series.last = Instant::now();
                    Some(series.clone())
                }
                _ => None,
            }
        };
        if let Some(series) = repeat {
            match self.patch_series(&series).await {
                Ok(()) => return Ok(()),
                // Expired (Events live an hour by default) or deleted: start a new one.
                Err(err) if err.is_not_found() => {}
                Err(err) => return Err(err),
            }
        }
        let (regarding, event) = &key;
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let name = event_name(&regarding.name);
        let body = json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "eventTime": crate::time::micro_time_now(),
            "reportingController": self.controller,
            "reportingInstance": self.instance,
            "action": event.action,
            "reason": event.reason,
            "note": event.note,
            "type": event.type_.as_str(),
            "regarding": {
                "apiVersion": regarding.api_version,
                "kind": regarding.kind,
                "namespace": regarding.namespace,
                "name": regarding.name,
                "uid": regarding.uid,
            },
        });
        let request = Request::builder(
            Method::POST,
            "/apis/events.k8s.io/v1/namespaces/{namespace}/events",
        )
        .path_param("namespace", &namespace)
        .json_body(&body)
        .rbac(crate::rbac::EVENTS_RECORDER.method(0))
        .build()?;
        self.client.send_ignoring_body(request).await?;
        let mut cache = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= SERIES_CACHE {
            evict_oldest(&mut cache);
        }
        cache.insert(
            key,
            Series {
                namespace,
                name,
                count: 1,
                last: Instant::now(),
            },
        );
        Ok(())
    }

    async fn patch_series(&self, series: &Series) -> crate::Result<()> {
        let patch = json!({"series": {"count": series.count, "lastObservedTime": crate::time::micro_time_now()}});
        let request = Request::builder(
            Method::PATCH,
            "/apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}",
        )
        .path_param("namespace", &series.namespace)
        .path_param("name", &series.name)
        .patch_body(&Patch::Merge(patch))
        .rbac(crate::rbac::EVENTS_RECORDER.method(1))
        .build()?;
        self.client.send_ignoring_body(request).await
    }

    /// How many series the recorder remembers now.
    ///
    /// ```no_run
    /// # fn f(recorder: incluster::controller::Recorder) { assert!(recorder.cached_series() <= incluster::controller::SERIES_CACHE); }
    /// ```
    pub fn cached_series(&self) -> usize {
        self.series.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn evict_oldest(cache: &mut HashMap<SeriesKey, Series>) {
    // Expired series first; else the least recently seen one.
    cache.retain(|_, s| s.last.elapsed() < SERIES_WINDOW);
    if cache.len() >= SERIES_CACHE {
        if let Some(oldest) = cache
            .iter()
            .min_by_key(|(_, s)| s.last)
            .map(|(k, _)| k.clone())
        {
            cache.remove(&oldest);
        }
    }
}

/// client-go's Event name: `<name>.<hex unix nanoseconds>`, strictly increasing within the
/// process; the name part is cut so the whole stays a valid object name (≤ 253 bytes).
pub(crate) fn event_name(regarding: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mut prev = LAST.load(Ordering::SeqCst);
    let unique = loop {
        let next = now.max(prev + 1);
        match LAST.compare_exchange(prev, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => break next,
            Err(actual) => prev = actual,
        }
    };
    let suffix = format!(".{unique:x}");
    format!("{}{suffix}", truncate(regarding, 253 - suffix.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid() {
        let a = event_name("web");
        let b = event_name("web");
        assert_ne!(a, b);
        assert!(a.starts_with("web."));
        assert!(u64::from_str_radix(&a[4..], 16).is_ok());
        let long = event_name(&"x".repeat(300));
        assert!(long.len() <= 253);
    }

    #[test]
    fn truncation_never_splits_a_character() {
        for text in [
            "é".repeat(600),
            "日本".repeat(400),
            "🦀".repeat(300),
            "a".repeat(2000),
        ] {
            for max in [0, 1, 2, 3, 1023, 1024, 1025] {
                let cut = truncate(&text, max);
                assert!(cut.len() <= max);
                assert!(text.starts_with(cut));
            }
        }
    }
}
