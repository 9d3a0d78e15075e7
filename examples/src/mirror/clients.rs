//! The API calls the operator makes, as `#[in_cluster_client]` traits.
//!
//! `ConfigMirror`s use the example's own serde structs ([`super::types`]); ConfigMaps use
//! `k8s-openapi`'s `ConfigMap` — the one place this example shows that both kinds of type work
//! with the macro (k8s-openapi is a dependency of the examples only, never of `incluster`).

use incluster::{in_cluster_client, Patch, Watcher};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use super::types::{ConfigMirror, MetaOnly};

/// `mirror.incluster.dev/v1alpha1` `configmirrors`.
#[in_cluster_client]
pub trait Mirrors {
    /// Every `ConfigMirror` in the cluster, then every change.
    #[get("/apis/mirror.incluster.dev/v1alpha1/configmirrors")]
    async fn watch_all(&self) -> incluster::Result<Watcher<ConfigMirror>>;

    /// The `ConfigMirror`s of one namespace, then every change.
    #[get("/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors")]
    async fn watch_in(&self, namespace: &str) -> incluster::Result<Watcher<ConfigMirror>>;

    /// Read one.
    #[get("/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}")]
    async fn get(&self, namespace: &str, name: &str) -> incluster::Result<ConfigMirror>;

    /// Patch its metadata (the finalizer).
    #[patch("/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}")]
    async fn patch(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<ConfigMirror>;

    /// Patch its `status` through the subresource.
    #[patch(
        "/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}/status"
    )]
    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<ConfigMirror>;
}

/// ConfigMaps, typed with `k8s_openapi::api::core::v1::ConfigMap`.
#[in_cluster_client]
pub trait ConfigMaps {
    /// Read one.
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, namespace: &str, name: &str) -> incluster::Result<ConfigMap>;

    /// Server-side apply (creates the copy when it is missing: RBAC `patch` and `create`).
    #[apply("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn apply(
        &self,
        namespace: &str,
        name: &str,
        #[body] object: &ConfigMap,
        #[query] field_manager: &str,
        #[query] force: bool,
    ) -> incluster::Result<ConfigMap>;

    /// A merge patch (drops keys another manager added to a copy).
    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn merge(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
        #[query] field_manager: &str,
    ) -> incluster::Result<ConfigMap>;

    /// Delete one.
    #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn delete(&self, namespace: &str, name: &str) -> incluster::Result<()>;

    /// The copies (by label) in every namespace, then every change.
    #[get("/api/v1/configmaps")]
    async fn watch_copies(
        &self,
        #[query] label_selector: &str,
    ) -> incluster::Result<Watcher<ConfigMap>>;

    /// Every ConfigMap's metadata (to notice source changes), then every change.
    #[get("/api/v1/configmaps")]
    async fn watch_sources(&self) -> incluster::Result<Watcher<MetaOnly>>;
}

/// `events.k8s.io/v1` Events.
#[in_cluster_client]
pub trait Events {
    /// Record one.
    #[post("/apis/events.k8s.io/v1/namespaces/{namespace}/events")]
    async fn create(&self, namespace: &str, #[body] event: &Value) -> incluster::Result<()>;
}
