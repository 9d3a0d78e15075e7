//! Whose is a ConfigMap, and which mirror owns a target: decided before any write.
//!
//! - A ConfigMap is a copy of mirror `m` only if it carries the copy label, the owner
//!   annotation naming `m`, **and** `m`'s UID (the owner-UID annotation, or a controller
//!   ownerReference for a same-namespace copy). Anything else that exists under the target's
//!   name is someone else's: it is never written nor deleted.
//! - Several mirrors may name the same target (namespace + source name). The one with the
//!   lowest `namespace/name` wins, whatever the order of events; the others report
//!   `TargetConflict`. The winner may take over a copy another mirror made — one whose owner
//!   annotation names a mirror that claims the target now *and* carries that mirror's UID —
//!   never anything else.

use incluster::controller::{ObjectMeta, ObjectRef};

use super::types::ConfigMirror;
use super::{COPY_LABEL, COPY_LABEL_VALUE, OWNER_ANNOTATION, OWNER_UID_ANNOTATION};

/// What exists under a target's name, as far as `mirror` is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Nothing: create the copy.
    Absent,
    /// `mirror`'s copy: keep it up to date.
    Ours,
    /// A copy of another mirror claiming the target (checked by its UID), which `mirror` wins.
    TakeOver,
    /// Someone else's ConfigMap, or another mirror's copy of a target `mirror` does not win:
    /// leave it alone and report why.
    Conflict(String),
}

/// The key of `mirror`.
pub fn key(mirror: &ConfigMirror) -> ObjectRef {
    ObjectRef::new(mirror.metadata.namespace.as_deref(), &mirror.metadata.name)
}

/// The index key of a target: `namespace/name`.
pub fn target_key(namespace: &str, name: &str) -> String {
    format!("target:{namespace}/{name}")
}

/// The index key of a source: `namespace/name`.
pub fn source_key(namespace: &str, name: &str) -> String {
    format!("source:{namespace}/{name}")
}

/// Whether `meta` carries the copy label.
pub fn is_copy(meta: &ObjectMeta) -> bool {
    meta.labels.get(COPY_LABEL).map(String::as_str) == Some(COPY_LABEL_VALUE)
}

/// The mirror a copy's annotation names (only for ConfigMaps with the copy label).
pub fn claimed_owner(meta: &ObjectMeta) -> Option<ObjectRef> {
    if !is_copy(meta) {
        return None;
    }
    let (namespace, name) = meta.annotations.get(OWNER_ANNOTATION)?.split_once('/')?;
    (!namespace.is_empty() && !name.is_empty()).then(|| ObjectRef::new(Some(namespace), name))
}

/// Whether `meta` is a copy of `mirror`: label, owner annotation and UID all agree.
///
/// ```
/// use incluster_examples::mirror::{ownership::is_ours, types::ConfigMirror};
/// let foreign = incluster::controller::ObjectMeta { name: "settings".into(), ..Default::default() };
/// assert!(!is_ours(&foreign, &ConfigMirror::default()));
/// ```
pub fn is_ours(meta: &ObjectMeta, mirror: &ConfigMirror) -> bool {
    let uid = &mirror.metadata.uid;
    claimed_owner(meta) == Some(key(mirror))
        && !uid.is_empty()
        && (meta.annotations.get(OWNER_UID_ANNOTATION) == Some(uid)
            || meta.controller_ref().is_some_and(|r| &r.uid == uid))
}

/// The winner among the mirrors claiming a target: the lowest `namespace/name`.
pub fn winner(claimants: &[ObjectRef]) -> Option<&ObjectRef> {
    claimants.iter().min()
}

