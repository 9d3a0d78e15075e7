//! The key of an object in a watcher's bookkeeping: its namespace and name, in one allocation
//! shared by everything that keeps it (the vanished-object tracker, every store), and looked up
//! by its bytes without building one.

use std::borrow::Borrow;
use std::cell::OnceCell;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::ObjectRef;

/// Between the namespace and the name in a key's bytes: a byte UTF-8 never contains, so the
/// bytes of two keys are equal exactly when both parts are (a namespace ending where another's
/// name begins never makes two keys collide).
const SEPARATOR: u8 = 0xFF;

/// Namespace and name of an object (`namespace` is empty for cluster-scoped objects).
///
/// One allocation holds both: the namespace's UTF-8, [`SEPARATOR`], the name's. A clone is a
/// reference count, so a key built once is shared by the tracker and the stores instead of
/// copied into each. A map keyed by `ObjectKey` is searched with the bytes alone
/// ([`with_bytes`], [`EventKey::lookup`]): equality and hash are those of the bytes.
#[derive(Clone)]
pub(crate) struct ObjectKey {
    /// The key's bytes. (Bytes: an `Arc<str>` cannot be built from pieces in one allocation
    /// without `unsafe`; an `Arc<[u8]>` can.)
    joined: Arc<[u8]>,
    /// Where the separator is.
    split: usize,
}

impl ObjectKey {
    /// The key of `namespace`/`name` (one allocation).
    pub(crate) fn new(namespace: &str, name: &str) -> ObjectKey {
        with_bytes(namespace, name, |joined| ObjectKey {
            joined: Arc::from(joined),
            split: namespace.len(),
        })
    }

    /// The namespace (empty for a cluster-scoped object).
    pub(crate) fn namespace(&self) -> &str {
        part(self.joined.get(..self.split))
    }

    /// The name.
    pub(crate) fn name(&self) -> &str {
        part(self.joined.get(self.split + 1..))
    }

    /// Namespace and name, to sort keys by. (`ObjectKey` is not `Ord`: `Borrow<[u8]>` requires
    /// an order to agree with the bytes', where `0xFF` puts every cluster-scoped key last.)
    pub(crate) fn parts(&self) -> (&str, &str) {
        (self.namespace(), self.name())
    }

    /// The object's reference, as [`Event::Vanished`](super::Event::Vanished) carries it.
    pub(crate) fn object_ref(&self) -> ObjectRef {
        let namespace = self.namespace();
        ObjectRef {
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            name: self.name().to_string(),
        }
    }
}

/// Calls `f` with the bytes of the key `namespace`/`name` (see [`ObjectKey`]), joined on the
/// stack: what [`Store::get`](super::Store::get) looks an object up with, allocating nothing
/// for any key Kubernetes accepts (a namespace is at most 63 bytes, a name 253; a longer one,
/// from a hostile server, takes one allocation).
pub(crate) fn with_bytes<R>(namespace: &str, name: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut stack = [0u8; 320];
    let len = namespace.len() + 1 + name.len();
    match stack.get_mut(..len) {
        Some(buffer) => {
            let (first, rest) = buffer.split_at_mut(namespace.len());
            first.copy_from_slice(namespace.as_bytes());
            if let Some((separator, second)) = rest.split_first_mut() {
                *separator = SEPARATOR;
                second.copy_from_slice(name.as_bytes());
            }
            f(buffer)
        }
        None => {
            let mut joined = Vec::with_capacity(len);
            join(&mut joined, namespace, name);
            f(&joined)
        }
    }
}

/// Sets `buffer` to the bytes of the key `namespace`/`name`.
fn join(buffer: &mut Vec<u8>, namespace: &str, name: &str) {
    buffer.clear();
    buffer.extend_from_slice(namespace.as_bytes());
    buffer.push(SEPARATOR);
    buffer.extend_from_slice(name.as_bytes());
}

/// The key of one event's object: its bytes, joined in a buffer the watcher reuses from one
/// event to the next; the shared [`ObjectKey`] built only when something keeps it (a key
/// already known is found by its bytes, so a busy watch of known objects allocates no key per
/// event).
pub(crate) struct EventKey<'a> {
    joined: &'a [u8],
    split: usize,
    built: OnceCell<ObjectKey>,
}

impl<'a> EventKey<'a> {
    /// The key of `namespace`/`name`, joined in `buffer` (its earlier contents replaced).
    pub(crate) fn join(buffer: &'a mut Vec<u8>, namespace: &str, name: &str) -> EventKey<'a> {
        join(buffer, namespace, name);
        EventKey {
            joined: buffer,
            split: namespace.len(),
            built: OnceCell::new(),
        }
    }

    /// The key of an event without an object (`Init`, `InitDone`): never kept nor looked up.
    pub(crate) fn none() -> EventKey<'static> {
        EventKey {
            joined: &[SEPARATOR],
            split: 0,
            built: OnceCell::new(),
        }
    }

    /// A key already built (a vanished object's).
    pub(crate) fn of(key: &'a ObjectKey) -> EventKey<'a> {
        EventKey {
            joined: &key.joined,
            split: key.split,
            built: OnceCell::from(key.clone()),
        }
    }

    /// The key to keep: built on the first call (one allocation), shared after that.
    pub(crate) fn owned(&self) -> &ObjectKey {
        self.built.get_or_init(|| ObjectKey {
            joined: Arc::from(self.joined),
            split: self.split,
        })
    }

    /// Whether the key has been built ([`owned`](Self::owned) was called, or it came built):
    /// the tracker, which sees each event first, builds it only when the key is new to it.
    pub(crate) fn is_kept(&self) -> bool {
        self.built.get().is_some()
    }

    /// The bytes, to look the key up with.
    pub(crate) fn lookup(&self) -> &'a [u8] {
        self.joined
    }
}

