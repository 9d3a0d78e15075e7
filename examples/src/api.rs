//! What a user writes: small serde structs with just the fields the program reads, and
//! `#[in_cluster_client]` traits. The examples and the end-to-end tests share them.

use std::collections::BTreeMap;

use incluster::{in_cluster_client, Patch};
use serde::{Deserialize, Serialize};

/// `metadata` of an object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Optimistic-concurrency token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// A ConfigMap.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    /// `v1`.
    #[serde(default)]
    pub api_version: String,
    /// `ConfigMap`.
    #[serde(default)]
    pub kind: String,
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

impl ConfigMap {
    /// A ConfigMap named `name` with the given data and labels.
    pub fn new(name: &str, data: &[(&str, &str)], labels: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            metadata: ObjectMeta {
                name: name.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..ObjectMeta::default()
            },
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// A list of ConfigMaps.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigMapList {
    /// The items.
    pub items: Vec<ConfigMap>,
}

/// `GET /api`: the seed's own request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiVersions {
    /// `APIVersions`.
    pub kind: String,
    /// `["v1"]`.
    pub versions: Vec<String>,
    /// Where clients in each CIDR reach the server.
    #[serde(rename = "serverAddressByClientCIDRs", default)]
    pub server_address_by_client_cidrs: Vec<ServerAddressByClientCidr>,
}

/// One entry of `serverAddressByClientCIDRs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAddressByClientCidr {
    /// e.g. `0.0.0.0/0`.
    #[serde(rename = "clientCIDR")]
    pub client_cidr: String,
    /// e.g. `10.0.1.149:443`.
    pub server_address: String,
}

/// The seed's request.
#[in_cluster_client]
pub trait Discovery {
    /// The core API versions, as `curl $APISERVER/api` prints them.
    #[get("/api")]
    async fn api_versions(&self) -> incluster::Result<ApiVersions>;
}

/// What the seed lists, and nothing more: the ConfigMaps of its own namespace. (Its RBAC is
/// derived from the traits it calls: `cargo run -p incluster-examples --bin rbac -- seed`.)
#[in_cluster_client]
pub trait OwnConfigMaps {
    /// List the ConfigMaps of the Pod's namespace.
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<ConfigMapList>;
}

/// The name of the heartbeat's ConfigMap.
pub const HEARTBEAT_CONFIGMAP: &str = "incluster-heartbeat";

/// The heartbeat's one ConfigMap, by name: its RBAC grants that object only (`resourceNames`).
#[in_cluster_client]
pub trait HeartbeatConfigMap {
    /// Read it.
    #[get("/api/v1/namespaces/{namespace}/configmaps/incluster-heartbeat")]
    async fn get(&self) -> incluster::Result<ConfigMap>;

    /// Server-side apply (creates it the first time).
    #[apply("/api/v1/namespaces/{namespace}/configmaps/incluster-heartbeat")]
    async fn apply(
        &self,
        #[body] object: &serde_json::Value,
        #[query] field_manager: &str,
        #[query] force: bool,
    ) -> incluster::Result<ConfigMap>;
}

/// ConfigMaps in the Pod's namespace (or any, where a `namespace` argument is given).
#[in_cluster_client]
pub trait ConfigMaps {
    /// Read one ConfigMap in the Pod's own namespace.
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, name: &str) -> incluster::Result<ConfigMap>;

    /// List ConfigMaps in a namespace.
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(
        &self,
        namespace: &str,
        #[query] label_selector: Option<&str>,
        #[query] limit: Option<u32>,
    ) -> incluster::Result<ConfigMapList>;

    /// Create a ConfigMap in the Pod's namespace.
    #[post("/api/v1/namespaces/{namespace}/configmaps")]
    async fn create(
        &self,
        #[body] cm: &ConfigMap,
        #[query] dry_run: Option<&str>,
    ) -> incluster::Result<ConfigMap>;

    /// Replace a ConfigMap (optimistic concurrency through `metadata.resourceVersion`).
    #[put("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn replace(&self, name: &str, #[body] cm: &ConfigMap) -> incluster::Result<ConfigMap>;

    /// Patch a ConfigMap with the caller's strategy.
    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn patch(
        &self,
        name: &str,
        #[body] patch: &Patch<serde_json::Value>,
        #[query] field_manager: Option<&str>,
        #[query] force: Option<bool>,
    ) -> incluster::Result<ConfigMap>;

    /// Delete a ConfigMap.
    #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn delete(&self, name: &str) -> incluster::Result<()>;

    /// Watch ConfigMaps in the Pod's namespace (the server ends the watch after `timeout_seconds`).
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn watch(
        &self,
        #[query] resource_version: Option<&str>,
        #[query] timeout_seconds: Option<u32>,
    ) -> incluster::Result<incluster::WatchStream<ConfigMap>>;
}
