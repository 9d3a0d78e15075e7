//! The watcher's state machine: list (streaming or paginated), watch, resume, re-list — every
//! restart paced by one backoff, nothing retried the same way forever.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::backoff::Backoff;
use super::stats::WatcherStats;
use super::{Event, Settings};
use crate::error::{Error, Result};
use crate::http::client::Client;
use crate::request::Request;
use crate::stream::list::{fetch_page, Progress};
use crate::stream::meta_tap::Tap;
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

/// Extra time the client waits beyond `timeoutSeconds` before it gives a silent watch up (a
/// dead connection is noticed much sooner, by HTTP/2 PING).
const CLIENT_TIMEOUT_MARGIN: Duration = Duration::from_secs(30);

/// A streaming list still without its initial-events-end bookmark after this long is logged
/// as a warning (it is given up at `timeoutSeconds` plus half the margin).
const INITIAL_EVENTS_WARNING: Duration = Duration::from_secs(60);

/// A watch that ends sooner than this (or half its `timeoutSeconds`, if less) is a failure: the
/// next one waits for the backoff.
const SHORT_WATCH: Duration = Duration::from_secs(10);

/// An event; its object's namespace and name (if it has one) are [`Running::key`] until the
/// next poll.
type Item<T> = Result<Event<T>>;

/// A started watcher: the machine, stepped by a boxed future when it must wait (a request, a
/// backoff, a deadline), and directly when the stream already holds the next object event.
pub(crate) struct Running<T> {
    state: RunState<T>,
}

/// One step of the machine, which hands the machine back with the item.
type StepFuture<T> = Pin<Box<dyn Future<Output = (Item<T>, Box<Machine<T>>)> + Send>>;

/// What polling a watch stream gave: an event (its object's metadata in the stream's
/// [`meta`](WatchStream::meta)), an error, or its end.
type Polled<T> = Option<Result<WatchEvent<T>>>;

enum RunState<T> {
    /// Between steps: the next event may be taken without a future ([`Machine::poll_ready`]).
    Idle(Box<Machine<T>>),
    /// A step that waits.
    Stepping(StepFuture<T>),
    /// Only while a transition is in progress (or after a step panicked).
    Moving,
}

impl<T: DeserializeOwned + Send + 'static> Running<T> {
    pub(crate) fn start(
        client: Client,
        list: Request,
        settings: Settings,
        stats: WatcherStats,
    ) -> Running<T> {
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
            paginate_once: false,
            polled: None,
            listed: Tap::default(),
            events_before_clock: 0,
            stats,
        };
        Running {
            state: RunState::Idle(Box::new(machine)),
        }
    }

    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Item<T>> {
        // The direct path, kept small (the rest is out of line): the machine is taken out for
        // the poll, so that a panic inside it (e.g. in `T`'s `Deserialize`) leaves `Moving`.
        // (`Moving` has nothing to drop: putting a state back calls no destructor.)
        match std::mem::replace(&mut self.state, RunState::Moving) {
            RunState::Idle(mut machine) => {
                let ready = machine.poll_ready(cx);
                put_back(&mut self.state, RunState::Idle(machine));
                if let Some(poll) = ready {
                    return poll;
                }
            }
            other => put_back(&mut self.state, other),
        }
        self.poll_step(cx)
    }

    /// The namespace and name of the object of the event [`poll_next`](Self::poll_next) gave
    /// last (an `InitApply`, `Apply` or `Delete`), from the metadata that event was read with,
    /// which stays until the next poll.
    pub(crate) fn key(&self) -> (&str, &str) {
        match &self.state {
            RunState::Idle(machine) => machine.key(),
            RunState::Stepping(_) | RunState::Moving => {
                debug_assert!(false, "asked for the key of an event not handed out");
                ("", "")
            }
        }
    }

    /// Starts a step (from `Idle`) or polls the one under way.
    #[inline(never)]
    fn poll_step(&mut self, cx: &mut Context<'_>) -> Poll<Item<T>> {
        loop {
            match std::mem::replace(&mut self.state, RunState::Moving) {
                RunState::Idle(mut machine) => {
                    self.state = RunState::Stepping(Box::pin(async move {
                        let item = machine.step().await;
                        if item.is_err() {
                            machine.stats.count(|c| c.errors += 1);
                        }
                        (item, machine)
                    }));
                }
                RunState::Stepping(mut step) => match step.as_mut().poll(cx) {
                    Poll::Ready((item, machine)) => {
                        self.state = RunState::Idle(machine);
                        return Poll::Ready(item);
                    }
                    Poll::Pending => {
                        self.state = RunState::Stepping(step);
                        return Poll::Pending;
                    }
                },
                // Every arm above leaves a state behind; only a panic inside `poll_ready` or a
                // step (e.g. in `T`'s `Deserialize`) can leave this one, and then the watcher is
                // done for (as any future polled after it panicked).
                RunState::Moving => panic!("the watcher was polled again after it panicked"),
            }
        }
    }
}

