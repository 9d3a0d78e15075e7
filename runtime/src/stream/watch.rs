//! Watches: a long-lived response of newline-delimited JSON events, decoded one at a time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::de::{DeserializeOwned, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::status::{excerpt, reason_for_code, Status};
use crate::error::{Error, Result};
use crate::stream::meta_tap::{Str, Tap, TapSeed};
use crate::stream::splitter::{BodyLine, BodyLines};

pub(crate) use crate::stream::splitter::ClassifyTransport;

/// Longest single event accepted (etcd caps objects at 1.5 MiB; JSON framing adds little).
pub(crate) const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// The annotation on the bookmark that ends the initial events of a streaming list.
pub(crate) const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// One event of a watch.
///
/// An `ERROR` event (for example 410 `Expired` when the `resourceVersion` is too old) arrives as
/// `Err(Error::Api(status))` in the stream, so `err.is_gone()` tells you to re-list.
///
/// ```
/// let event: incluster::WatchEvent<serde_json::Value> =
///     serde_json::from_str(r#"{"type":"ADDED","object":{"kind":"ConfigMap"}}"#)?;
/// assert!(matches!(event, incluster::WatchEvent::Added(_)));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", content = "object", rename_all = "UPPERCASE")]
pub enum WatchEvent<T> {
    /// An object was created (or existed when the watch started without a `resourceVersion`).
    Added(T),
    /// An object changed.
    Modified(T),
    /// An object was deleted; this is its last state.
    Deleted(T),
    /// A progress marker (`allowWatchBookmarks=true`): resume from its `resourceVersion`.
    Bookmark(Bookmark),
}

/// The object of a `BOOKMARK` event.
///
/// ```
/// let b: incluster::Bookmark = serde_json::from_str(r#"{"metadata":{"resourceVersion":"42"}}"#)?;
/// assert_eq!(b.resource_version(), "42");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Bookmark {
    metadata: BookmarkMeta,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct BookmarkMeta {
    #[serde(rename = "resourceVersion", default)]
    resource_version: String,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

impl Bookmark {
    /// The `resourceVersion` to resume the watch from.
    ///
    /// ```
    /// # let b: incluster::Bookmark = serde_json::from_str(r#"{"metadata":{"resourceVersion":"7"}}"#).unwrap();
    /// assert_eq!(b.resource_version(), "7");
    /// ```
    pub fn resource_version(&self) -> &str {
        &self.metadata.resource_version
    }

    /// Whether this bookmark ends the initial events of a streaming list (`sendInitialEvents=true`):
    /// it carries the annotation `k8s.io/initial-events-end: "true"`.
    ///
    /// ```
    /// let b: incluster::Bookmark = serde_json::from_str(
    ///     r#"{"metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":"true"}}}"#,
    /// )?;
    /// assert!(b.is_initial_events_end());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn is_initial_events_end(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(INITIAL_EVENTS_END))
            .is_some_and(|v| v == "true")
    }
}

/// The events of a watch, as a `Stream`. It ends when the server ends the watch (at
/// `timeoutSeconds`, or after a few minutes by default); start a new one from the last
/// `resourceVersion` you saw. For a watch that never ends, resumes by itself and re-lists after
/// `410 Gone`, use the `watcher` feature's `Watcher`.
///
/// One event may be at most 16 MiB; a longer line ends the stream with [`Error::Decode`].
///
/// ```no_run
/// use futures::StreamExt;
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
///     .path_param("namespace", "default")
///     .query("watch", &true)
///     .build()?;
/// let mut events = client.watch::<serde_json::Value>(request).await?;
/// while let Some(event) = events.next().await {
///     println!("{:?}", event?);
/// }
/// # Ok(()) }
/// ```
pub struct WatchStream<T> {
    body: BodyLines,
    request: String,
    /// Whether the stream was stopped by an event over the size limit.
    oversized: bool,
    /// Whether objects are decoded without `metadata.managedFields` (the watcher's default).
    drop_managed_fields: bool,
    /// Bytes of every line read so far, as they came off the wire (without their newlines).
    line_bytes: u64,
    /// The stream stops once `line_bytes` passes this (`u64::MAX`: never).
    line_limit: u64,
    /// Whether the stream was stopped at `line_limit`.
    stopped_at_limit: bool,
    /// What the one pass saw of the last event's object: its metadata, for
    /// [`meta`](Self::meta), in buffers reused from one event to the next (no allocation per
    /// event).
    tap: Tap,
    _item: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for WatchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream")
            .field("request", &self.request)
            .finish()
    }
}

