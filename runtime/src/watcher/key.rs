//! The key of an object in a watcher's bookkeeping: its namespace and name, in one allocation
//! shared by everything that keeps it (the vanished-object tracker, every store).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::ObjectRef;

/// Namespace and name of an object (`namespace` is empty for cluster-scoped objects).
///
/// One allocation holds both, namespace first; `split` is where the name starts. A clone is a
/// reference count, so a key built once per event is shared by the tracker and the stores
/// instead of copied into each. Two keys are equal when both parts are, whatever characters
/// they hold (a namespace ending where another's name begins never makes two keys collide).
#[derive(Clone, Default)]
pub(crate) struct ObjectKey {
    /// The UTF-8 of the namespace, then of the name. (Bytes: an `Arc<str>` cannot be built
    /// from two pieces in one allocation without `unsafe`; an `Arc<[u8]>` can.)
    joined: Arc<[u8]>,
    split: usize,
}

impl ObjectKey {
    /// The key of `namespace`/`name` (one allocation, for any key Kubernetes accepts).
    pub(crate) fn new(namespace: &str, name: &str) -> ObjectKey {
        let (namespace, name) = (namespace.as_bytes(), name.as_bytes());
        let len = namespace.len() + name.len();
        // Joined on the stack, then copied into the `Arc` whole (a byte-by-byte `collect`
        // costs ten times as many instructions); a longer key than any valid one (a namespace
        // is at most 63 bytes, a name 253) takes one more allocation.
        let mut stack = [0u8; 320];
        let joined: Arc<[u8]> = match stack.get_mut(..len) {
            Some(buffer) => {
                let (first, second) = buffer.split_at_mut(namespace.len());
                first.copy_from_slice(namespace);
                second.copy_from_slice(name);
                Arc::from(&*buffer)
            }
            None => Arc::from([namespace, name].concat()),
        };
        ObjectKey {
            joined,
            split: namespace.len(),
        }
    }

    /// The namespace (empty for a cluster-scoped object).
    pub(crate) fn namespace(&self) -> &str {
        part(&self.joined[..self.split])
    }

    /// The name.
    pub(crate) fn name(&self) -> &str {
        part(&self.joined[self.split..])
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

/// One part of a key: UTF-8, since it was copied from a `&str` whole (the empty string would
/// stand for a part that is not, which cannot happen).
fn part(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl PartialEq for ObjectKey {
    fn eq(&self, other: &ObjectKey) -> bool {
        self.split == other.split && self.joined == other.joined
    }
}

impl Eq for ObjectKey {}

/// Over the joined bytes and the split (without it, the keys one hostile string makes at each
/// of its split points would all share one hash).
impl Hash for ObjectKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.joined.hash(state);
        state.write_usize(self.split);
    }
}

/// By namespace, then name.
impl Ord for ObjectKey {
    fn cmp(&self, other: &ObjectKey) -> Ordering {
        (self.namespace(), self.name()).cmp(&(other.namespace(), other.name()))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &ObjectKey) -> Option<Ordering> {
        Some(self.cmp(other))
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
    fn keys_sort_by_namespace_then_name() {
        let mut keys = [
            ObjectKey::new("ab", "c"),
            ObjectKey::new("a", "z"),
            ObjectKey::new("", "y"),
        ];
        keys.sort();
        let parts: Vec<_> = keys.iter().map(|k| (k.namespace(), k.name())).collect();
        assert_eq!(parts, [("", "y"), ("a", "z"), ("ab", "c")]);
    }

    #[test]
    fn a_cluster_scoped_key_has_no_namespace_in_its_ref() {
        let r = ObjectKey::new("", "n1").object_ref();
        assert_eq!((r.to_string(), r.namespace), ("n1".to_string(), None));
        assert_eq!(ObjectKey::new("ns", "x").object_ref().to_string(), "ns/x");
    }
}