/// Puts `state` back where `RunState::Moving` stands in for it, without running the drop glue of
/// the `Moving` it replaces (which owns nothing: forgetting it leaks nothing).
#[inline(always)]
fn put_back<T>(slot: &mut RunState<T>, state: RunState<T>) {
    let moving = std::mem::replace(slot, state);
    debug_assert!(matches!(moving, RunState::Moving));
    std::mem::forget(moving);
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
    /// The next (re)list is a paginated one even where streaming lists work (after a streaming
    /// list that did not complete).
    paginate_once: bool,
    /// What [`Machine::poll_ready`] took from the stream and left to [`Machine::step`] (a
    /// bookmark, an error, the end of the stream).
    polled: Option<Polled<T>>,
    /// What the one pass saw of a paginated list's item: its metadata, in buffers reused from
    /// one item to the next.
    listed: Tap,
    /// Initial events [`Machine::poll_ready`] may still hand out before it reads the clock again
    /// (see [`EVENTS_PER_CLOCK_READ`]).
    events_before_clock: u8,
    stats: WatcherStats,
}

/// How many initial events of a streaming list [`Machine::poll_ready`] hands out between two
/// looks at the clock for the list's deadline. A clock read costs about 35 ns, ~3 % of an event;
/// the deadline is minutes away, and a stream that is always ready overshoots it by at most
/// this many events.
const EVENTS_PER_CLOCK_READ: u8 = 32;

enum Phase<T> {
    /// Start a (re)list.
    Relist,
    /// A paginated list, read whole, is being handed out.
    Listing {
        items: VecDeque<Box<RawValue>>,
        resource_version: String,
    },
    /// A streaming list is sending its initial events (its stream held to the client's response
    /// limit, see [`Machine::list_over_limit`]).
    StreamingInit {
        stream: WatchStream<T>,
        started: Instant,
        warned: bool,
        /// Objects handed out so far.
        objects: u64,
    },
    /// Start a watch from `resource_version`.
    Watch { resource_version: String },
    /// A watch is running; `resource_version` is the last one seen.
    Watching {
        stream: WatchStream<T>,
        resource_version: String,
        started: Instant,
    },
}

/// What polling a streaming list's initial events came to.
enum InitPoll<T> {
    Event(Polled<T>),
    /// No initial-events-end bookmark before the deadline.
    Deadline,
}

