//! An index of the primary resource by any string keys (what the mappers of other watchers
//! look objects up by, instead of scanning every object on every event).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use super::meta::{Object, ObjectRef};
use crate::watcher::Event;

type IndexFn<K> = dyn Fn(&K) -> Vec<String> + Send + Sync;

/// Objects by index keys, kept up to date by the controller's primary watcher (register it
/// with [`Controller::index`](super::Controller::index)). Cheap to clone; `Send + Sync`.
///
/// ```
/// use incluster::controller::{Index, ObjectRef, PartialObjectMetadata};
/// let by_app = Index::new(|o: &PartialObjectMetadata| o.metadata.labels.get("app").cloned().into_iter().collect());
/// assert!(by_app.get("web").is_empty());
/// ```
pub struct Index<K> {
    keys_of: Arc<IndexFn<K>>,
    state: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    by_key: HashMap<String, BTreeSet<ObjectRef>>,
    of_object: HashMap<ObjectRef, Vec<String>>,
    /// A re-list in progress: swapped in at `InitDone`.
    pending: Option<HashMap<ObjectRef, Vec<String>>>,
}

impl<K> Clone for Index<K> {
    fn clone(&self) -> Self {
        Index {
            keys_of: self.keys_of.clone(),
            state: self.state.clone(),
        }
    }
}

impl<K> std::fmt::Debug for Index<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").finish_non_exhaustive()
    }
}

impl<K: Object> Index<K> {
    /// An empty index of objects under the keys `keys_of` returns for each.
    ///
    /// ```
    /// # use incluster::controller::{Index, PartialObjectMetadata};
    /// let index = Index::new(|o: &PartialObjectMetadata| vec![o.metadata.name.clone()]);
    /// ```
    pub fn new(keys_of: impl Fn(&K) -> Vec<String> + Send + Sync + 'static) -> Index<K> {
        Index {
            keys_of: Arc::new(keys_of),
            state: Arc::default(),
        }
    }

    /// The objects indexed under `key`, in order.
    ///
    /// ```
    /// # use incluster::controller::{Index, PartialObjectMetadata};
    /// # let index = Index::new(|o: &PartialObjectMetadata| vec![o.metadata.name.clone()]);
    /// for key in index.get("x") { println!("{key}"); }
    /// ```
    pub fn get(&self, key: &str) -> Vec<ObjectRef> {
        let state = self.state.read().unwrap_or_else(|e| e.into_inner());
        state
            .by_key
            .get(key)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn apply(&self, event: &Event<K>) {
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Init => state.pending = Some(HashMap::new()),
            Event::InitApply(object) => {
                let keys = (self.keys_of)(object);
                let object = ObjectRef::of(object);
                match &mut state.pending {
                    Some(pending) => {
                        pending.insert(object, keys);
                    }
                    None => state.put(object, keys),
                }
            }
            Event::InitDone => {
                if let Some(pending) = state.pending.take() {
                    state.by_key.clear();
                    state.of_object.clear();
                    for (object, keys) in pending {
                        state.put(object, keys);
                    }
                }
            }
            Event::Apply(object) => {
                let keys = (self.keys_of)(object);
                state.put(ObjectRef::of(object), keys);
            }
            Event::Delete(object) => state.remove(&ObjectRef::of(object)),
            Event::Vanished(object) => state.remove(object),
        }
    }
}

impl State {
    fn put(&mut self, object: ObjectRef, keys: Vec<String>) {
        self.remove(&object);
        for key in &keys {
            self.by_key
                .entry(key.clone())
                .or_default()
                .insert(object.clone());
        }
        self.of_object.insert(object, keys);
    }

    fn remove(&mut self, object: &ObjectRef) {
        for key in self.of_object.remove(object).unwrap_or_default() {
            if let Some(set) = self.by_key.get_mut(&key) {
                set.remove(object);
                if set.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{ObjectMeta, PartialObjectMetadata};

    fn object(name: &str, app: &str) -> PartialObjectMetadata {
        PartialObjectMetadata {
            metadata: ObjectMeta {
                name: name.into(),
                labels: [("app".to_string(), app.to_string())].into(),
                ..ObjectMeta::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn follows_changes_deletes_and_relists() {
        let index = Index::new(|o: &PartialObjectMetadata| {
            o.metadata.labels.get("app").cloned().into_iter().collect()
        });
        let key = |n: &str| ObjectRef::new(None, n);
        index.apply(&Event::Apply(object("a", "web")));
        index.apply(&Event::Apply(object("b", "web")));
        assert_eq!(index.get("web"), [key("a"), key("b")]);
        index.apply(&Event::Apply(object("a", "db")));
        assert_eq!(index.get("web"), [key("b")]);
        assert_eq!(index.get("db"), [key("a")]);
        index.apply(&Event::Delete(object("b", "web")));
        assert!(index.get("web").is_empty());
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(object("c", "web")));
        assert_eq!(index.get("db"), [key("a")], "old view until InitDone");
        index.apply(&Event::InitDone);
        assert!(index.get("db").is_empty());
        assert_eq!(index.get("web"), [key("c")]);
        index.apply(&Event::Vanished(key("c")));
        assert!(index.get("web").is_empty());
    }
}