impl<T: DeserializeOwned> WatchStream<T> {
    pub(crate) fn new(
        response: reqwest::Response,
        request: String,
        transport_error: ClassifyTransport,
    ) -> WatchStream<T> {
        WatchStream::from_body(
            BodyLines::new(response, MAX_EVENT_BYTES, transport_error),
            request,
        )
    }

    pub(crate) fn from_chunks(chunks: Vec<bytes::Bytes>) -> WatchStream<T> {
        let bytes = futures_util::stream::iter(chunks.into_iter().map(Ok));
        WatchStream::from_body(
            BodyLines::from_stream(
                Box::pin(bytes),
                MAX_EVENT_BYTES,
                Box::new(|_| unreachable!("in-memory chunks do not fail")),
            ),
            "in-memory watch".to_string(),
        )
    }

    pub(crate) fn from_body(body: BodyLines, request: String) -> WatchStream<T> {
        WatchStream {
            body,
            request,
            oversized: false,
            drop_managed_fields: false,
            line_bytes: 0,
            line_limit: u64::MAX,
            stopped_at_limit: false,
            tap: Tap::default(),
            _item: PhantomData,
        }
    }

    /// Decodes objects without `metadata.managedFields` (skipped unread) where the one-pass
    /// decoder sees the metadata: what a [`Watcher`](crate::Watcher) asks for by default.
    #[cfg(feature = "watcher")]
    pub(crate) fn dropping_managed_fields(mut self, on: bool) -> WatchStream<T> {
        self.drop_managed_fields = on;
        self
    }

    /// Whether an event over the size limit stopped the stream (resuming from the same
    /// `resourceVersion` would meet it again).
    #[cfg(feature = "watcher")]
    pub(crate) fn stopped_by_oversized_event(&self) -> bool {
        self.oversized
    }

    /// Stops the stream once the lines it has read since it started (events as they came off the
    /// wire, blank lines included, newlines not) pass `limit` bytes in all: the poll that reads
    /// the line passing it yields [`Error::Protocol`] instead of its event, and the stream ends.
    /// `u64::MAX` lifts the limit. A [`Watcher`](crate::Watcher) holds a streaming list's initial
    /// events to the client's response limit this way, and lifts it at the initial-events-end
    /// bookmark. The cost is an addition and a comparison per line: no clock, no allocation.
    #[cfg(any(test, feature = "watcher"))]
    pub(crate) fn set_line_limit(&mut self, limit: u64) {
        self.line_limit = limit;
    }

    /// Whether the stream was stopped by [`set_line_limit`](Self::set_line_limit)'s limit.
    #[cfg(any(test, feature = "watcher"))]
    pub(crate) fn stopped_at_line_limit(&self) -> bool {
        self.stopped_at_limit
    }

    /// The next line's event, its object's metadata in [`meta`](Self::meta) (for the watcher).
    #[cfg(any(test, feature = "watcher"))]
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<WatchEvent<T>>>> {
        self.poll_decoded(cx, true)
    }

    /// The metadata of the object of the event [`poll_event`](Self::poll_event) returned last
    /// (a bookmark's: its `resourceVersion` alone). Meaningful only after an `Ok` event: after an
    /// error it may hold part of the object that failed.
    #[cfg(any(test, feature = "watcher"))]
    pub(crate) fn meta(&self) -> &ObjectMeta {
        &self.tap.meta
    }

    /// The next line's event; its object's metadata in `self.tap` only if `want_meta`.
    fn poll_decoded(
        &mut self,
        cx: &mut Context<'_>,
        want_meta: bool,
    ) -> Poll<Option<Result<WatchEvent<T>>>> {
        loop {
            let line = match std::task::ready!(self.body.poll_line(cx)) {
                None => return Poll::Ready(None),
                Some(BodyLine::Line(line)) => line,
                Some(BodyLine::TooLong) => return Poll::Ready(Some(Err(self.stop_oversized()))),
                Some(BodyLine::Failed(err)) => return Poll::Ready(Some(Err(err))),
            };
            self.line_bytes = self.line_bytes.saturating_add(line.len() as u64);
            if self.line_bytes > self.line_limit {
                return Poll::Ready(Some(Err(self.stop_at_line_limit())));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let options = Decoding {
                want_meta,
                drop_managed_fields: self.drop_managed_fields,
            };
            return Poll::Ready(Some(decode(&line, &self.request, options, &mut self.tap)));
        }
    }
}

impl<T> WatchStream<T> {
    /// Stops the stream at its line limit: the error to yield.
    #[cold]
    #[inline(never)]
    fn stop_at_line_limit(&mut self) -> Error {
        self.body.stop();
        self.stopped_at_limit = true;
        Error::Protocol {
            request: self.request.clone(),
            message: format!(
                "its events passed {} bytes, the most this watch reads; the watch was stopped",
                self.line_limit
            ),
        }
    }