impl<T: DeserializeOwned + Send + 'static> Machine<T> {
    /// Runs until there is something to tell the consumer.
    async fn step(&mut self) -> Item<T> {
        loop {
            if let Some(delay) = self.delay.take() {
                tokio::time::sleep(delay).await;
            }
            if matches!(self.phase, Phase::Relist) {
                crate::metrics::watcher_relist(&self.list.template);
            }
            match std::mem::replace(&mut self.phase, Phase::Relist) {
                Phase::Relist => {
                    self.stats.count(|c| {
                        if c.lists_started > 0 {
                            c.relists += 1;
                        }
                        c.lists_started += 1;
                    });
                    if self.streaming && !std::mem::take(&mut self.paginate_once) {
                        match self.open_streaming_list().await {
                            Ok(mut stream) => {
                                // Its initial events are one list: held to the response limit
                                // until the initial-events-end bookmark.
                                stream.set_line_limit(self.client.max_response_bytes());
                                self.phase = Phase::StreamingInit {
                                    stream,
                                    started: Instant::now(),
                                    warned: false,
                                    objects: 0,
                                };
                                return Ok(Event::Init);
                            }
                            Err(err) if refuses_streaming_list(&err) => {
                                tracing::info!(request = %self.list, error = %err, "the server refused a streaming list (sendInitialEvents); falling back to list + watch");
                                self.stats.count(|c| c.streaming_list_refusals += 1);
                                self.streaming = false;
                                continue;
                            }
                            Err(err) => return self.fail(Phase::Relist, err),
                        }
                    }
                    match self.list_all().await {
                        Ok((items, resource_version)) => {
                            self.phase = Phase::Listing {
                                items: items.into(),
                                resource_version,
                            };
                            return Ok(Event::Init);
                        }
                        Err(err) => return self.fail(Phase::Relist, err),
                    }
                }
                Phase::Listing {
                    mut items,
                    resource_version,
                } => {
                    let Some(raw) = items.pop_front() else {
                        self.stats.count(|c| c.lists_completed += 1);
                        self.phase = Phase::Watch { resource_version };
                        return Ok(Event::InitDone);
                    };
                    self.phase = Phase::Listing {
                        items,
                        resource_version,
                    };
                    return self.decode_listed(&raw).map(Event::InitApply);
                }
                Phase::StreamingInit {
                    mut stream,
                    started,
                    mut warned,
                    mut objects,
                } => {
                    let (deadline, warn_at, until) = self.init_limits(started, warned);
                    let polled = match self.polled.take() {
                        Some(next) => InitPoll::Event(next),
                        None => poll_init_until(&mut stream, until).await,
                    };
                    let polled = match polled {
                        InitPoll::Deadline if !warned && warn_at < deadline => {
                            warned = true;
                            tracing::warn!(request = %self.list, waited_s = INITIAL_EVENTS_WARNING.as_secs(), "watcher: a streaming list has not sent its initial-events-end bookmark yet; still waiting");
                            self.phase = Phase::StreamingInit {
                                stream,
                                started,
                                warned,
                                objects,
                            };
                            continue;
                        }
                        polled => polled,
                    };
                    let next = match polled {
                        InitPoll::Event(next) => next,
                        InitPoll::Deadline => {
                            tracing::warn!(request = %self.list, "watcher: a streaming list sent no initial-events-end bookmark before its deadline; listing again with a paginated list");
                            self.paginate_once = true;
                            self.relist_after_backoff(None);
                            continue;
                        }
                    };
                    match next {
                        Some(Ok(WatchEvent::Added(object)))
                        | Some(Ok(WatchEvent::Modified(object))) => {
                            objects += 1;
                            self.phase = Phase::StreamingInit {
                                stream,
                                started,
                                warned,
                                objects,
                            };
                            return Ok(Event::InitApply(object));
                        }
                        Some(Ok(WatchEvent::Deleted(_))) => {
                            // Not sent during the initial events; nothing to take back yet.
                            self.phase = Phase::StreamingInit {
                                stream,
                                started,
                                warned,
                                objects,
                            };
                        }
                        Some(Ok(WatchEvent::Bookmark(bookmark))) => {
                            self.stats.count(|c| c.bookmarks += 1);
                            if !bookmark.is_initial_events_end() {
                                self.phase = Phase::StreamingInit {
                                    stream,
                                    started,
                                    warned,
                                    objects,
                                };
                                continue;
                            }
                            let resource_version = bookmark.resource_version().to_string();
                            if resource_version.is_empty() {
                                self.stats.count(|c| c.missing_resource_versions += 1);
                                let err = self.protocol("the initial-events-end bookmark of a streaming list has no resourceVersion; listing again with a paginated list");
                                self.paginate_once = true;
                                return self.fail(Phase::Relist, err);
                            }
                            tracing::debug!(request = %self.list, resource_version = %resource_version, "watcher: streaming list complete");
                            self.stats.count(|c| {
                                c.streaming_lists_completed += 1;
                                c.lists_completed += 1;
                            });
                            // What follows are changes: a large cluster's are not an error.
                            stream.set_line_limit(u64::MAX);
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                started,
                            };
                            return Ok(Event::InitDone);
                        }
                        Some(Err(_)) if stream.stopped_at_line_limit() => {
                            let err = self.list_over_limit(
                                "the initial events of its streaming list, still without the \
                                 initial-events-end bookmark,",
                                objects,
                                "a server whose initial events never end is broken",
                            );
                            // A list this large may fit as pages (their items without the
                            // events' framing): the next attempt is a paginated list.
                            self.paginate_once = true;
                            return self.fail(Phase::Relist, err);
                        }
                        Some(Err(err)) if err.is_gone() => {
                            self.stats.count(|c| c.gone += 1);
                            tracing::info!(request = %self.list, "watcher: streaming list expired (410); listing again");
                            self.relist_after_backoff(None);
                        }
                        Some(Err(err @ Error::Decode { .. })) => {
                            if stream.stopped_by_oversized_event() {
                                self.stats.count(|c| c.oversized_events += 1);
                                self.paginate_once = true;
                                return self.fail(Phase::Relist, err);
                            }
                            // One object that does not decode into `T`: say so, keep going.
                            self.phase = Phase::StreamingInit {
                                stream,
                                started,
                                warned,
                                objects,
                            };
                            return Err(err);
                        }
                        Some(Err(err)) => {
                            // Failed before its bookmark: the next attempt is a paginated list.
                            self.paginate_once = true;
                            return self.fail(Phase::Relist, err);
                        }
                        None => {
                            // Ended before the initial events did (e.g. at timeoutSeconds, on a
                            // busy cluster): the next attempt is a paginated list.
                            tracing::info!(request = %self.list, "watcher: streaming list ended before its initial-events-end bookmark; listing again with a paginated list");
                            self.paginate_once = true;
                            self.relist_after_backoff(None);
                        }
                    }
                }
                Phase::Watch { resource_version } => {
                    match self.open_watch(&resource_version).await {
                        Ok(stream) => {
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                started: Instant::now(),
                            };
                        }
                        Err(err) if err.is_gone() => {
                            self.stats.count(|c| c.gone += 1);
                            tracing::info!(request = %self.list, resource_version = %resource_version, "watcher: resourceVersion too old (410); listing again");
                            self.relist_after_backoff(None);
                        }
                        // The server answered: the same resourceVersion would get the same
                        // answer ("too large resource version", …). List again.
                        Err(err @ Error::Api(_)) if !is_throttled(&err) => {
                            return self.fail(Phase::Relist, err);
                        }
                        // Throttled or unreachable: the resourceVersion is still good.
                        Err(err) => return self.fail(Phase::Watch { resource_version }, err),
                    }
                }
                Phase::Watching {
                    mut stream,
                    mut resource_version,
                    started,
                } => {
                    let next = match self.polled.take() {
                        Some(next) => next,
                        None => std::future::poll_fn(|cx| stream.poll_event(cx)).await,
                    };
                    let event = match next {
                        Some(Ok(WatchEvent::Added(object)))
                        | Some(Ok(WatchEvent::Modified(object))) => {
                            advance(&mut resource_version, stream.meta(), &self.stats);
                            Event::Apply(object)
                        }
                        Some(Ok(WatchEvent::Deleted(object))) => {
                            advance(&mut resource_version, stream.meta(), &self.stats);
                            Event::Delete(object)
                        }
                        Some(Ok(WatchEvent::Bookmark(_))) => {
                            self.stats.count(|c| c.bookmarks += 1);
                            advance(&mut resource_version, stream.meta(), &self.stats);
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                started,
                            };
                            continue;
                        }
                        Some(Err(err)) if err.is_gone() => {
                            self.stats.count(|c| c.gone += 1);
                            tracing::info!(request = %self.list, resource_version = %resource_version, "watcher: resourceVersion too old (410 ERROR event); listing again");
                            self.relist_after_backoff(None);
                            continue;
                        }
                        Some(Err(err @ Error::Decode { .. })) => {
                            if stream.stopped_by_oversized_event() {
                                // Resuming would meet the same event again: list instead.
                                self.stats.count(|c| c.oversized_events += 1);
                                return self.fail(Phase::Relist, err);
                            }
                            // One event that does not decode into `T`: say so and go on.
                            self.phase = Phase::Watching {
                                stream,
                                resource_version,
                                started,
                            };
                            return Err(err);
                        }
                        // An ERROR event: the server gave this watch up; list again.
                        Some(Err(err @ Error::Api(_))) => return self.fail(Phase::Relist, err),
                        // The connection failed (reset, PING unanswered): resume.
                        Some(Err(err)) => {
                            return self.fail(Phase::Watch { resource_version }, err);
                        }
                        None => {
                            let lasted = started.elapsed();
                            tracing::debug!(request = %self.list, resource_version = %resource_version, lasted_ms = lasted.as_millis() as u64, "watcher: watch ended; resuming");
                            let short = SHORT_WATCH.min(self.settings.server_timeout / 2);
                            if lasted < short {
                                // A watch that ends at once, again and again, must not spin.
                                self.delay = Some(self.backoff.next_delay(None));
                            }
                            self.phase = Phase::Watch { resource_version };
                            continue;
                        }
                    };
                    self.phase = Phase::Watching {
                        stream,
                        resource_version,
                        started,
                    };
                    return Ok(event);
                }
            }
        }
    }

    /// The key of the last object handed out: a list item's metadata is in `listed`, a watch
    /// event's in its stream (the phase keeps both after handing an object out).
    fn key(&self) -> (&str, &str) {
        let meta = match &self.phase {
            Phase::Listing { .. } => &self.listed.meta,
            Phase::StreamingInit { stream, .. } | Phase::Watching { stream, .. } => stream.meta(),
            Phase::Relist | Phase::Watch { .. } => {
                debug_assert!(
                    false,
                    "an object handed out in a phase without its metadata"
                );
                return ("", "");
            }
        };
        (&meta.namespace, &meta.name)
    }

    /// When a streaming list that started at `started` is given up (`deadline`: before the
    /// request's own last-resort limit), when its wait is logged (`warn_at`), and the next of
    /// the two still ahead (`until`).
    fn init_limits(&self, started: Instant, warned: bool) -> (Instant, Instant, Instant) {
        let deadline = started + self.settings.server_timeout + CLIENT_TIMEOUT_MARGIN / 2;
        let warn_at = started + INITIAL_EVENTS_WARNING;
        let until = if warned {
            deadline
        } else {
            deadline.min(warn_at)
        };
        (deadline, warn_at, until)
    }

    /// The next event without a step's future, when the stream already holds an object event:
    /// most events of a busy watch, at a fraction of a step's cost. `None` leaves the rest to
    /// [`step`](Self::step) — a pending streaming list (whose deadline needs the step's timer),
    /// a bookmark, an error, the end of a stream (kept in `polled` for the step), every other
    /// phase, and a pending backoff.
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Option<Poll<Item<T>>> {
        if self.delay.is_some() || self.polled.is_some() {
            return None;
        }
        if let Phase::StreamingInit { .. } = &self.phase {
            if self.events_before_clock == 0 && !self.init_clock_allows() {
                return None;
            }
        }
        match &mut self.phase {
            Phase::StreamingInit {
                stream, objects, ..
            } => {
                loop {
                    match stream.poll_event(cx) {
                        Poll::Ready(Some(Ok(WatchEvent::Added(object))))
                        | Poll::Ready(Some(Ok(WatchEvent::Modified(object)))) => {
                            self.events_before_clock -= 1;
                            *objects += 1;
                            return Some(Poll::Ready(Ok(Event::InitApply(object))));
                        }
                        // Not sent during the initial events; nothing to take back yet. Counted
                        // like any event, so that a flood of them still meets the deadline.
                        Poll::Ready(Some(Ok(WatchEvent::Deleted(_)))) => {
                            self.events_before_clock -= 1;
                            if self.events_before_clock == 0 {
                                return None;
                            }
                        }
                        Poll::Ready(other) => {
                            self.polled = Some(other);
                            return None;
                        }
                        Poll::Pending => return None,
                    }
                }
            }
            Phase::Watching {
                stream,
                resource_version,
                ..
            } => match stream.poll_event(cx) {
                Poll::Ready(Some(Ok(WatchEvent::Added(object))))
                | Poll::Ready(Some(Ok(WatchEvent::Modified(object)))) => {
                    advance(resource_version, stream.meta(), &self.stats);
                    Some(Poll::Ready(Ok(Event::Apply(object))))
                }
                Poll::Ready(Some(Ok(WatchEvent::Deleted(object)))) => {
                    advance(resource_version, stream.meta(), &self.stats);
                    Some(Poll::Ready(Ok(Event::Delete(object))))
                }
                Poll::Ready(other) => {
                    self.polled = Some(other);
                    None
                }
                Poll::Pending => Some(Poll::Pending),
            },
            _ => None,
        }
    }

    /// Whether a streaming list's initial events may still be handed out directly for
    /// [`EVENTS_PER_CLOCK_READ`] more (a look at the clock: one event in 32, out of line);
    /// `false` past the warning or the deadline, which the step's timers deal with.
    #[cold]
    #[inline(never)]
    fn init_clock_allows(&mut self) -> bool {
        let Phase::StreamingInit {
            started, warned, ..
        } = &self.phase
        else {
            return false;
        };
        if Instant::now() >= self.init_limits(*started, *warned).2 {
            return false;
        }
        self.events_before_clock = EVENTS_PER_CLOCK_READ;
        true
    }

    /// Yields `err` and resumes at `phase` after the next backoff delay (at least the server's
    /// `Retry-After`, if it gave one).
    fn fail(&mut self, phase: Phase<T>, err: Error) -> Item<T> {
        crate::metrics::watcher_error(&self.list.template);
        let delay = self.backoff.next_delay(server_wait(&err));
        tracing::debug!(request = %self.list, error = %err, delay_ms = delay.as_millis() as u64, "watcher: failure; retrying after a backoff");
        self.phase = phase;
        self.delay = Some(delay);
        Err(err)
    }

    /// Lists again after the next backoff delay.
    fn relist_after_backoff(&mut self, server_wait: Option<Duration>) {
        self.phase = Phase::Relist;
        self.delay = Some(self.backoff.next_delay(server_wait));
    }

    fn protocol(&self, message: &str) -> Error {
        Error::Protocol {
            request: self.list.to_string(),
            message: message.to_string(),
        }
    }

    /// Reads a whole paginated list: every page, then the items are handed out at the
    /// consumer's pace (so a slow consumer cannot make the list outlive its `continue` token).
    /// A `continue` token that expires (`410`) falls back to one full list without `limit`, as
    /// client-go's pager does. The pages together are held to the client's response limit, as
    /// that one full list would be: a server that pages without end is an error, not a heap
    /// that grows until the process is killed.
    async fn list_all(&mut self) -> Result<(Vec<Box<RawValue>>, String)> {
        let paged = self.list_page_request();
        let limit = self.client.max_response_bytes();
        let mut held: u64 = 0;
        let mut items = Vec::new();
        let mut progress = Progress::default();
        let mut token = String::new();
        let mut resource_version = String::new();
        loop {
            self.stats.count(|c| c.list_pages += 1);
            let page = match fetch_page::<Box<RawValue>>(&self.client, &paged, &token).await {
                Ok(page) => page,
                Err(err) if err.is_gone() && !token.is_empty() => {
                    self.stats.count(|c| {
                        c.gone += 1;
                        c.full_lists += 1;
                    });
                    tracing::info!(request = %self.list, "watcher: the list's continue token expired (410); reading one full list instead");
                    let page = fetch_page::<Box<RawValue>>(&self.client, &self.list, "").await?;
                    if page.resource_version.is_empty() {
                        return Err(self.missing_list_resource_version());
                    }
                    return Ok((page.items, page.resource_version));
                }
                Err(err) => return Err(err),
            };
            if token.is_empty() {
                resource_version = page.resource_version;
                if resource_version.is_empty() {
                    return Err(self.missing_list_resource_version());
                }
            }
            progress.check(&paged, page.items.is_empty(), &page.continue_token)?;
            tracing::debug!(request = %self.list, items = page.items.len(), "watcher: list page");
            held += page
                .items
                .iter()
                .map(|item| item.get().len() as u64)
                .sum::<u64>();
            if held > limit {
                return Err(self.list_over_limit(
                    "its pages together",
                    (items.len() + page.items.len()) as u64,
                    "a server whose continue tokens never end is broken",
                ));
            }
            items.extend(page.items);
            if page.continue_token.is_empty() {
                return Ok((items, resource_version));
            }
            token = page.continue_token;
        }
    }

    /// A list given up before it was complete because what it sent (`what`: a paginated list's
    /// pages, a streaming list's initial events) passed the client's response limit, after
    /// `objects` objects: counted, and an [`Error::Protocol`] saying so and what to do. Both kinds
    /// of list are held to the limit one response body is, so that a server whose list never
    /// ends is an error and a paced re-list, not a heap (the list itself, a `Store`'s unfinished
    /// list, the vanished-object tracker) that grows until the process is killed.
    fn list_over_limit(&self, what: &str, objects: u64, broken: &str) -> Error {
        self.stats.count(|c| c.lists_over_limit += 1);
        let limit = self.client.max_response_bytes();
        self.protocol(&format!(
            "{what} passed {limit} bytes, the most this client holds for one list, after \
             {objects} objects; raise Config::with_max_response_bytes if the list is really this \
             large ({broken})"
        ))
    }

    fn missing_list_resource_version(&self) -> Error {
        self.stats.count(|c| c.missing_resource_versions += 1);
        self.protocol("the list has no metadata.resourceVersion, so no watch could start where it ends; listing again")
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
        // A last resort beyond the server's own timeout; a dead connection is noticed by PING.
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
        self.stats.count(|c| c.watches += 1);
        self.open(request)
    }

    fn open_streaming_list(
        &self,
    ) -> impl std::future::Future<Output = Result<WatchStream<T>>> + Send + 'static {
        let request = self
            .watch_request()
            .with_query("sendInitialEvents", "true")
            .with_query("resourceVersionMatch", "NotOlderThan");
        tracing::debug!(request = %self.list, "watcher: streaming list");
        self.stats.count(|c| c.streaming_lists += 1);
        self.open(request)
    }

    /// Opens the watch `request` names, decoding as the settings say.
    fn open(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Result<WatchStream<T>>> + Send + 'static {
        let client = self.client.clone();
        let drop_managed_fields = !self.settings.keep_managed_fields;
        async move {
            let stream = client.watch(request).await?;
            Ok(stream.dropping_managed_fields(drop_managed_fields))
        }
    }

    /// An item of a list page; its metadata in `self.listed`.
    /// (One pass when it can, as a watch event's object; else the object and its key apart.)
    fn decode_listed(&mut self, raw: &RawValue) -> Result<T> {
        if let Ok(object) = crate::stream::meta_tap::decode::<T>(
            raw.get().as_bytes(),
            !self.settings.keep_managed_fields,
            &mut self.listed,
        ) {
            if self.listed.complete() {
                return Ok(object);
            }
        }
        let decode_error = |type_name: &'static str, err: serde_json::Error| {
            Error::decode(&self.list, type_name, err, raw.get().as_bytes())
        };
        let object =
            crate::stream::meta_tap::decode_object(raw.get(), !self.settings.keep_managed_fields)
                .map_err(|err| decode_error(std::any::type_name::<T>(), err))?;
        crate::stream::watch::read_object_meta(raw.get(), &mut self.listed.meta)
            .map_err(|err| decode_error("ObjectMeta", err))?;
        Ok(object)
    }
}

