//! The reader side of a watcher: the latest state of every object, by namespace and name.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::key::{EventKey, ObjectKey};
use super::Event;

/// A map keyed by [`ObjectKey`]: foldhash, seeded per map, instead of SipHash (with SipHash a
/// quarter of the instructions the `Watcher` spent per event beyond decoding went into hashing keys).
pub(crate) type KeyMap<V> = HashMap<ObjectKey, V, foldhash::fast::RandomState>;

/// A read-only, always up-to-date view of the objects a [`Watcher`](super::Watcher) sees, for
/// reconcilers: look objects up instead of asking the API server.
///
/// The store is filled as the watcher is polled (drive the watcher, e.g. in a task of its own).
/// It is *ready* once the first initial list is complete; after a re-list (a `410 Gone`) the
/// old contents stay readable until the new list is complete, then are swapped at once, so a
/// reader never sees a half-listed state. Cheap to clone; `Send + Sync`.
///
/// ```no_run
/// use futures::StreamExt;
/// # #[derive(Clone, serde::Deserialize)] struct ConfigMap {}
/// # async fn run(client: incluster::Client, request: incluster::Request) -> incluster::Result<()> {
/// let watcher = incluster::Watcher::<ConfigMap>::new(client, request);
/// let store = watcher.store();
/// tokio::spawn(watcher.for_each(|_| async {}));
/// store.wait_ready().await;
/// if let Some(settings) = store.get("default", "settings") {
///     // use *settings
/// }
/// println!("{} ConfigMaps", store.len());
/// # Ok(()) }
/// ```
pub struct Store<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    objects: RwLock<KeyMap<Arc<T>>>,
    ready: tokio::sync::watch::Sender<bool>,
}

impl<T> Clone for Store<T> {
    fn clone(&self) -> Self {
        Store {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("len", &self.len())
            .field("ready", &self.is_ready())
            .finish()
    }
}

impl<T> Store<T> {
    /// The object `namespace`/`name` (use `""` as the namespace of a cluster-scoped object).
    /// (Looked up without building a key: nothing is allocated for any namespace and name
    /// Kubernetes accepts.)
    ///
    /// ```no_run
    /// # fn f(store: incluster::watcher::Store<serde_json::Value>) {
    /// let settings = store.get("default", "settings");
    /// # }
    /// ```
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<T>> {
        let objects = self
            .shared
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner());
        super::key::with_bytes(namespace, name, |key| objects.get(key).cloned())
    }

    /// Every object, in no particular order.
    ///
    /// ```no_run
    /// # fn f(store: incluster::watcher::Store<serde_json::Value>) {
    /// for object in store.list() { println!("{object}"); }
    /// # }
    /// ```
    pub fn list(&self) -> Vec<Arc<T>> {
        let objects = self
            .shared
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner());
        objects.values().cloned().collect()
    }

    /// How many objects the store holds.
    ///
    /// ```no_run
    /// # fn f(store: incluster::watcher::Store<serde_json::Value>) { println!("{}", store.len()); }
    /// ```
    pub fn len(&self) -> usize {
        self.shared
            .objects
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether the store holds no object.
    ///
    /// ```no_run
    /// # fn f(store: incluster::watcher::Store<serde_json::Value>) { assert!(!store.is_empty()); }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the first initial list has completed (before that the store is empty).
    ///
    /// ```no_run
    /// # fn f(store: incluster::watcher::Store<serde_json::Value>) { if store.is_ready() { /* … */ } }
    /// ```
    pub fn is_ready(&self) -> bool {
        *self.shared.ready.borrow()
    }

    /// Waits until the first initial list has completed.
    ///
    /// ```no_run
    /// # async fn f(store: incluster::watcher::Store<serde_json::Value>) { store.wait_ready().await; }
    /// ```
    pub async fn wait_ready(&self) {
        let mut ready = self.shared.ready.subscribe();
        // The sender lives in `shared`, which `self` keeps alive: this never fails.
        let _ = ready.wait_for(|ready| *ready).await;
    }
}

/// The watcher's side: applies events to the store.
pub(crate) struct Writer<T> {
    shared: Arc<Shared<T>>,
    /// Objects of an initial list in progress, swapped in at `InitDone`.
    pending: Option<KeyMap<Arc<T>>>,
}

impl<T> Writer<T> {
    pub(crate) fn new() -> (Writer<T>, Store<T>) {
        let shared = Arc::new(Shared {
            objects: RwLock::new(KeyMap::default()),
            ready: tokio::sync::watch::Sender::new(false),
        });
        (
            Writer {
                shared: shared.clone(),
                pending: None,
            },
            Store { shared },
        )
    }
}

impl<T: Clone> Writer<T> {
    /// Applies an event of a `Watcher<T>`: each object is cloned into the store.
    pub(crate) fn apply(&mut self, event: &Event<T>, key: &EventKey<'_>) {
        self.apply_with(event, key, |object| Arc::new(object.clone()));
    }
}

