//! The `ConfigMirror` resource (`examples/deploy/mirror-crd.yaml`) and the ConfigMap fields the
//! operator reads and writes: small serde structs around incluster's `ObjectMeta`.

use std::collections::BTreeMap;

use incluster::controller::{Condition, Object, ObjectMeta};
use serde::{Deserialize, Serialize};

/// `mirror.incluster.dev/v1alpha1` `ConfigMirror`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigMirror {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// What to copy where.
    pub spec: MirrorSpec,
    /// What the operator last saw.
    #[serde(default)]
    pub status: Option<MirrorStatus>,
}

impl Object for ConfigMirror {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
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
    /// The namespaces holding a copy of ours (what to remove when a target goes).
    #[serde(default)]
    pub targets: Vec<String>,
    /// `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A ConfigMap: what the operator reads of sources and writes to copies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    /// `apiVersion` (`v1`; set on what the operator applies).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `kind` (`ConfigMap`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// Text data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// Binary data (base64 in JSON).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub binary_data: BTreeMap<String, String>,
}

impl Object for ConfigMap {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}
