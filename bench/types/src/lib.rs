//! What a careful user declares: the fields the program reads, nothing more.
//! incluster and the hand-written floor decode into exactly these types.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The metadata fields a controller typically reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(default)]
    pub namespace: String,
    /// `metadata.uid`.
    #[serde(default)]
    pub uid: String,
    /// `metadata.resourceVersion`.
    #[serde(default)]
    pub resource_version: String,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A ConfigMap.
#[derive(Debug, Default, Deserialize)]
pub struct ConfigMap {
    /// Its metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Its data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// `metadata` of a list: the continue token.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The token for the next page, empty on the last one.
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
    /// The list's resourceVersion.
    #[serde(default)]
    pub resource_version: String,
}

/// A ConfigMapList (one page or the whole list).
#[derive(Debug, Default, Deserialize)]
pub struct ConfigMapList {
    /// List metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The items.
    #[serde(default)]
    pub items: Vec<ConfigMap>,
}

/// One line of a watch stream, as plain serde decodes it.
#[derive(Debug, Deserialize)]
pub struct WatchLine {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The object.
    pub object: ConfigMap,
}

/// A checksum a client prints so the harness can check every program saw the same data and so
/// the compiler cannot drop the decoding.
pub fn checksum(cm: &ConfigMap) -> u64 {
    (cm.metadata.name.len()
        + cm.metadata.resource_version.len()
        + cm.data.values().map(String::len).sum::<usize>()) as u64
}
