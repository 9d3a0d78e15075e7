//! Triggers: what keys a watcher's events put in the queue.
//!
//! Each trigger maps an object to the keys it concerns (itself, its owner, or whatever a user
//! function says) and keeps a small index *object → keys*, so that an object that is deleted,
//! changes its mapping, or vanishes across a re-list (seen before, absent from the new list)
//! still queues the keys it used to concern — its last state may be gone by then.

use std::collections::{HashMap, HashSet};

use crate::watcher::Event;

use super::meta::{Object, ObjectRef};

/// Maps an object to the keys it concerns.
pub(crate) type Mapper<T> = Box<dyn Fn(&T) -> Vec<ObjectRef> + Send + Sync>;

/// One watcher's mapping state.
pub(crate) struct Trigger<T> {
    map: Mapper<T>,
    /// Every object seen, and the keys it concerned.
    index: HashMap<ObjectRef, Vec<ObjectRef>>,
    /// The objects of a re-list in progress.
    relisted: Option<HashSet<ObjectRef>>,
    /// What a re-list in progress changed in `index`: each object it touched, with the keys it
    /// had before (`None`: it was not there). A re-list that never completes is rolled back
    /// with it, so the index stays that of the last complete view.
    undo: Vec<(ObjectRef, Option<Vec<ObjectRef>>)>,
    /// The keys a re-list in progress queues, once it is done.
    deferred: Vec<ObjectRef>,
}

impl<T: Object> Trigger<T> {
    pub(crate) fn new(map: Mapper<T>) -> Trigger<T> {
        Trigger {
            map,
            index: HashMap::new(),
            relisted: None,
            undo: Vec::new(),
            deferred: Vec::new(),
        }
    }

    /// The keys `event` queues. Every object of a (re)list counts as changed: a change made
    /// while the watch was away shows up only there. The keys of a (re)list are held back until
    /// its `InitDone`: the watcher's stores swap their view in then, and a key reconciled
    /// earlier would read the old view (an object created while the watch was away: nothing).
    pub(crate) fn keys(&mut self, event: &Event<T>) -> Vec<ObjectRef> {
        let keys = match event {
            Event::Init => {
                if self.relisted.is_some() {
                    // The (re)list before never completed (its keys were never queued): undo
                    // what it did to the index. The objects only it showed go (lists that fail
                    // again and again, each with other objects, would pile them up without
                    // bound), and an object whose mapping it changed gets its old keys back, so
                    // that the next complete list still queues the keys it concerned before.
                    for (child, before) in self.undo.drain(..).rev() {
                        match before {
                            Some(keys) => self.index.insert(child, keys),
                            None => self.index.remove(&child),
                        };
                    }
                }
                self.undo.clear();
                self.relisted = Some(HashSet::new());
                self.deferred.clear();
                return Vec::new();
            }
            Event::InitApply(object) => {
                let child = ObjectRef::of(object);
                if let Some(relisted) = &mut self.relisted {
                    if relisted.insert(child.clone()) {
                        let before = self.index.get(&child).cloned();
                        self.undo.push((child.clone(), before));
                    }
                }
                self.update(child, object)
            }
            Event::Apply(object) => self.update(ObjectRef::of(object), object),
            Event::Delete(object) => {
                let mut keys = (self.map)(object);
                keys.extend(
                    self.index
                        .remove(&ObjectRef::of(object))
                        .unwrap_or_default(),
                );
                dedup(keys)
            }
            Event::Vanished(child) => self.vanished(child),
            Event::InitDone => {
                let Some(relisted) = self.relisted.take() else {
                    return Vec::new();
                };
                self.undo.clear();
                let vanished: Vec<ObjectRef> = self
                    .index
                    .keys()
                    .filter(|child| !relisted.contains(*child))
                    .cloned()
                    .collect();
                let mut keys = std::mem::take(&mut self.deferred);
                keys.extend(
                    vanished
                        .iter()
                        .flat_map(|child| self.index.remove(child).unwrap_or_default()),
                );
                return dedup(keys);
            }
        };
        if self.relisted.is_some() {
            self.deferred.extend(keys);
            return Vec::new();
        }
        keys
    }

    /// An object gone across a re-list, as the watcher reports it: the keys it concerned.
    pub(crate) fn vanished(&mut self, child: &ObjectRef) -> Vec<ObjectRef> {
        if let Some(relisted) = &mut self.relisted {
            relisted.remove(child);
        }
        self.index.remove(child).unwrap_or_default()
    }

    fn update(&mut self, child: ObjectRef, object: &T) -> Vec<ObjectRef> {
        let keys = dedup((self.map)(object));
        let old = self.index.insert(child, keys.clone()).unwrap_or_default();
        let mut all = keys;
        all.extend(old);
        dedup(all)
    }
}

fn dedup(mut keys: Vec<ObjectRef>) -> Vec<ObjectRef> {
    keys.sort();
    keys.dedup();
    keys
}

/// The mapper of the primary resource: the object itself.
pub(crate) fn itself<T: Object>() -> Mapper<T> {
    Box::new(|object: &T| vec![ObjectRef::of(object)])
}

