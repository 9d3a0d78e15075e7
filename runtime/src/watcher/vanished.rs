//! Objects deleted while a watch was away: the keys a consumer was told about that a re-list no
//! longer contains (client-go's `DeletedFinalStateUnknown`).

use std::collections::VecDeque;

use super::key::{EventKey, ObjectKey};
use super::store::KeyMap;
use super::Event;

/// Follows the events a consumer sees and, at the `InitDone` of a re-list, holds it back until an
/// `Event::Vanished` has been emitted for every key that was live before the re-list and is not in
/// it. Keeps keys only, never objects; each key once, shared with the stores when first seen
/// and looked up by its bytes after that.
#[derive(Debug, Default)]
pub(crate) struct Vanished {
    /// Every key the consumer was told about: whether it is live (the last completed list, plus
    /// `Apply`, minus `Delete`) and the last (re)list that contained it.
    keys: KeyMap<Mark>,
    /// The (re)list in progress, from its `Init` on: its number.
    listing: Option<u64>,
    /// Numbers the (re)lists.
    lists: u64,
    /// Vanished keys still to emit, then the held-back `InitDone`.
    pending: VecDeque<ObjectKey>,
    /// Whether an `InitDone` waits behind `pending`.
    init_done_held: bool,
}

/// What the tracker knows of one key.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// The consumer believes it exists.
    live: bool,
    /// The last (re)list that contained it (0: none).
    listed_in: u64,
}

impl Vanished {
    /// An event held back earlier, ready to be emitted before the machine is polled again.
    /// (Asked on every poll: the usual answer, none, is given inline.)
    #[inline]
    pub(crate) fn next_pending<T>(&mut self) -> Option<(Event<T>, ObjectKey)> {
        if self.pending.is_empty() && !self.init_done_held {
            return None;
        }
        self.next_held()
    }

    /// [`next_pending`](Self::next_pending) when something is held.
    #[inline(never)]
    fn next_held<T>(&mut self) -> Option<(Event<T>, ObjectKey)> {
        if let Some(key) = self.pending.pop_front() {
            return Some((Event::Vanished(key.object_ref()), key));
        }
        if std::mem::take(&mut self.init_done_held) {
            return Some((Event::InitDone, ObjectKey::default()));
        }
        None
    }

    /// At an `InitDone`: the keys that were live and are not in the list just completed are no
    /// longer live; returns the first one's `Vanished` event (the others, then the `InitDone`,
    /// follow from [`next_pending`](Self::next_pending)), or `None` when nothing vanished.
    pub(crate) fn list_done<T>(&mut self) -> Option<(Event<T>, ObjectKey)> {
        let list = self.listing.take()?;
        let mut gone = Vec::new();
        self.keys.retain(|key, mark| {
            if mark.listed_in == list {
                mark.live = true;
                return true;
            }
            if mark.live {
                gone.push(key.clone());
            }
            // Not in this list: gone, or seen only in a list that never completed.
            false
        });
        if gone.is_empty() {
            return None;
        }
        // By namespace and name, so that the order is the same from one run to the next.
        gone.sort_unstable_by(|a, b| a.parts().cmp(&b.parts()));
        self.pending.extend(gone);
        self.init_done_held = true;
        self.next_pending()
    }

    /// Takes in one event the consumer was given (its `InitDone` after [`list_done`](Self::list_done)).
    pub(crate) fn observe<T>(&mut self, event: &Event<T>, key: &EventKey<'_>) {
        match event {
            Event::Init => {
                if self.listing.is_some() {
                    // The list before never completed: the keys seen only in it are not live
                    // (`list_done` would drop them). Forget them now, or lists that fail again
                    // and again, each with other keys, would pile them up without bound.
                    self.keys.retain(|_, mark| mark.live);
                }
                self.lists += 1;
                self.listing = Some(self.lists);
            }
            Event::InitApply(_) => {
                if let Some(list) = self.listing {
                    self.update(key, |mark| mark.listed_in = list);
                }
            }
            Event::Apply(_) => self.update(key, |mark| mark.live = true),
            Event::Delete(_) => {
                self.keys.remove(key.lookup());
            }
            Event::InitDone | Event::Vanished(_) => {}
        }
    }