    /// Stops the stream at an event over the size limit: the error that says so.
    #[cold]
    #[inline(never)]
    fn stop_oversized(&mut self) -> Error {
        let error = Error::decode(
            &self.request,
            "WatchEvent",
            format!("one event is larger than {MAX_EVENT_BYTES} bytes; the watch was stopped"),
            self.body.pending_bytes(),
        );
        self.body.stop();
        self.oversized = true;
        error
    }
}

impl<T: DeserializeOwned> Stream for WatchStream<T> {
    type Item = Result<WatchEvent<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // A plain watch does not need the metadata: one pass less.
        self.poll_decoded(cx, false)
    }
}

/// The metadata of an event's object that the watcher needs, read without a trait on `T`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectMeta {
    pub(crate) resource_version: String,
    pub(crate) namespace: String,
    pub(crate) name: String,
}

impl ObjectMeta {
    /// Empties the three fields, keeping their buffers for the next object.
    pub(crate) fn clear(&mut self) {
        self.resource_version.clear();
        self.namespace.clear();
        self.name.clear();
    }

    /// A bookmark's metadata: its `resourceVersion` alone.
    fn set_bookmark(&mut self, bookmark: &Bookmark) {
        self.clear();
        self.resource_version.push_str(bookmark.resource_version());
    }
}

/// A watch line, split into its type and the raw text of its object (validated, not decoded).
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    /// Absent from some `ERROR` events.
    #[serde(borrow, default)]
    object: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct MetaOnly<'a> {
    #[serde(borrow, default)]
    metadata: MetaFields<'a>,
}

#[derive(Deserialize, Default)]
struct MetaFields<'a> {
    #[serde(rename = "resourceVersion", borrow, default)]
    resource_version: Cow<'a, str>,
    #[serde(borrow, default)]
    namespace: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

/// [`read_object_meta`] into a new `ObjectMeta` (the tests' separate pass).
#[cfg(test)]
pub(crate) fn object_meta(object: &str) -> serde_json::Result<ObjectMeta> {
    let mut meta = ObjectMeta::default();
    read_object_meta(object, &mut meta)?;
    Ok(meta)
}

/// Reads `metadata.{resourceVersion,namespace,name}` of an object's JSON text into `meta`'s
/// buffers, skipping the rest.
pub(crate) fn read_object_meta(object: &str, meta: &mut ObjectMeta) -> serde_json::Result<()> {
    let MetaOnly { metadata } = serde_json::from_str(object)?;
    meta.clear();
    meta.resource_version.push_str(&metadata.resource_version);
    meta.namespace.push_str(&metadata.namespace);
    meta.name.push_str(&metadata.name);
    Ok(())
}

/// Decodes one line: an event and its object's metadata, or the `Status` of an `ERROR` event.
#[cfg(test)]
pub(crate) fn decode_event<T: DeserializeOwned>(
    line: &[u8],
    request: &str,
) -> Result<(WatchEvent<T>, ObjectMeta)> {
    let options = Decoding {
        want_meta: true,
        drop_managed_fields: false,
    };
    let mut tap = Tap::default();
    let event = decode(line, request, options, &mut tap)?;
    Ok((event, tap.meta))
}