/// The mapper of owned objects: their owner(s) of `kind` in the API group of `api_version`, in
/// the child's namespace (ownerReferences cannot cross namespaces). With `controller_only`,
/// only the controller reference counts.
pub(crate) fn owners<T: Object>(
    api_version: String,
    kind: String,
    controller_only: bool,
) -> Mapper<T> {
    Box::new(move |object: &T| {
        let meta = object.metadata();
        meta.owner_references
            .iter()
            .filter(|r| r.is_kind(&api_version, &kind))
            .filter(|r| !controller_only || r.controller == Some(true))
            .map(|r| ObjectRef::new(meta.namespace.as_deref(), &r.name))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{ObjectMeta, OwnerReference, PartialObjectMetadata};

    fn object(name: &str, owner: Option<&str>) -> PartialObjectMetadata {
        let owner_references = owner
            .map(|o| {
                vec![OwnerReference {
                    api_version: "g/v1".into(),
                    kind: "Mirror".into(),
                    name: o.into(),
                    uid: format!("uid-{o}"),
                    controller: Some(true),
                    block_owner_deletion: None,
                }]
            })
            .unwrap_or_default();
        PartialObjectMetadata {
            metadata: ObjectMeta {
                name: name.into(),
                namespace: Some("ns".into()),
                owner_references,
                ..ObjectMeta::default()
            },
            ..Default::default()
        }
    }

    fn key(name: &str) -> ObjectRef {
        ObjectRef::new(Some("ns"), name)
    }

    #[test]
    fn every_object_of_a_relist_is_queued_again_once_the_relist_is_done() {
        let mut trigger = Trigger::new(itself());
        assert!(trigger.keys(&Event::Init).is_empty());
        assert!(trigger
            .keys(&Event::InitApply(object("a", None)))
            .is_empty());
        assert_eq!(trigger.keys(&Event::InitDone), [key("a")]);
        trigger.keys(&Event::Init);
        assert!(trigger
            .keys(&Event::InitApply(object("a", None)))
            .is_empty());
        assert!(trigger.keys(&Event::Vanished(key("gone"))).is_empty());
        assert_eq!(trigger.keys(&Event::InitDone), [key("a")]);
        assert_eq!(trigger.keys(&Event::Apply(object("a", None))), [key("a")]);
    }

    #[test]
    fn an_object_gone_across_a_relist_queues_what_it_concerned() {
        let mut trigger = Trigger::new(owners("g/v2".into(), "Mirror".into(), true));
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy1", Some("m1"))));
        trigger.keys(&Event::InitApply(object("copy2", Some("m2"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1"), key("m2")]);
        // Re-list: copy2 is gone.
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy1", Some("m1"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1"), key("m2")]);
        // And not again at the next re-list.
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy1", Some("m1"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1")]);
        // Reported by the watcher as vanished during a re-list: queued at its end.
        trigger.keys(&Event::Init);
        assert!(trigger.keys(&Event::Vanished(key("copy1"))).is_empty());
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1")]);
    }

    #[test]
    fn relists_that_never_complete_do_not_pile_up_objects() {
        let mut trigger = Trigger::new(owners("g/v1".into(), "Mirror".into(), true));
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("kept", Some("m1"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1")]);
        // Re-lists that fail half-way, each with objects of its own.
        for attempt in 0..50 {
            trigger.keys(&Event::Init);
            for n in 0..20 {
                let name = format!("x{attempt}-{n}");
                trigger.keys(&Event::InitApply(object(&name, Some("m2"))));
            }
            trigger.keys(&Event::InitApply(object("kept", Some("m1"))));
            assert!(trigger.index.len() <= 21, "{}", trigger.index.len());
        }
        // A re-list that completes without the object seen before queues its owner.
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("new", Some("m3"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1"), key("m3")]);
        assert_eq!(trigger.index.len(), 1);
    }

    #[test]
    fn a_mapping_changed_by_a_relist_that_never_completes_still_queues_the_old_key() {
        let mut trigger = Trigger::new(owners("g/v1".into(), "Mirror".into(), true));
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy", Some("m1"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1")]);
        // The copy moved to m2 while the watch was away; the re-list that shows it fails.
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy", Some("m2"))));
        // The next re-list completes: m1 (which lost the copy) and m2 are both queued.
        trigger.keys(&Event::Init);
        trigger.keys(&Event::InitApply(object("copy", Some("m2"))));
        assert_eq!(trigger.keys(&Event::InitDone), [key("m1"), key("m2")]);
        assert_eq!(trigger.index[&key("copy")], [key("m2")]);
    }

    #[test]
    fn a_changed_mapping_queues_the_old_and_the_new_key() {
        let mut trigger = Trigger::new(owners("g/v1".into(), "Mirror".into(), true));
        trigger.keys(&Event::Apply(object("copy", Some("m1"))));
        assert_eq!(
            trigger.keys(&Event::Apply(object("copy", Some("m2")))),
            [key("m1"), key("m2")]
        );
        assert_eq!(
            trigger.keys(&Event::Apply(object("copy", None))),
            [key("m2")]
        );
    }

    #[test]
    fn a_vanished_object_queues_its_last_keys() {
        let mut trigger = Trigger::new(owners("g/v1".into(), "Mirror".into(), true));
        trigger.keys(&Event::Apply(object("copy", Some("m1"))));
        assert_eq!(trigger.vanished(&key("copy")), [key("m1")]);
        assert!(trigger.vanished(&key("copy")).is_empty());
    }

    #[test]
    fn a_delete_queues_the_owner_even_without_an_earlier_event() {
        let mut trigger = Trigger::new(owners("g/v1".into(), "Mirror".into(), true));
        assert_eq!(
            trigger.keys(&Event::Delete(object("copy", Some("m1")))),
            [key("m1")]
        );
        let mut other_kind = Trigger::new(owners("g/v1".into(), "Other".into(), true));
        assert!(other_kind
            .keys(&Event::Apply(object("copy", Some("m1"))))
            .is_empty());
    }
}