impl<T> Writer<T> {
    /// Applies an event of a `Watcher<Arc<T>>`: the store keeps the event's own `Arc`.
    pub(crate) fn apply_shared(&mut self, event: &Event<Arc<T>>, key: &EventKey<'_>) {
        self.apply_with(event, key, Arc::clone);
    }

    /// Applies an event whose object `share` turns into the store's `Arc<T>`.
    fn apply_with<O>(
        &mut self,
        event: &Event<O>,
        key: &EventKey<'_>,
        share: impl Fn(&O) -> Arc<T>,
    ) {
        match event {
            Event::Init => self.pending = Some(KeyMap::default()),
            Event::InitApply(object) => {
                if let Some(pending) = &mut self.pending {
                    put(pending, key, share(object));
                }
            }
            Event::InitDone => {
                if let Some(pending) = self.pending.take() {
                    *self
                        .shared
                        .objects
                        .write()
                        .unwrap_or_else(|e| e.into_inner()) = pending;
                    self.shared.ready.send_replace(true);
                }
            }
            Event::Apply(object) => put(&mut self.objects(), key, share(object)),
            Event::Delete(_) => {
                self.objects().remove(key.lookup());
            }
            // The re-list's `InitDone` that follows swaps the whole view in.
            Event::Vanished(_) => {}
        }
    }

    fn objects(&self) -> std::sync::RwLockWriteGuard<'_, KeyMap<Arc<T>>> {
        self.shared
            .objects
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }
}

/// Puts `object` under `key`: an object already there (the usual case) is replaced in place,
/// found by the key's bytes, and only a new one keeps the key. A key already built (by the
/// watcher's tracker, which sees each event first and builds a key only when it is new to it,
/// or by another store) is put in without looking first: usually new here too, and when it is
/// not (a store taken after the tracker knew the key), `insert` replaces the value and keeps
/// the store's own key, so the contents are the same either way.
fn put<T>(objects: &mut KeyMap<Arc<T>>, key: &EventKey<'_>, object: Arc<T>) {
    if !key.is_kept() {
        if let Some(slot) = objects.get_mut(key.lookup()) {
            *slot = object;
            return;
        }
    }
    objects.insert(key.owned().clone(), object);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of `ns`/`name`, as the watcher hands it to a store.
    fn key<'a>(buffer: &'a mut Vec<u8>, name: &str) -> EventKey<'a> {
        EventKey::join(buffer, "ns", name)
    }

    #[test]
    fn a_relist_swaps_the_contents_at_init_done() {
        let (mut writer, store) = Writer::<u32>::new();
        let none = EventKey::none();
        assert!(!store.is_ready());
        writer.apply(&Event::Init, &none);
        writer.apply(&Event::InitApply(1), &key(&mut Vec::new(), "a"));
        writer.apply(&Event::InitApply(2), &key(&mut Vec::new(), "b"));
        assert!(store.is_empty(), "not visible before InitDone");
        writer.apply(&Event::InitDone, &none);
        assert!(store.is_ready());
        assert_eq!(store.len(), 2);
        writer.apply(&Event::Apply(3), &key(&mut Vec::new(), "a"));
        writer.apply(&Event::Delete(2), &key(&mut Vec::new(), "b"));
        assert_eq!(store.get("ns", "a").as_deref(), Some(&3));
        assert_eq!(store.get("ns", "b"), None);
        // A re-list: the old view stays until the new one is complete.
        writer.apply(&Event::Init, &none);
        writer.apply(&Event::InitApply(9), &key(&mut Vec::new(), "c"));
        assert_eq!(store.get("ns", "a").as_deref(), Some(&3));
        writer.apply(&Event::InitDone, &none);
        assert_eq!(store.get("ns", "a"), None);
        assert_eq!(
            store.list().into_iter().map(|v| *v).collect::<Vec<_>>(),
            [9]
        );
    }

    #[test]
    fn a_shared_store_keeps_the_events_own_objects() {
        let (mut writer, store) = Writer::<String>::new();
        let none = EventKey::none();
        let listed = Arc::new("listed".to_string());
        writer.apply_shared(&Event::Init, &none);
        writer.apply_shared(
            &Event::InitApply(listed.clone()),
            &key(&mut Vec::new(), "a"),
        );
        writer.apply_shared(&Event::InitDone, &none);
        assert!(Arc::ptr_eq(&store.get("ns", "a").unwrap(), &listed));
        let changed = Arc::new("changed".to_string());
        writer.apply_shared(&Event::Apply(changed.clone()), &key(&mut Vec::new(), "a"));
        assert!(Arc::ptr_eq(&store.get("ns", "a").unwrap(), &changed));
        writer.apply_shared(&Event::Delete(changed), &key(&mut Vec::new(), "a"));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn wait_ready_resolves_at_the_first_init_done() {
        let (mut writer, store) = Writer::<u32>::new();
        let waiter = tokio::spawn({
            let store = store.clone();
            async move { store.wait_ready().await }
        });
        writer.apply(&Event::Init, &EventKey::none());
        writer.apply(&Event::InitDone, &EventKey::none());
        waiter.await.unwrap();
        store.wait_ready().await;
    }
}