/// Decodes one line in one pass when it is the usual shape (`type` first, then an object of an
/// `ADDED`/`MODIFIED`/`DELETED`/`BOOKMARK` event); anything else (an `ERROR` event, a line that
/// does not decode, an object the pass could not see whole) is decoded again by
/// [`decode_two_pass`], which also words the errors. The object's metadata goes into
/// `tap.meta` when `options.want_meta` (a bookmark's `resourceVersion` always does).
fn decode<T: DeserializeOwned>(
    line: &[u8],
    request: &str,
    options: Decoding,
    tap: &mut Tap,
) -> Result<WatchEvent<T>> {
    let mut de = serde_json::Deserializer::from_slice(line);
    let seed = OnePass::<T> {
        options,
        tap: &mut *tap,
        _object: PhantomData,
    };
    match seed
        .deserialize(&mut de)
        .and_then(|event| de.end().map(|()| event))
    {
        Ok(Some(event)) => Ok(event),
        Ok(None) | Err(_) => decode_two_pass(line, request, options, &mut tap.meta),
    }
}

/// How a line's object is decoded.
#[derive(Debug, Clone, Copy, Default)]
struct Decoding {
    /// Whether the object's key (name, namespace, resourceVersion) is wanted.
    want_meta: bool,
    /// Whether `metadata.managedFields` is skipped unread.
    drop_managed_fields: bool,
}

/// One watch line in one pass: `Some` when it was seen whole (see [`decode`]).
struct OnePass<'m, T> {
    options: Decoding,
    /// What the pass sees of the object (its metadata in `tap.meta`).
    tap: &'m mut Tap,
    _object: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for OnePass<'_, T> {
    type Value = Option<WatchEvent<T>>;

    fn deserialize<D: Deserializer<'de>>(
        self,
        de: D,
    ) -> std::result::Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for OnePass<'_, T> {
    type Value = Option<WatchEvent<T>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a watch event")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        // Keys and the type borrowed from the line (`Str`): no allocation for either.
        let mut kind: Option<Str<'de>> = None;
        let mut object: Option<Decoded<T>> = None;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            match &*key {
                "type" if kind.is_none() => kind = Some(map.next_value()?),
                "object" if object.is_none() => {
                    // kube-apiserver writes `type` first; when `object` comes first it is read
                    // as `T`, the usual case, and a bookmark is left to the slower pass.
                    if kind.as_ref().is_some_and(|Str(kind)| kind == "BOOKMARK") {
                        object = Some(Decoded::Bookmark(next_bookmark(&mut map)?));
                        continue;
                    }
                    let Decoding {
                        want_meta,
                        drop_managed_fields,
                    } = self.options;
                    self.tap.start(want_meta, drop_managed_fields);
                    let value = map.next_value_seed(TapSeed::<T> {
                        tap: &mut *self.tap,
                        _object: PhantomData,
                    })?;
                    if !self.tap.complete() {
                        return Ok(None);
                    }
                    object = Some(Decoded::Object(value));
                }
                // A duplicate: the slower pass words the error.
                "type" | "object" => return Ok(None),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let (Some(Str(kind)), Some(object)) = (kind, object) else {
            return Ok(None);
        };
        Ok(Some(match (&*kind, object) {
            ("ADDED", Decoded::Object(value)) => WatchEvent::Added(value),
            ("MODIFIED", Decoded::Object(value)) => WatchEvent::Modified(value),
            ("DELETED", Decoded::Object(value)) => WatchEvent::Deleted(value),
            ("BOOKMARK", Decoded::Bookmark(bookmark)) => {
                self.tap.meta.set_bookmark(&bookmark);
                WatchEvent::Bookmark(bookmark)
            }
            // `ERROR`, an unknown type, a bookmark read as `T`.
            _ => return Ok(None),
        }))
    }
}

/// A bookmark's object (one event in thousands: out of the one pass's loop).
#[cold]
#[inline(never)]
fn next_bookmark<'de, A: MapAccess<'de>>(map: &mut A) -> std::result::Result<Bookmark, A::Error> {
    map.next_value()
}

/// An event's object as the one pass read it.
enum Decoded<T> {
    Object(T),
    Bookmark(Bookmark),
}