/// What `existing` (the ConfigMap under the target's name, if any) is to `mirror`, given every
/// mirror claiming that target; `owner_uid` gives the UID of a claimant (from the mirrors'
/// store).
pub fn classify(
    existing: Option<&ObjectMeta>,
    mirror: &ConfigMirror,
    claimants: &[ObjectRef],
    owner_uid: impl Fn(&ObjectRef) -> Option<String>,
) -> Target {
    let me = key(mirror);
    if let Some(winner) = winner(claimants).filter(|w| **w != me) {
        return Target::Conflict(format!(
            "also claimed by ConfigMirror {winner}, which owns it (the lowest namespace/name wins)"
        ));
    }
    match existing {
        None => Target::Absent,
        Some(meta) if is_ours(meta, mirror) => Target::Ours,
        Some(meta) if is_copy_of_a_claimant(meta, claimants, owner_uid) => Target::TakeOver,
        Some(_) => Target::Conflict(
            "a ConfigMap of that name exists and is not a copy of this ConfigMirror; it is left untouched"
                .to_string(),
        ),
    }
}

/// Whether `meta` is a copy of one of `claimants`: copy label, owner annotation naming it, and
/// its UID.
fn is_copy_of_a_claimant(
    meta: &ObjectMeta,
    claimants: &[ObjectRef],
    owner_uid: impl Fn(&ObjectRef) -> Option<String>,
) -> bool {
    let Some(owner) = claimed_owner(meta).filter(|o| claimants.contains(o)) else {
        return false;
    };
    let uid = owner_uid(&owner);
    uid.is_some() && meta.annotations.get(OWNER_UID_ANNOTATION) == uid.as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn mirror(ns: &str, name: &str, uid: &str) -> ConfigMirror {
        let mut m = ConfigMirror::default();
        m.metadata.namespace = Some(ns.into());
        m.metadata.name = name.into();
        m.metadata.uid = uid.into();
        m
    }

    fn copy_of(owner: &str, uid: &str) -> ObjectMeta {
        ObjectMeta {
            labels: BTreeMap::from([(COPY_LABEL.into(), COPY_LABEL_VALUE.into())]),
            annotations: BTreeMap::from([
                (OWNER_ANNOTATION.into(), owner.into()),
                (OWNER_UID_ANNOTATION.into(), uid.into()),
            ]),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn ownership_needs_label_annotation_and_uid() {
        let m = mirror("a", "m", "u1");
        assert!(is_ours(&copy_of("a/m", "u1"), &m));
        assert!(!is_ours(&copy_of("a/m", "u0"), &m), "a re-created mirror");
        let mut unlabelled = copy_of("a/m", "u1");
        unlabelled.labels.clear();
        assert!(
            !is_ours(&unlabelled, &m),
            "an annotation alone proves nothing"
        );
        assert_eq!(
            classify(Some(&unlabelled), &m, &[key(&m)], |_| None),
            Target::Conflict(
                "a ConfigMap of that name exists and is not a copy of this ConfigMirror; it is left untouched".into()
            )
        );
    }

    #[test]
    fn the_lowest_key_wins_whatever_the_order() {
        let a = mirror("a", "m", "u1");
        let b = mirror("b", "m", "u2");
        let claimants = [key(&b), key(&a)];
        let uid = |k: &ObjectRef| Some(if *k == key(&a) { "u1" } else { "u2" }.to_string());
        assert_eq!(classify(None, &a, &claimants, uid), Target::Absent);
        assert!(matches!(
            classify(None, &b, &claimants, uid),
            Target::Conflict(_)
        ));
        assert_eq!(
            classify(Some(&copy_of("b/m", "u2")), &a, &claimants, uid),
            Target::TakeOver
        );
        assert!(matches!(
            classify(Some(&copy_of("b/m", "u2")), &b, &claimants, uid),
            Target::Conflict(_)
        ));
        // A labelled ConfigMap naming a claimant without its UID is not a copy: never taken.
        assert!(matches!(
            classify(Some(&copy_of("b/m", "forged")), &a, &claimants, uid),
            Target::Conflict(_)
        ));
        assert!(matches!(
            classify(Some(&copy_of("c/gone", "u3")), &a, &claimants, uid),
            Target::Conflict(_)
        ));
    }
}
