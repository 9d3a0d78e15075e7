//! The vanished-object tracker and the stores, fed as [`Watcher::poll_next`](super::Watcher)
//! feeds them, against a model keyed by `(String, String)`: any sequence of events, keys that
//! share characters split elsewhere, stores taken mid-way.

use std::collections::{HashMap, VecDeque};

use proptest::prelude::*;

use super::key::{EventKey, ObjectKey};
use super::store::Writer;
use super::vanished::Vanished;
use super::{Event, Store};

/// Keys that look alike as bytes or characters, the empty key, and names longer than any valid one.
fn keys() -> Vec<(String, String)> {
    let long = "n".repeat(400);
    [
        ("", "a"),
        ("a", ""),
        ("", ""),
        ("ns", "name"),
        ("nsn", "ame"),
        ("", "nsname"),
        ("ñ", "é"),
        ("ns", &long),
        ("nsn", &long[1..]),
        (&long, &long),
    ]
    .iter()
    .map(|(namespace, name)| (namespace.to_string(), name.to_string()))
    .collect()
}

/// What the machine hands the watcher, or a store taken between two events.
#[derive(Debug, Clone)]
enum Step {
    Init,
    InitApply(usize, u32),
    InitDone,
    Apply(usize, u32),
    Delete(usize),
    TakeStore,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Init),
        4 => (0..10usize, any::<u32>()).prop_map(|(key, value)| Step::InitApply(key, value)),
        1 => Just(Step::InitDone),
        4 => (0..10usize, any::<u32>()).prop_map(|(key, value)| Step::Apply(key, value)),
        2 => (0..10usize).prop_map(Step::Delete),
        1 => Just(Step::TakeStore),
    ]
}

/// What a store must hold: the last complete list, then the changes after it.
#[derive(Default)]
struct Model {
    objects: HashMap<(String, String), u32>,
    listing: Option<HashMap<(String, String), u32>>,
}

impl Model {
    fn take(&mut self, step: &Step, keys: &[(String, String)]) {
        match step {
            Step::Init => self.listing = Some(HashMap::new()),
            Step::InitApply(key, value) => {
                if let Some(listing) = &mut self.listing {
                    listing.insert(keys[*key].clone(), *value);
                }
            }
            Step::InitDone => {
                if let Some(listing) = self.listing.take() {
                    self.objects = listing;
                }
            }
            Step::Apply(key, value) => {
                self.objects.insert(keys[*key].clone(), *value);
            }
            Step::Delete(key) => {
                self.objects.remove(&keys[*key]);
            }
            Step::TakeStore => {}
        }
    }
}

/// Feeds `steps` as the watcher does (held-back events first; at `InitDone` the vanished
/// keys, then the `InitDone`; the tracker before the stores) and compares every store with
/// its model after each event.
fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let keys = keys();
    let (mut tracker, mut buffer) = (Vanished::default(), Vec::new());
    let mut writers: Vec<Writer<u32>> = Vec::new();
    let mut stores: Vec<(Store<u32>, Model)> = Vec::new();
    let mut steps: VecDeque<Step> = std::iter::once(Step::TakeStore)
        .chain(steps.iter().cloned())
        .collect();
    loop {
        if let Some((event, key)) = tracker.next_pending::<u32>() {
            writers
                .iter_mut()
                .for_each(|w| w.apply(&event, &EventKey::of(&key)));
            continue;
        }
        let Some(step) = steps.pop_front() else {
            return Ok(());
        };
        let (event, key) = match &step {
            Step::TakeStore => {
                let (writer, store) = Writer::new();
                writers.push(writer);
                stores.push((store, Model::default()));
                continue;
            }
            Step::Init => (Event::Init, None),
            Step::InitApply(key, value) => (Event::InitApply(*value), Some(*key)),
            Step::InitDone => (Event::InitDone, None),
            Step::Apply(key, value) => (Event::Apply(*value), Some(*key)),
            Step::Delete(key) => (Event::Delete(0), Some(*key)),
        };
        stores
            .iter_mut()
            .for_each(|(_, model)| model.take(&step, &keys));
        if let Event::InitDone = event {
            if let Some((vanished, key)) = tracker.list_done::<u32>() {
                writers
                    .iter_mut()
                    .for_each(|w| w.apply(&vanished, &EventKey::of(&key)));
                continue;
            }
        }
        let key = match key {
            Some(key) => EventKey::join(&mut buffer, &keys[key].0, &keys[key].1),
            None => EventKey::none(),
        };
        tracker.observe(&event, &key);
        writers.iter_mut().for_each(|w| w.apply(&event, &key));
        for (index, (store, model)) in stores.iter().enumerate() {
            prop_assert_eq!(
                store.len(),
                model.objects.len(),
                "store {} after {:?}",
                index,
                step
            );
            for ((namespace, name), value) in &model.objects {
                let held = store.get(namespace, name).map(|object| *object);
                prop_assert_eq!(held, Some(*value), "store {} after {:?}", index, step);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_store_holds_what_the_events_say(steps in proptest::collection::vec(step(), 0..80)) {
        run(&steps)?;
    }

    /// A key is its bytes: equal exactly when both parts are, hashed as its bytes, found by
    /// them, its parts given back.
    #[test]
    fn a_key_is_its_bytes(a in (".{0,40}", ".{0,400}"), b in (".{0,40}", ".{0,400}")) {
        use std::hash::BuildHasher;
        let hasher = foldhash::fast::RandomState::default();
        let (key_a, key_b) = (ObjectKey::new(&a.0, &a.1), ObjectKey::new(&b.0, &b.1));
        prop_assert_eq!(key_a.parts(), (a.0.as_str(), a.1.as_str()));
        prop_assert_eq!(key_a == key_b, a == b);
        let bytes = super::key::with_bytes(&a.0, &a.1, <[u8]>::to_vec);
        prop_assert_eq!(hasher.hash_one(&key_a), hasher.hash_one(bytes.as_slice()));
        let mut buffer = Vec::new();
        let event = EventKey::join(&mut buffer, &a.0, &a.1);
        prop_assert_eq!(event.lookup(), bytes.as_slice());
        prop_assert!(event.owned() == &key_a);
    }
}