/// The envelope and the object decoded apart (and the key in a third pass): every line the one
/// pass does not take, with the errors worded for the user. (Out of line: the one pass's loop
/// stays small enough to share the instruction cache with `T`'s decoding.)
#[cold]
#[inline(never)]
fn decode_two_pass<T: DeserializeOwned>(
    line: &[u8],
    request: &str,
    options: Decoding,
    meta: &mut ObjectMeta,
) -> Result<WatchEvent<T>> {
    let Decoding {
        want_meta,
        drop_managed_fields,
    } = options;
    let decode_error = |type_name: &'static str, err: serde_json::Error| {
        Error::decode(request, type_name, err, line)
    };
    let envelope: Envelope<'_> = serde_json::from_slice(line)
        .map_err(|err| decode_error(std::any::type_name::<WatchEvent<T>>(), err))?;
    let object = match (envelope.object, &*envelope.kind) {
        (Some(object), _) => object.get(),
        // An `ERROR` event without its Status is still an error from the server.
        (None, "ERROR") => "{}",
        (None, _) => {
            return Err(Error::decode(
                request,
                std::any::type_name::<WatchEvent<T>>(),
                "the event has no object",
                line,
            ))
        }
    };
    let decode_object = || -> Result<T> {
        crate::stream::meta_tap::decode_object(object, drop_managed_fields)
            .map_err(|err| decode_error(std::any::type_name::<T>(), err))
    };
    let event = match &*envelope.kind {
        "ADDED" => WatchEvent::Added(decode_object()?),
        "MODIFIED" => WatchEvent::Modified(decode_object()?),
        "DELETED" => WatchEvent::Deleted(decode_object()?),
        "BOOKMARK" => {
            let bookmark: Bookmark =
                serde_json::from_str(object).map_err(|err| decode_error("Bookmark", err))?;
            meta.set_bookmark(&bookmark);
            return Ok(WatchEvent::Bookmark(bookmark));
        }
        "ERROR" => {
            let mut status: Status = serde_json::from_str(object).unwrap_or_default();
            if !(400..=599).contains(&status.code) {
                // Missing, or not an error code: the server still reported a failure.
                status.code = 500;
            }
            if status.reason.is_empty() {
                status.reason = reason_for_code(status.code).to_string();
            }
            if status.message.is_empty() {
                status.message = format!("the watch ended with an ERROR event: {}", excerpt(line));
            }
            return Err(Error::Api(Box::new(status)));
        }
        other => {
            return Err(Error::decode(
                request,
                std::any::type_name::<WatchEvent<T>>(),
                format!("unknown watch event type {other:?}"),
                line,
            ))
        }
    };
    if want_meta {
        read_object_meta(object, meta).map_err(|err| decode_error("ObjectMeta", err))?;
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::decode`] with the metadata in a fresh `ObjectMeta`, beside the event.
    fn decode<T: DeserializeOwned>(
        line: &[u8],
        request: &str,
        options: Decoding,
    ) -> Result<(WatchEvent<T>, ObjectMeta)> {
        let mut tap = Tap::default();
        super::decode(line, request, options, &mut tap).map(|event| (event, tap.meta))
    }

    /// [`super::decode_two_pass`] with the metadata in a fresh `ObjectMeta`, beside the event.
    fn decode_two_pass<T: DeserializeOwned>(
        line: &[u8],
        request: &str,
        options: Decoding,
    ) -> Result<(WatchEvent<T>, ObjectMeta)> {
        let mut meta = ObjectMeta::default();
        super::decode_two_pass(line, request, options, &mut meta).map(|event| (event, meta))
    }

    /// An event with its object's metadata, as the tests compare them.
    type MetaEvent<T> = (WatchEvent<T>, ObjectMeta);

    /// The stream's next event with a copy of its metadata (as the stream has reused its buffers).
    fn poll_with_meta<T: DeserializeOwned>(
        stream: &mut WatchStream<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<MetaEvent<T>>>> {
        stream
            .poll_event(cx)
            .map(|item| item.map(|result| result.map(|event| (event, stream.meta().clone()))))
    }

    fn keep(want_meta: bool) -> Decoding {
        Decoding {
            want_meta,
            drop_managed_fields: false,
        }
    }

    /// The watcher's decoding: the key, and no `metadata.managedFields`.
    const DROPPING: Decoding = Decoding {
        want_meta: true,
        drop_managed_fields: true,
    };

    #[test]
    fn a_type_that_requires_managed_fields_fails_rather_than_getting_them_by_the_slower_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Strict {
            #[allow(dead_code)]
            metadata: StrictMeta,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct StrictMeta {
            #[allow(dead_code)]
            managed_fields: Vec<serde_json::Value>,
        }
        let line = br#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"9","managedFields":[{"manager":"m"}]}}}"#;
        let err = decode::<Strict>(line, "GET /x", DROPPING).unwrap_err();
        assert!(err.to_string().contains("managedFields"), "{err}");
        assert!(decode::<Strict>(line, "GET /x", keep(true)).is_ok());
        // The slower path alone drops them too.
        let (event, _) = decode_two_pass::<serde_json::Value>(line, "GET /x", DROPPING).unwrap();
        let WatchEvent::Added(object) = event else {
            panic!("{event:?}")
        };
        assert!(
            object["metadata"].get("managedFields").is_none(),
            "{object}"
        );
    }

    #[test]
    fn a_stream_that_drops_managed_fields_decodes_events_without_them() {
        let line = br#"{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"9","managedFields":[{"manager":"m"}]}}}"#;
        let (event, meta) = decode::<serde_json::Value>(line, "GET /x", DROPPING).unwrap();
        let WatchEvent::Modified(object) = event else {
            panic!("{event:?}")
        };
        assert!(
            object["metadata"].get("managedFields").is_none(),
            "{object}"
        );
        assert_eq!((&*meta.name, &*meta.resource_version), ("a", "9"));
        let (event, _) = decode::<serde_json::Value>(line, "GET /x", keep(true)).unwrap();
        let WatchEvent::Modified(object) = event else {
            panic!("{event:?}")
        };
        assert_eq!(object["metadata"]["managedFields"][0]["manager"], "m");
    }

    #[test]
    fn error_events_are_api_errors() {
        let line = br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}"#;
        let err = decode_event::<serde_json::Value>(line, "GET /x")
            .map(|(e, _)| e)
            .unwrap_err();
        assert!(err.is_gone(), "{err:?}");
        assert_eq!(err.status().unwrap().message, "too old resource version");
    }

    #[test]
    fn error_events_without_an_object_are_still_api_errors() {
        for line in [
            &br#"{"type":"ERROR"}"#[..],
            br#"{"type":"ERROR","object":null}"#,
            br#"{"type":"ERROR","object":"boom"}"#,
            br#"{"type":"ERROR","object":{"code":200}}"#,
        ] {
            let err = decode_event::<serde_json::Value>(line, "GET /x")
                .map(|(e, _)| e)
                .unwrap_err();
            assert_eq!(err.status().map(|s| s.code), Some(500), "{err:?}");
        }
        let err = decode_event::<serde_json::Value>(br#"{"type":"ADDED"}"#, "GET /x").unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }

    #[test]
    fn bookmarks_and_objects() {
        let (event, meta): (WatchEvent<serde_json::Value>, _) =
            decode_event(br#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"12"}}}"#, "GET /x").unwrap();
        assert_eq!(meta.resource_version, "12");
        assert!(matches!(event, WatchEvent::Bookmark(b) if b.resource_version() == "12"));
        let err = decode_event::<u32>(
            br#"{"type":"ADDED","object":{"kind":"ConfigMap"}}"#,
            "GET /x",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }

    mod chunking {
        use super::super::*;
        use super::{decode, decode_two_pass, keep, poll_with_meta};
        use futures::StreamExt;
        use proptest::prelude::*;

        #[derive(Debug, Clone, PartialEq, Deserialize)]
        struct Item {
            metadata: serde_json::Value,
            data: Option<BTreeMap<String, String>>,
        }

        fn event_line() -> impl Strategy<Value = String> {
            let name = "[a-z0-9-]{1,20}";
            let text = "\\PC{0,40}";
            prop_oneof![
                (prop::sample::select(vec!["ADDED", "MODIFIED", "DELETED"]), name, 1u64..1_000_000, prop::collection::btree_map(name, text, 0..4))
                    .prop_map(|(kind, name, rv, data)| serde_json::json!({
                        "type": kind,
                        "object": {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv.to_string()}, "data": data}
                    }).to_string()),
                (1u64..1_000_000, any::<bool>()).prop_map(|(rv, end)| {
                    let annotations = if end { serde_json::json!({INITIAL_EVENTS_END: "true"}) } else { serde_json::json!({}) };
                    serde_json::json!({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": rv.to_string(), "annotations": annotations}}}).to_string()
                }),
                (400u16..600, text).prop_map(|(code, message)| serde_json::json!({
                    "type": "ERROR", "object": {"kind": "Status", "code": code, "message": message}
                }).to_string()),
                Just("  ".to_string()),
                "\\PC{0,30}",
            ]
        }

        /// What a test compares: the event (or the error's text) and the metadata.
        fn outcome(item: Result<(WatchEvent<Item>, ObjectMeta)>) -> String {
            match item {
                Ok(ok) => format!("{ok:?}"),
                Err(err) => format!("error: {err}"),
            }
        }

        fn decode_chunked(body: &[u8], cuts: &[usize]) -> Vec<String> {
            let mut chunks = Vec::new();
            let mut start = 0;
            for &cut in cuts {
                let cut = cut % (body.len() + 1);
                if cut > start {
                    chunks.push(Ok(bytes::Bytes::copy_from_slice(&body[start..cut])));
                    start = cut;
                }
            }
            chunks.push(Ok(bytes::Bytes::copy_from_slice(&body[start..])));
            let body = BodyLines::from_stream(
                Box::pin(futures::stream::iter(chunks)),
                MAX_EVENT_BYTES,
                Box::new(|_| unreachable!()),
            );
            let mut stream = WatchStream::<Item>::from_body(body, "GET /x".into());
            futures::executor::block_on(async {
                let mut out = Vec::new();
                while let Some(item) =
                    futures::future::poll_fn(|cx| poll_with_meta(&mut stream, cx)).await
                {
                    out.push(outcome(item));
                }
                out
            })
        }

        proptest! {
            #[test]
            fn any_chunking_gives_the_events_of_one_shot_decoding(
                lines in prop::collection::vec(event_line(), 0..30),
                mut cuts in prop::collection::vec(any::<usize>(), 0..40),
            ) {
                let body = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
                let expected: Vec<String> = lines
                    .iter()
                    .filter(|l| !l.bytes().all(|b| b.is_ascii_whitespace()))
                    .map(|l| outcome(decode_event::<Item>(l.as_bytes(), "GET /x")))
                    .collect();
                cuts.sort_unstable_by_key(|c| c % (body.len() + 1));
                prop_assert_eq!(decode_chunked(body.as_bytes(), &cuts), expected);
            }

            #[test]
            fn one_pass_decodes_every_line_as_the_separate_passes_do(
                line in event_line(),
                want_meta in any::<bool>(),
                object_first in any::<bool>(),
            ) {
                // Also with `object` before `type` (the one pass leaves that to the other).
                let line = match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(serde_json::Value::Object(map)) if object_first => {
                        let mut swapped = serde_json::Map::new();
                        for key in ["object", "type"] {
                            if let Some(value) = map.get(key) {
                                swapped.insert(key.to_string(), value.clone());
                            }
                        }
                        serde_json::Value::Object(swapped).to_string()
                    }
                    _ => line,
                };
                let line = line.as_bytes();
                prop_assert_eq!(
                    outcome(decode::<Item>(line, "GET /x", keep(want_meta))),
                    outcome(decode_two_pass::<Item>(line, "GET /x", keep(want_meta)))
                );
                let value = |r: Result<(WatchEvent<serde_json::Value>, ObjectMeta)>| match r {
                    Ok(ok) => format!("{ok:?}"),
                    Err(err) => format!("error: {err}"),
                };
                prop_assert_eq!(
                    value(decode(line, "GET /x", keep(want_meta))),
                    value(decode_two_pass(line, "GET /x", keep(want_meta)))
                );
            }

            #[test]
            fn arbitrary_bytes_never_panic(
                body in prop::collection::vec(any::<u8>(), 0..2048),
                mut cuts in prop::collection::vec(any::<usize>(), 0..20),
            ) {
                cuts.sort_unstable_by_key(|c| c % (body.len() + 1));
                let _ = decode_chunked(&body, &cuts);
            }
        }

        #[test]
        fn an_event_over_the_limit_ends_the_stream_with_a_clear_error() {
            let body = BodyLines::from_stream(
                Box::pin(futures::stream::iter(vec![
                    Ok(bytes::Bytes::from_static(b"{\"type\":\"ADDED\",")),
                    Ok(bytes::Bytes::from_static(b"\"object\":{}}\n{}\n")),
                ])),
                10,
                Box::new(|_| unreachable!()),
            );
            let events: Vec<_> = futures::executor::block_on(
                WatchStream::<Item>::from_body(body, "GET /x".into()).collect(),
            );
            let [Err(err)] = &events[..] else {
                panic!("{events:?}")
            };
            assert!(err.to_string().contains("larger than"), "{err}");
            assert!(err.to_string().contains("the watch was stopped"), "{err}");
        }

        #[test]
        fn a_line_limit_stops_the_stream_at_the_line_that_passes_it() {
            let line = |name: &str| {
                format!(r#"{{"type":"ADDED","object":{{"metadata":{{"name":"{name}"}}}}}}"#)
            };
            let len = line("a").len() as u64;
            // Two events and a blank line fit; the third event passes the limit.
            let body = format!(
                "{}\n   \n{}\n{}\n{}\n",
                line("a"),
                line("b"),
                line("c"),
                line("d")
            );
            let stream = |limit: u64| {
                let body = BodyLines::from_stream(
                    Box::pin(futures::stream::iter([Ok(bytes::Bytes::from(
                        body.clone(),
                    ))])),
                    MAX_EVENT_BYTES,
                    Box::new(|_| unreachable!()),
                );
                let mut stream = WatchStream::<Item>::from_body(body, "GET /x".into());
                stream.set_line_limit(limit);
                stream
            };
            let names = |stream: &mut WatchStream<Item>| {
                futures::executor::block_on(async {
                    let mut out = Vec::new();
                    while let Some(item) =
                        futures::future::poll_fn(|cx| poll_with_meta(stream, cx)).await
                    {
                        out.push(match item {
                            Ok((_, meta)) => meta.name,
                            Err(Error::Protocol { .. }) => "protocol".to_string(),
                            Err(err) => format!("{err}"),
                        });
                    }
                    out
                })
            };
            let mut limited = stream(2 * len + 3);
            assert_eq!(names(&mut limited), ["a", "b", "protocol"]);
            assert!(limited.stopped_at_line_limit());
            // Exactly at the limit is not past it.
            let mut exact = stream(3 * len + 3);
            assert_eq!(names(&mut exact), ["a", "b", "c", "protocol"]);
            let mut unlimited = stream(u64::MAX);
            assert_eq!(names(&mut unlimited), ["a", "b", "c", "d"]);
            assert!(!unlimited.stopped_at_line_limit());
            // Lifted on the way (as a watcher does at its initial-events-end bookmark).
            let mut lifted = stream(len);
            let first = futures::executor::block_on(futures::future::poll_fn(|cx| {
                poll_with_meta(&mut lifted, cx)
            }));
            assert!(matches!(first, Some(Ok((_, meta))) if meta.name == "a"));
            lifted.set_line_limit(u64::MAX);
            assert_eq!(names(&mut lifted), ["b", "c", "d"]);
        }

        #[test]
        fn odd_but_valid_lines_decode_as_before() {
            for line in [
                &br#"{"type":"ADDED","object":null}"#[..],
                br#"{"type":"ADDED","object":"text"}"#,
                br#"{"type":"ADDED","object":{"metadata":{"name":"a"}},"object":{}}"#,
                br#"{"type":"ADDED","type":"DELETED","object":{}}"#,
                br#"{"type":"ADDED","extra":[1],"object":{"metadata":{"name":"a\u0062"}},"more":{}}"#,
                br#"{"type":"ADDED","object":{"metadata":{"name":"a","name":"b"}}}"#,
                br#"{"type":"ADDED","object":{"metadata":null}}"#,
                br#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"5"}}}"#,
                br#"{"type":"ADDED","object":{}} trailing"#,
            ] {
                for want_meta in [false, true] {
                    let one = decode::<serde_json::Value>(line, "GET /x", keep(want_meta));
                    let two = decode_two_pass::<serde_json::Value>(line, "GET /x", keep(want_meta));
                    assert_eq!(format!("{one:?}"), format!("{two:?}"), "{}", String::from_utf8_lossy(line));
                }
            }
        }

        #[test]
        fn the_plain_stream_yields_the_same_events() {
            let line =
                br#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"3"}}}"#;
            let body = BodyLines::from_stream(
                Box::pin(futures::stream::iter(vec![Ok(bytes::Bytes::from_static(
                    line,
                ))])),
                MAX_EVENT_BYTES,
                Box::new(|_| unreachable!()),
            );
            let events: Vec<_> = futures::executor::block_on(
                WatchStream::<Item>::from_body(body, "GET /x".into()).collect(),
            );
            assert!(
                matches!(&events[..], [Ok(WatchEvent::Added(item))] if item.metadata["name"] == "a")
            );
        }
    }
}
