//! The `ConfigMirror` resource (`examples/deploy/mirror-crd.yaml`): just the fields the operator
//! reads and writes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `metadata` of a `ConfigMirror`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// UID (for ownerReferences and Events).
    #[serde(default)]
    pub uid: String,
    /// Bumped by the server on every `spec` change.
    #[serde(default)]
    pub generation: i64,
    /// Optimistic-concurrency token.
    #[serde(default)]
    pub resource_version: String,
    /// Finalizers.
    #[serde(default)]
    pub finalizers: Vec<String>,
    /// Set once deletion was requested.
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

/// `mirror.incluster.dev/v1alpha1` `ConfigMirror`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigMirror {
    /// Metadata.
    pub metadata: Meta,
    /// What to copy where.
    pub spec: MirrorSpec,
    /// What the operator last saw.
    #[serde(default)]
    pub status: Option<MirrorStatus>,
}

/// `spec`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MirrorSpec {
    /// The ConfigMap to copy.
    pub source: SourceRef,
    /// The namespaces to copy it into (under the same name).
    #[serde(default)]
    pub targets: Vec<String>,
}

/// `spec.source`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// `status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default)]
    pub observed_generation: i64,
    /// How many copies are in place.
    #[serde(default)]
    pub copies: u32,
    /// `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A `metav1.Condition`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` / `False`.
    pub status: String,
    /// Machine-readable, CamelCase.
    pub reason: String,
    /// For humans.
    pub message: String,
    /// The generation the condition was set for.
    #[serde(default)]
    pub observed_generation: i64,
    /// When `status` last changed.
    #[serde(default)]
    pub last_transition_time: String,
}

/// A list of `ConfigMirror`s.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigMirrorList {
    /// The items.
    pub items: Vec<ConfigMirror>,
}

/// Only the metadata of a ConfigMap (the source watcher decodes nothing else, so the data of
/// every ConfigMap in the cluster is never held).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaOnly {
    /// Metadata.
    pub metadata: MetaOnlyMeta,
}

/// The fields of [`MetaOnly`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaOnlyMeta {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The key the queue works on: a `ConfigMirror`'s namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Key {
    /// The key of `mirror`.
    pub fn of(mirror: &ConfigMirror) -> Key {
        Key {
            namespace: mirror.metadata.namespace.clone(),
            name: mirror.metadata.name.clone(),
        }
    }

    /// Parses `namespace/name` (the owner annotation).
    pub fn parse(text: &str) -> Option<Key> {
        let (namespace, name) = text.split_once('/')?;
        (!namespace.is_empty() && !name.is_empty()).then(|| Key {
            namespace: namespace.into(),
            name: name.into(),
        })
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}