/// The next event of a streaming list's initial events, or `Deadline` at `deadline`.
async fn poll_init_until<T: DeserializeOwned>(
    stream: &mut WatchStream<T>,
    deadline: Instant,
) -> InitPoll<T> {
    // `timeout_at` polls the stream before its timer: a server that floods events would never
    // let the deadline fire (the request's own time limit would cut the list instead).
    if Instant::now() >= deadline {
        return InitPoll::Deadline;
    }
    let next = std::future::poll_fn(|cx| stream.poll_event(cx));
    match tokio::time::timeout_at(deadline, next).await {
        Ok(event) => InitPoll::Event(event),
        Err(_) => InitPoll::Deadline,
    }
}

/// Moves the watch's position to the event's `resourceVersion`; an event without one (a
/// broken server) leaves it where it was rather than resuming from "any".
#[inline]
fn advance(resource_version: &mut String, meta: &ObjectMeta, stats: &WatcherStats) {
    if meta.resource_version.is_empty() {
        stats.count(|c| c.missing_resource_versions += 1);
        return;
    }
    resource_version.clone_from(&meta.resource_version);
}

/// A `429` (API Priority and Fairness): try again later, the same way.
fn is_throttled(err: &Error) -> bool {
    err.status().is_some_and(|s| s.code == 429)
}

