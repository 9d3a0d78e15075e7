//! `ownerReferences`: the builder, and the owner of a child.

use serde::{Deserialize, Serialize};

use super::meta::ObjectMeta;

/// One entry of `metadata.ownerReferences`. The garbage collector deletes a child once every
/// owner is gone; owners must be in the child's namespace (or cluster-scoped).
///
/// ```
/// use incluster::controller::{ObjectMeta, OwnerReference};
/// let owner = ObjectMeta { name: "web".into(), uid: "1234".into(), ..Default::default() };
/// let reference = OwnerReference::controller("apps/v1", "Deployment", &owner);
/// assert_eq!(serde_json::to_value(&reference)?, serde_json::json!({
///     "apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "1234",
///     "controller": true, "blockOwnerDeletion": true,
/// }));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// The owner's `apiVersion` (`group/version`, or `v1`).
    pub api_version: String,
    /// The owner's kind.
    pub kind: String,
    /// The owner's name.
    pub name: String,
    /// The owner's UID: a new object of the same name is not the owner.
    pub uid: String,
    /// Whether this owner is the managing controller (at most one is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether foreground deletion of the owner waits for this child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

impl OwnerReference {
    /// A controller reference to `owner` (`controller: true`, `blockOwnerDeletion: true`).
    ///
    /// ```
    /// # use incluster::controller::{ObjectMeta, OwnerReference};
    /// let r = OwnerReference::controller("g/v1", "K", &ObjectMeta { name: "n".into(), uid: "u".into(), ..Default::default() });
    /// assert_eq!(r.controller, Some(true));
    /// ```
    pub fn controller(api_version: &str, kind: &str, owner: &ObjectMeta) -> OwnerReference {
        OwnerReference {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Whether this reference is to an object of `kind` in the API group of `api_version`
    /// (any version: `g/v1` and `g/v2` name the same objects).
    ///
    /// ```
    /// # use incluster::controller::OwnerReference;
    /// let r = OwnerReference { api_version: "g/v1".into(), kind: "K".into(), ..Default::default() };
    /// assert!(r.is_kind("g/v2", "K"));
    /// assert!(!r.is_kind("h/v1", "K"));
    /// ```
    pub fn is_kind(&self, api_version: &str, kind: &str) -> bool {
        fn group(api_version: &str) -> &str {
            api_version.rsplit_once('/').map_or("", |(g, _)| g)
        }
        self.kind == kind && group(&self.api_version) == group(api_version)
    }
}
