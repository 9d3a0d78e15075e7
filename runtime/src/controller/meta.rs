//! The object metadata the controller reads: [`ObjectMeta`], [`ObjectRef`] and the [`Object`] trait.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::owner::OwnerReference;

/// `metadata` of any Kubernetes object: the fields controllers read and write (all optional
/// on input; empty ones are left out on output, so it can be part of an apply body).
///
/// ```
/// let meta: incluster::controller::ObjectMeta =
///     serde_json::from_value(serde_json::json!({"name": "a", "namespace": "ns", "uid": "u1"}))?;
/// assert_eq!(meta.namespace.as_deref(), Some("ns"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `name`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `namespace` (`None` for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `uid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// `resourceVersion`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resource_version: String,
    /// `generation` (bumped on every `spec` change of resources with a status subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// `labels`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `annotations`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `ownerReferences`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<OwnerReference>,
    /// `finalizers`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// `deletionTimestamp`: set once deletion was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<String>,
}

impl ObjectMeta {
    /// The ownerReference with `controller: true`, if any.
    ///
    /// ```
    /// # use incluster::controller::{ObjectMeta, OwnerReference};
    /// let owner = ObjectMeta { name: "m".into(), uid: "u1".into(), ..Default::default() };
    /// let child = ObjectMeta {
    ///     owner_references: vec![OwnerReference::controller("g/v1", "Kind", &owner)],
    ///     ..Default::default()
    /// };
    /// assert_eq!(child.controller_ref().map(|r| r.uid.as_str()), Some("u1"));
    /// ```
    pub fn controller_ref(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|r| r.controller == Some(true))
    }
}

/// An object with [`ObjectMeta`]: what triggers, finalizers and the recorder read. Implement it
/// for your own serde structs in one line.
///
/// ```
/// use incluster::controller::{Object, ObjectMeta};
/// #[derive(serde::Deserialize)]
/// struct ConfigMap { metadata: ObjectMeta }
/// impl Object for ConfigMap {
///     fn metadata(&self) -> &ObjectMeta { &self.metadata }
/// }
/// ```
pub trait Object {
    /// The object's metadata.
    fn metadata(&self) -> &ObjectMeta;
}

/// Namespace and name: what the work queue holds and a reconcile is about (the watcher's
/// [`ObjectRef`](crate::watcher::ObjectRef), the key of [`Event::Vanished`](crate::watcher::Event::Vanished)).
pub use crate::watcher::ObjectRef;

impl ObjectRef {
    /// `namespace`/`name`; an empty namespace is `None`.
    ///
    /// ```
    /// # use incluster::controller::ObjectRef;
    /// assert_eq!(ObjectRef::new(Some(""), "n").namespace, None);
    /// ```
    pub fn new(namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            namespace: namespace.filter(|ns| !ns.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The key of `object`.
    ///
    /// ```
    /// # use incluster::controller::{ObjectRef, PartialObjectMetadata};
    /// let object: PartialObjectMetadata =
    ///     serde_json::from_value(serde_json::json!({"metadata": {"name": "a", "namespace": "b"}}))?;
    /// assert_eq!(ObjectRef::of(&object), ObjectRef::new(Some("b"), "a"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn of(object: &impl Object) -> ObjectRef {
        let meta = object.metadata();
        ObjectRef::new(meta.namespace.as_deref(), &meta.name)
    }

    /// The namespace, or `""` for a cluster-scoped object (as [`Store::get`](crate::watcher::Store::get) takes it).
    ///
    /// ```
    /// # use incluster::controller::ObjectRef;
    /// assert_eq!(ObjectRef::new(None, "n").namespace_or_empty(), "");
    /// ```
    pub fn namespace_or_empty(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}
