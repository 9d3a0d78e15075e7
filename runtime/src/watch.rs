//! Watches: a long-lived response of newline-delimited JSON events, decoded one at a time.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::status::{reason_for_code, Status};

/// Longest single event accepted (etcd caps objects at 1.5 MiB; JSON framing adds little).
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

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
}

/// The events of a watch, as a `Stream`. It ends when the server ends the watch (at
/// `timeoutSeconds`, or after a few minutes by default); start a new one from the last
/// `resourceVersion` you saw.
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
    inner: Pin<Box<dyn Stream<Item = Result<WatchEvent<T>>> + Send>>,
}

impl<T> std::fmt::Debug for WatchStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchStream")
    }
}

impl<T> Stream for WatchStream<T> {
    type Item = Result<WatchEvent<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// What can go wrong reading the body, turned into an [`Error`] by the client.
pub(crate) type ClassifyTransport = Box<dyn Fn(reqwest::Error) -> Error + Send + Sync>;

struct Reader {
    bytes: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: Vec<u8>,
    done: bool,
    request: String,
    transport_error: ClassifyTransport,
}

impl<T: DeserializeOwned + Send + 'static> WatchStream<T> {
    pub(crate) fn new(
        response: reqwest::Response,
        request: String,
        transport_error: ClassifyTransport,
    ) -> WatchStream<T> {
        let reader = Reader {
            bytes: Box::pin(response.bytes_stream()),
            buffer: Vec::new(),
            done: false,
            request,
            transport_error,
        };
        let inner = futures::stream::unfold(reader, |mut reader| async move {
            let item = reader.next_event::<T>().await?;
            Some((item, reader))
        });
        WatchStream {
            inner: Box::pin(inner),
        }
    }
}

impl Reader {
    async fn next_event<T: DeserializeOwned>(&mut self) -> Option<Result<WatchEvent<T>>> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(decode_event(&line, &self.request));
            }
            if self.done {
                if self.buffer.iter().all(u8::is_ascii_whitespace) {
                    return None;
                }
                let rest = std::mem::take(&mut self.buffer);
                return Some(decode_event(&rest, &self.request));
            }
            match self.bytes.next().await {
                Some(Ok(chunk)) => {
                    self.buffer.extend_from_slice(&chunk);
                    if self.buffer.len() > MAX_EVENT_BYTES {
                        self.done = true;
                        let error = Error::decode(
                            &self.request,
                            "WatchEvent",
                            format!("one event is larger than {MAX_EVENT_BYTES} bytes; the watch was stopped"),
                            &self.buffer,
                        );
                        self.buffer.clear();
                        return Some(Err(error));
                    }
                }
                Some(Err(err)) => {
                    self.done = true;
                    self.buffer.clear();
                    return Some(Err((self.transport_error)(err)));
                }
                None => self.done = true,
            }
        }
    }
}

/// Decodes one line: an event, or the `Status` of an `ERROR` event.
fn decode_event<T: DeserializeOwned>(line: &[u8], request: &str) -> Result<WatchEvent<T>> {
    #[derive(Deserialize)]
    struct ErrorEvent {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        object: Option<Status>,
    }
    if let Ok(ErrorEvent { kind, object }) = serde_json::from_slice::<ErrorEvent>(line) {
        if kind == "ERROR" {
            let mut status = object.unwrap_or_default();
            if status.code == 0 {
                status.code = 500;
            }
            if status.reason.is_empty() {
                status.reason = reason_for_code(status.code).to_string();
            }
            return Err(Error::Api(Box::new(status)));
        }
    }
    serde_json::from_slice(line)
        .map_err(|err| Error::decode(request, std::any::type_name::<WatchEvent<T>>(), err, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_events_are_api_errors() {
        let line = br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}"#;
        let err = decode_event::<serde_json::Value>(line, "GET /x").unwrap_err();
        assert!(err.is_gone(), "{err:?}");
        assert_eq!(err.status().unwrap().message, "too old resource version");
    }

    #[test]
    fn bookmarks_and_objects() {
        let event: WatchEvent<serde_json::Value> =
            decode_event(br#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"12"}}}"#, "GET /x").unwrap();
        assert!(matches!(event, WatchEvent::Bookmark(b) if b.resource_version() == "12"));
        let err = decode_event::<u32>(
            br#"{"type":"ADDED","object":{"kind":"ConfigMap"}}"#,
            "GET /x",
        )
        .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }));
    }
}