/// One part of a key: UTF-8, since it was copied from a `&str` whole (the empty string would
/// stand for a part that is not, which cannot happen).
fn part(bytes: Option<&[u8]>) -> &str {
    bytes
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// What lets a map keyed by `ObjectKey` be searched with a key's bytes.
impl Borrow<[u8]> for ObjectKey {
    fn borrow(&self) -> &[u8] {
        &self.joined
    }
}

/// The key of the empty namespace and name: what events without an object carry.
impl Default for ObjectKey {
    fn default() -> ObjectKey {
        ObjectKey::new("", "")
    }
}

impl PartialEq for ObjectKey {
    fn eq(&self, other: &ObjectKey) -> bool {
        self.joined == other.joined
    }
}

impl Eq for ObjectKey {}

/// As its bytes hash (`Borrow<[u8]>` requires it).
impl Hash for ObjectKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.joined[..].hash(state);
    }
}

impl std::fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ObjectKey")
            .field(&self.namespace())
            .field(&self.name())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parts_come_back_and_never_run_into_each_other() {
        let key = ObjectKey::new("ns", "name");
        assert_eq!((key.namespace(), key.name()), ("ns", "name"));
        // Same characters, split elsewhere: other keys.
        let shifted = ObjectKey::new("nsn", "ame");
        let cluster = ObjectKey::new("", "nsname");
        assert_ne!(key, shifted);
        assert_ne!(key, cluster);
        assert_eq!(key, ObjectKey::new("ns", "name"));
        let set: std::collections::HashSet<_> = [key.clone(), shifted, cluster, key].into();
        assert_eq!(set.len(), 3);
        // Multi-byte characters split on their boundary.
        let wide = ObjectKey::new("ñ/", "é");
        assert_eq!((wide.namespace(), wide.name()), ("ñ/", "é"));
        // Longer than any valid key (a hostile server): the same key, built another way.
        let long = "n".repeat(400);
        let key = ObjectKey::new("ns", &long);
        assert_eq!((key.namespace(), key.name()), ("ns", long.as_str()));
        assert_eq!(key, ObjectKey::new("ns", &long));
        assert_ne!(key, ObjectKey::new("nsn", &long[1..]));
    }

    #[test]
    fn a_key_is_found_by_its_bytes_and_only_by_them() {
        let keys = [("ns", "name"), ("nsn", "ame"), ("", "nsname"), ("ñ/", "é")];
        let mut map = crate::watcher::store::KeyMap::default();
        for (namespace, name) in keys {
            map.insert(
                ObjectKey::new(namespace, name),
                format!("{namespace}/{name}"),
            );
        }
        let mut buffer = Vec::new();
        for (namespace, name) in keys {
            let found = with_bytes(namespace, name, |bytes| map.get(bytes).cloned());
            assert_eq!(found, Some(format!("{namespace}/{name}")));
            let event = EventKey::join(&mut buffer, namespace, name);
            assert_eq!(map.get(event.lookup()).cloned(), found);
            assert!(!event.is_kept(), "a lookup builds no key");
        }
        for (namespace, name) in [("n", "sname"), ("nsname", ""), ("ns", "nam"), ("", "")] {
            assert_eq!(
                with_bytes(namespace, name, |bytes| map.get(bytes).cloned()),
                None
            );
        }
        // Longer than any valid key: found all the same.
        let long = "n".repeat(400);
        map.insert(ObjectKey::new("ns", &long), "long".into());
        let found = with_bytes("ns", &long, |bytes| map.get(bytes).cloned());
        assert_eq!(found.as_deref(), Some("long"));
    }

    #[test]
    fn an_event_key_is_built_once_and_shared() {
        let mut buffer = Vec::new();
        let event = EventKey::join(&mut buffer, "ns", "a");
        let first = event.owned().clone();
        assert!(event.is_kept());
        assert!(Arc::ptr_eq(&first.joined, &event.owned().joined));
        assert_eq!(first, ObjectKey::new("ns", "a"));
        assert_eq!((first.namespace(), first.name()), ("ns", "a"));
        let again = EventKey::of(&first);
        assert!(again.is_kept());
        assert!(Arc::ptr_eq(&first.joined, &again.owned().joined));
        assert_eq!(again.lookup(), b"ns\xffa");
        let default = ObjectKey::default();
        assert_eq!((default.namespace(), default.name()), ("", ""));
    }

    #[test]
    fn keys_sort_by_namespace_then_name() {
        let mut keys = [
            ObjectKey::new("ab", "c"),
            ObjectKey::new("a", "z"),
            ObjectKey::new("", "y"),
        ];
        keys.sort_by(|a, b| a.parts().cmp(&b.parts()));
        let parts: Vec<_> = keys.iter().map(ObjectKey::parts).collect();
        assert_eq!(parts, [("", "y"), ("a", "z"), ("ab", "c")]);
    }

    #[test]
    fn a_cluster_scoped_key_has_no_namespace_in_its_ref() {
        let r = ObjectKey::new("", "n1").object_ref();
        assert_eq!((r.to_string(), r.namespace), ("n1".to_string(), None));
        assert_eq!(ObjectKey::new("ns", "x").object_ref().to_string(), "ns/x");
    }
}