    /// Changes the key's mark, looked up by its bytes (the key is kept only when new).
    fn update(&mut self, key: &EventKey<'_>, change: impl FnOnce(&mut Mark)) {
        // `entry` would take a built key even when it is there; a lookup by bytes first keeps
        // the common case (a key already known) free of any allocation.
        if let Some(mark) = self.keys.get_mut(key.lookup()) {
            change(mark);
            return;
        }
        let mut mark = Mark {
            live: false,
            listed_in: 0,
        };
        change(&mut mark);
        self.keys.insert(key.owned().clone(), mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watcher::ObjectRef;

    fn key(name: &str) -> ObjectKey {
        ObjectKey::new("ns", name)
    }

    /// A complete list: `Init`, an `InitApply` for each `(value, name)`, then `InitDone`.
    fn listed(items: &[(u32, &str)]) -> Vec<(Event<u32>, ObjectKey)> {
        let mut events = vec![(Event::Init, ObjectKey::default())];
        events.extend(
            items
                .iter()
                .map(|(value, name)| (Event::InitApply(*value), key(name))),
        );
        events.push((Event::InitDone, ObjectKey::default()));
        events
    }

    fn gone(name: &str) -> Event<u32> {
        Event::Vanished(ObjectRef {
            namespace: Some("ns".into()),
            name: name.into(),
        })
    }

    /// Feeds `events` and drains everything the tracker emits.
    fn run(tracker: &mut Vanished, events: Vec<(Event<u32>, ObjectKey)>) -> Vec<Event<u32>> {
        let mut out = Vec::new();
        for (event, key) in events {
            if matches!(event, Event::InitDone) {
                if let Some((first, _)) = tracker.list_done::<u32>() {
                    out.push(first);
                    while let Some((event, _)) = tracker.next_pending() {
                        out.push(event);
                    }
                    continue;
                }
            }
            let (namespace, name) = (key.namespace(), key.name());
            tracker.observe(&event, &EventKey::join(&mut Vec::new(), namespace, name));
            out.push(event);
        }
        out
    }

    #[test]
    fn a_relist_reports_what_disappeared_before_its_init_done() {
        let mut tracker = Vanished::default();
        let mut first = listed(&[(1, "a"), (2, "b")]);
        first.extend([
            (Event::Apply(3), key("c")),
            (Event::Apply(4), key("d")),
            (Event::Delete(4), key("d")),
        ]);
        let first = run(&mut tracker, first);
        assert!(!first.iter().any(|e| matches!(e, Event::Vanished(_))));
        let relist = run(&mut tracker, listed(&[(1, "a")]));
        assert_eq!(
            relist,
            [
                Event::Init,
                Event::InitApply(1),
                gone("b"),
                gone("c"),
                Event::InitDone
            ]
        );
        // A re-list that loses nothing adds nothing.
        let again = run(&mut tracker, listed(&[(1, "a")]));
        assert_eq!(again, [Event::Init, Event::InitApply(1), Event::InitDone]);
    }

    #[test]
    fn an_interrupted_relist_counts_only_the_one_that_completes() {
        let mut tracker = Vanished::default();
        // A list, then a re-list that fails half-way, then one that completes.
        let mut interrupted = listed(&[(1, "a"), (2, "b")]);
        interrupted.extend(listed(&[(1, "a")]).into_iter().take(2));
        run(&mut tracker, interrupted);
        let out = run(&mut tracker, listed(&[(2, "b")]));
        assert_eq!(
            out,
            [Event::Init, Event::InitApply(2), gone("a"), Event::InitDone]
        );
    }

    #[test]
    fn lists_that_never_complete_do_not_pile_up_keys() {
        let mut tracker = Vanished::default();
        run(&mut tracker, listed(&[(1, "a")]));
        // Lists that fail half-way, each with keys of its own (a server flooding new objects).
        for attempt in 0..50 {
            let mut unfinished = vec![(Event::Init, ObjectKey::default())];
            unfinished
                .extend((0..20).map(|n| (Event::InitApply(n), key(&format!("x{attempt}-{n}")))));
            run(&mut tracker, unfinished);
            assert!(tracker.keys.len() <= 21, "{}", tracker.keys.len());
        }
        // The live key is still tracked: a list without it reports it.
        let out = run(&mut tracker, listed(&[(2, "b")]));
        assert_eq!(
            out,
            [Event::Init, Event::InitApply(2), gone("a"), Event::InitDone]
        );
        assert_eq!(tracker.keys.len(), 1);
    }
}