/// The server's `Retry-After` as its `Status` carries it (`details.retryAfterSeconds`).
fn server_wait(err: &Error) -> Option<Duration> {
    let seconds = err.status()?.details.as_ref()?.retry_after_seconds?;
    Some(Duration::from_secs(u64::from(seconds).min(3600)))
}

/// Whether `err` is a server saying it does not do streaming lists: kube-apiserver with the
/// `WatchList` feature gate off answers 422 `Invalid` ("sendInitialEvents is forbidden…"), older
/// ones refuse `resourceVersionMatch` on a watch with 422 or 400. Any other 400/422 is an
/// ordinary failure (retried after a backoff): it says nothing about streaming lists.
fn refuses_streaming_list(err: &Error) -> bool {
    let Some(status) = err.status() else {
        return false;
    };
    if status.code != 400 && status.code != 422 {
        return false;
    }
    let names_it =
        |text: &str| text.contains("sendInitialEvents") || text.contains("resourceVersionMatch");
    names_it(&status.message)
        || status.details.as_ref().is_some_and(|details| {
            details
                .causes
                .iter()
                .any(|cause| names_it(&cause.field) || names_it(&cause.message))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_refusal_of_a_streaming_list_turns_it_off() {
        let status = |code, body: &str| {
            Error::Api(Box::new(crate::Status::from_response(
                code,
                body.as_bytes(),
            )))
        };
        let gate_off = r#"{"kind":"Status","code":422,"reason":"Invalid","message":"ConfigMap.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled","details":{"causes":[{"reason":"FieldValueForbidden","field":"sendInitialEvents"}]}}"#;
        assert!(refuses_streaming_list(&status(422, gate_off)));
        let old = r#"{"kind":"Status","code":400,"message":"resourceVersionMatch is forbidden for watch"}"#;
        assert!(refuses_streaming_list(&status(400, old)));
        // A 400/422 about something else (a bad label selector) is not a refusal.
        let selector = r#"{"kind":"Status","code":400,"message":"unable to parse requirement: invalid label key"}"#;
        assert!(!refuses_streaming_list(&status(400, selector)));
        assert!(!refuses_streaming_list(&status(422, "")));
        for code in [403, 410, 500] {
            let other = gate_off.replace("422", &code.to_string());
            assert!(!refuses_streaming_list(&status(code, &other)), "{code}");
        }
    }

    #[test]
    fn retry_after_seconds_in_a_status_is_a_server_wait() {
        let body = r#"{"kind":"Status","code":429,"details":{"retryAfterSeconds":4}}"#;
        let err = Error::Api(Box::new(crate::Status::from_response(429, body.as_bytes())));
        assert!(is_throttled(&err));
        assert_eq!(server_wait(&err), Some(Duration::from_secs(4)));
    }
}
