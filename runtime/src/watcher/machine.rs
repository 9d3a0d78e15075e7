//! The watcher's state machine: list (streaming or paginated), watch, resume, re-list.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::backoff::Backoff;
use super::store::ObjectKey;
use super::{Event, Settings};
use crate::error::{Error, Result};
use crate::http::client::Client;
use crate::request::Request;
use crate::stream::list::fetch_page;
use crate::stream::watch::{ObjectMeta, WatchEvent, WatchStream};

/// Query parameters the watcher sets itself; any value in the user's LIST request is replaced.
const OWN_PARAMS: &[&str] = &[
    "watch",
    "resourceVersion",
    "resourceVersionMatch",
    "allowWatchBookmarks",
    "sendInitialEvents",
    "timeoutSeconds",
    "limit",
    "continue",
];

/// Extra time the client waits beyond `timeoutSeconds` before it gives a silent watch up.
const CLIENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

type Item<T> = Result<(Event<T>, ObjectKey)>;

/// A started watcher: the machine as a boxed stream.
pub(crate) struct Running<T> {
    stream: Pin<Box<dyn Stream<Item = Item<T>> + Send>>,
}

impl<T: DeserializeOwned + Send + 'static> Running<T> {
    pub(crate) fn start(client: Client, list: Request, settings: Settings) -> Running<T> {
        let list = OWN_PARAMS
            .iter()
            .fold(list, |request, name| request.without_query(name));
        let machine = Machine {
            client,
            list,
            streaming: settings.streaming_list,
            settings,
            phase: Phase::Relist,
            backoff: Backoff::default(),
            delay: None,
        };
        let stream = futures::stream::unfold(machine, |mut machine| async move {
            let item = machine.step().await;
            Some((item, machine))
        });
        Running {
            stream: Box::pin(stream),
        }
    }

    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Item<T>> {
        self.stream
            .poll_next_unpin(cx)
            .map(|item| item.expect("the watcher's machine never ends"))
    }
}

struct Machine<T> {
    client: Client,
    /// The user's LIST request without the parameters in `OWN_PARAMS`.
    list: Request,
    settings: Settings,
    /// Whether to try a streaming list (cleared for good when the server refuses one).
    streaming: bool,
    phase: Phase<T>,
    backoff: Backoff,
    /// Wait this long before the next attempt.
    delay: Option<Duration>,
}

enum Phase<T> {
    /// Start a (re)list.
    Relist,
    /// A paginated list is being read.
    Listing {
        items: VecDeque<Box<RawValue>>,
        continue_token: String,
        resource_version: String,
    },
    /// A streaming list is sending its initial events.
    StreamingInit { stream: WatchStream<T> },
    /// Start a watch from `resource_version`.
    Watch { resource_version: String },
    /// A watch is running; `resource_version` is the last one seen.
    Watching {
        stream: WatchStream<T>,
        resource_version: String,
        events: u64,
    },
}

