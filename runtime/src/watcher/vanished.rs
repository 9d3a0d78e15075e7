//! Objects deleted while a watch was away: the keys a consumer was told about that a re-list no
//! longer contains (client-go's `DeletedFinalStateUnknown`).

use std::collections::{BTreeSet, HashSet, VecDeque};

use super::store::ObjectKey;
use super::{Event, ObjectRef};

/// Follows the events a consumer sees and, at the `InitDone` of a re-list, holds it back until an
/// `Event::Vanished` has been emitted for every key that was live before the re-list and is not in
/// it. Keeps keys only, never objects.
#[derive(Debug, Default)]
pub(crate) struct Vanished {
    /// Keys the consumer currently believes exist (the last list, plus `Apply`, minus `Delete`).
    live: HashSet<ObjectKey>,
    /// Keys of the (re)list in progress, from its `Init` on.
    listing: Option<HashSet<ObjectKey>>,
    /// Vanished keys still to emit, then the held-back `InitDone`.
    pending: VecDeque<ObjectKey>,
    /// Whether an `InitDone` waits behind `pending`.
    init_done_held: bool,
}

impl Vanished {
    /// An event held back earlier, ready to be emitted before the machine is polled again.
    pub(crate) fn next_pending<T>(&mut self) -> Option<(Event<T>, ObjectKey)> {
        if let Some(key) = self.pending.pop_front() {
            return Some((Event::Vanished(object_ref(&key)), key));
        }
        if std::mem::take(&mut self.init_done_held) {
            return Some((Event::InitDone, ObjectKey::default()));
        }
        None
    }

    /// Takes in one event from the machine; returns it, or (for the `InitDone` of a re-list that
    /// lost objects) the first `Vanished` event, with the `InitDone` held back.
    pub(crate) fn observe<T>(&mut self, event: Event<T>, key: ObjectKey) -> (Event<T>, ObjectKey) {
        match &event {
            Event::Init => self.listing = Some(HashSet::new()),
            Event::InitApply(_) => {
                if let Some(listing) = &mut self.listing {
                    listing.insert(key.clone());
                }
            }
            Event::Apply(_) => {
                self.live.insert(key.clone());
            }
            Event::Delete(_) => {
                self.live.remove(&key);
            }
            Event::InitDone => {
                let listed = self.listing.take().unwrap_or_default();
                // Sorted so that the order is the same from one run to the next.
                let gone: BTreeSet<ObjectKey> = self.live.difference(&listed).cloned().collect();
                self.live = listed;
                if !gone.is_empty() {
                    self.pending.extend(gone);
                    self.init_done_held = true;
                    return self.next_pending().expect("a vanished key was just queued");
                }
            }
            Event::Vanished(_) => {}
        }
        (event, key)
    }
}

fn object_ref(key: &ObjectKey) -> ObjectRef {
    let (namespace, name) = key;
    ObjectRef {
        namespace: (!namespace.is_empty()).then(|| namespace.clone()),
        name: name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ObjectKey {
        ("ns".to_string(), name.to_string())
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
            out.push(tracker.observe(event, key).0);
            while let Some((event, _)) = tracker.next_pending() {
                out.push(event);
            }
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
    fn cluster_scoped_keys_have_no_namespace() {
        let r = object_ref(&(String::new(), "n1".to_string()));
        assert_eq!(r.namespace, None);
        assert_eq!(r.to_string(), "n1");
        let r = object_ref(&key("x"));
        assert_eq!(r.to_string(), "ns/x");
    }
}