impl<T: DeserializeOwned + Send + 'static> Machine<T> {
    /// Runs until there is something to tell the consumer.
    async fn step(&mut self) -> Item<T> {
        loop {
            if let Some(delay) = self.delay.take() {
                tokio::time::sleep(delay).await;
            }
            if matches!(self.phase, Phase::Relist) {
                crate::metrics::watcher_relist(self.list.template);
            }
            match std::mem::replace(&mut self.phase, Phase::Relist) {
                Phase::Relist if self.streaming => match self.open_streaming_list().await {
                    Ok(stream) => {
                        self.phase = Phase::StreamingInit { stream };
                        return Ok((Event::Init, ObjectKey::default()));
                    }
                    Err(err) if refuses_streaming_list(&err) => {
                        tracing::info!(request = %self.list, error = %err, "the server refused a streaming list (sendInitialEvents); falling back to list + watch");
                        self.streaming = false;
                    }
                    Err(err) => return self.fail(Phase::Relist, err),
                },
                Phase::Relist => {
                    let request = self.list_page_request();
                    match fetch_page::<Box<RawValue>>(&self.client, &request, "").await {
                        Ok(page) => {
                            tracing::debug!(request = %self.list, resource_version = %page.resource_version, items = page.items.len(), "watcher: list page");
                            self.phase = Phase::Listing {
                                items: page.items.into(),
                                continue_token: page.continue_token,
                                resource_version: page.resource_version,
                            };
                            return Ok((Event::Init, ObjectKey::default()));
                        }
                        Err(err) => return self.fail(Phase::Relist, err),
                    }
                }
                Phase::Listing {
                    mut items,
                    continue_token,
                    resource_version,
                } => {
                    if let Some(raw) = items.pop_front() {
                        self.phase = Phase::Listing {
                            items,
                            continue_token,
                            resource_version,
                        };
                        return self
                            .decode_listed(&raw)
                            .map(|(object, key)| (Event::InitApply(object), key));
                    }
                    if continue_token.is_empty() {
                        self.backoff.reset();
                        self.phase = Phase::Watch { resource_version };
                        return Ok((Event::InitDone, ObjectKey::default()));
                    }
                    let request = self.list_page_request();
                    match fetch_page::<Box<RawValue>>(&self.client, &request, &continue_token).await
                    {
                        Ok(page) => {
                            tracing::debug!(request = %self.list, items = page.items.len(), "watcher: list page");
                            self.phase = Phase::Listing {
                                items: page.items.into(),
                                continue_token: page.continue_token,
                                resource_version,
                            };
                        }
                        Err(err) if err.is_gone() => {
                            tracing::info!(request = %self.list, "watcher: the list's continue token expired (410); listing again");
                        }
                        Err(err) => {
                            let resume = Phase::Listing {
                                items,
                                continue_token,
                                resource_version,
                            };
                            return self.fail(resume, err);
                        }
                    }
                }
                Phase::StreamingInit { mut stream } => {
                    match futures::future::poll_fn(|cx| stream.poll_event(cx)).await {
                        Some(Ok((WatchEvent::Added(object), meta)))
                        | Some(Ok((WatchEvent::Modified(object), meta))) => {
                            self.phase = Phase::StreamingInit { stream };
                            return Ok((Event::InitApply(object), key(meta)));
                        }
                        Some(Ok((WatchEvent::Deleted(_), _))) => {
                            // Not sent during the initial events; nothing to take back yet.
                            self.phase = Phase::StreamingInit { stream };
                        }
                        Some(Ok((WatchEvent::Bookmark(bookmark), _))) => {
                            if bookmark.is_initial_events_end() {
                                tracing::debug!(request = %self.list, resource_version = %bookmark.resource_version(), "watcher: streaming list complete (initial-events-end bookmark)");
                                self.backoff.reset();
                                self.phase = Phase::Watching {
                                    stream,
                                    resource_version: bookmark.resource_version().to_string(),
                                    events: 1,
                                };
                                return Ok((Event::InitDone, ObjectKey::default()));
                            }
                            self.phase = Phase::StreamingInit { stream };
                        }
                        Some(Err(err)) if err.is_gone() => {
                            tracing::info!(request = %self.list, "watcher: streaming list expired (410); listing again");
                        }
                        Some(Err(err @ Error::Decode { .. })) => {
                            // One object that does not decode into `T`: say so, keep going.
                            self.phase = Phase::StreamingInit { stream };
                            return Err(err);
                        }
                        Some(Err(err)) => return self.fail(Phase::Relist, err),
                        None => {
                            // Ended before the initial events did (e.g. timeoutSeconds): start over.
                            tracing::debug!(request = %self.list, "watcher: streaming list ended before its initial-events-end bookmark; listing again");
                            self.delay = Some(self.backoff.next_delay());
                        }
                    }
                }
                Phase::Watch { resource_version } => {
                    match self.open_watch(&resource_version).await {
                        Ok(stream) => {
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                events: 0,
                            };
                        }
                        Err(err) if err.is_gone() => {
                            tracing::info!(request = %self.list, resource_version = %resource_version, "watcher: resourceVersion too old (410); listing again");
                        }
                        Err(err) => return self.fail(Phase::Watch { resource_version }, err),
                    }
                }
                Phase::Watching {
                    mut stream,
                    mut resource_version,
                    mut events,
                } => {
                    let next = futures::future::poll_fn(|cx| stream.poll_event(cx)).await;
                    if let Some(Ok(_)) = next {
                        events += 1;
                    }
                    let (event, key) = match next {
                        Some(Ok((WatchEvent::Added(object), meta)))
                        | Some(Ok((WatchEvent::Modified(object), meta))) => {
                            resource_version.clone_from(&meta.resource_version);
                            (Event::Apply(object), key(meta))
                        }
                        Some(Ok((WatchEvent::Deleted(object), meta))) => {
                            resource_version.clone_from(&meta.resource_version);
                            (Event::Delete(object), key(meta))
                        }
                        Some(Ok((WatchEvent::Bookmark(bookmark), _))) => {
                            tracing::debug!(request = %self.list, resource_version = %bookmark.resource_version(), "watcher: bookmark");
                            resource_version = bookmark.resource_version().to_string();
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                events,
                            };
                            continue;
                        }
                        Some(Err(err)) if err.is_gone() => {
                            tracing::info!(request = %self.list, resource_version = %resource_version, "watcher: resourceVersion too old (410 ERROR event); listing again");
                            continue;
                        }
                        Some(Err(err @ Error::Decode { .. })) => {
                            // One event that does not decode into `T` (or is over the size
                            // limit, which also ends the stream): say so and go on; a stream
                            // that then ends at once backs off instead of spinning.
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                events: 0,
                            };
                            return Err(err);
                        }
                        Some(Err(err)) => {
                            return self.fail(Phase::Watch { resource_version }, err);
                        }
                        None => {
                            tracing::debug!(request = %self.list, resource_version = %resource_version, events, "watcher: watch ended; resuming");
                            if events == 0 {
                                // A watch that ends at once, again and again, must not spin.
                                self.delay = Some(self.backoff.next_delay());
                            }
                            self.phase = Phase::Watch { resource_version };
                            continue;
                        }
                    };
                    self.backoff.reset();
                    self.phase = Phase::Watching {
                        stream,
                        resource_version,
                        events,
                    };
                    return Ok((event, key));
                }
            }
        }
    }

    /// Yields `err` and resumes at `phase` after the next backoff delay.
    fn fail(&mut self, phase: Phase<T>, err: Error) -> Item<T> {
        crate::metrics::watcher_error(self.list.template);
        let delay = self.backoff.next_delay();
        tracing::debug!(request = %self.list, error = %err, delay_ms = delay.as_millis() as u64, "watcher: failure; retrying after a backoff");
        self.phase = phase;
        self.delay = Some(delay);
        Err(err)
    }

    fn list_page_request(&self) -> Request {
        self.list
            .clone()
            .with_query("limit", &self.settings.page_size.to_string())
    }

    fn watch_request(&self) -> Request {
        let timeout = self.settings.server_timeout;
        let mut request = self
            .list
            .clone()
            .with_query("watch", "true")
            .with_query("allowWatchBookmarks", "true")
            .with_query("timeoutSeconds", &timeout.as_secs().to_string());
        // The client-wide per-request timeout (if any) would cut long watches short.
        request.timeout = Some(timeout + CLIENT_TIMEOUT_MARGIN);
        request
    }

    /// Opens a watch from `resource_version`. (Borrows only the client: `Machine` is not
    /// `Sync`, and the future must stay `Send`.)
    fn open_watch(
        &self,
        resource_version: &str,
    ) -> impl std::future::Future<Output = Result<WatchStream<T>>> + Send + 'static {
        let request = self
            .watch_request()
            .with_query("resourceVersion", resource_version);
        tracing::debug!(request = %self.list, resource_version, "watcher: watch");
        let client = self.client.clone();
        async move { client.watch(request).await }
    }

    fn open_streaming_list(
        &self,
    ) -> impl std::future::Future<Output = Result<WatchStream<T>>> + Send + 'static {
        let request = self
            .watch_request()
            .with_query("sendInitialEvents", "true")
            .with_query("resourceVersionMatch", "NotOlderThan");
        tracing::debug!(request = %self.list, "watcher: streaming list");
        let client = self.client.clone();
        async move { client.watch(request).await }
    }

    /// An item of a list page: the object and its key.
    fn decode_listed(&self, raw: &RawValue) -> Result<(T, ObjectKey)> {
        let decode_error = |type_name: &'static str, err: serde_json::Error| {
            Error::decode(&self.list, type_name, err, raw.get().as_bytes())
        };
        let object = serde_json::from_str(raw.get())
            .map_err(|err| decode_error(std::any::type_name::<T>(), err))?;
        let meta = crate::stream::watch::object_meta(raw.get())
            .map_err(|err| decode_error("ObjectMeta", err))?;
        Ok((object, key(meta)))
    }
}

fn key(meta: ObjectMeta) -> ObjectKey {
    (meta.namespace, meta.name)
}

/// Whether `err` is a server saying it does not do streaming lists: kube-apiserver with the
/// `WatchList` feature gate off answers 422 `Invalid` ("sendInitialEvents is forbidden…"), older
/// ones reject `resourceVersionMatch` on a watch with 422 or 400.
fn refuses_streaming_list(err: &Error) -> bool {
    err.status().is_some_and(|s| s.code == 400 || s.code == 422)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_400_and_422_only() {
        let status = |code| Error::Api(Box::new(crate::Status::from_response(code, b"")));
        assert!(refuses_streaming_list(&status(422)));
        assert!(refuses_streaming_list(&status(400)));
        assert!(!refuses_streaming_list(&status(403)));
        assert!(!refuses_streaming_list(&status(410)));
        assert!(!refuses_streaming_list(&status(500)));
    }
}
