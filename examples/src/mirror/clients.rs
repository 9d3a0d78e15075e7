//! The API calls the operator makes, as `#[in_cluster_client]` traits. Server-side apply needs
//! no `field_manager` argument: the client is built with `Config::with_field_manager`.

use incluster::{in_cluster_client, Patch, Watcher};
use serde_json::Value;

use super::types::{ConfigMap, ConfigMirror};

/// `mirror.incluster.dev/v1alpha1` `configmirrors`.
#[in_cluster_client]
pub trait Mirrors {
    /// Every `ConfigMirror` in the cluster, then every change.
    #[get("/apis/mirror.incluster.dev/v1alpha1/configmirrors")]
    async fn watch_all(&self) -> incluster::Result<Watcher<ConfigMirror>>;

    /// The `ConfigMirror`s of one namespace, then every change.
    #[get("/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors")]
    async fn watch_in(&self, namespace: &str) -> incluster::Result<Watcher<ConfigMirror>>;

    /// Patch one (the finalizer helper adds and removes its finalizer through this).
    #[patch("/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}")]
    async fn patch(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<()>;

    /// Patch its `status` through the subresource.
    #[patch(
        "/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}/status"
    )]
    async fn patch_status(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<()>;
}

/// ConfigMaps.
#[in_cluster_client]
pub trait ConfigMaps {
    /// Read one.
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, namespace: &str, name: &str) -> incluster::Result<ConfigMap>;

    /// Create one (fails with `409 AlreadyExists` if a ConfigMap of that name exists: a copy
    /// is never created over someone else's).
    #[post("/api/v1/namespaces/{namespace}/configmaps")]
    async fn create(
        &self,
        namespace: &str,
        #[body] copy: &ConfigMap,
        #[query] field_manager: &str,
    ) -> incluster::Result<()>;

    /// Server-side apply (the body's `resourceVersion` is a precondition).
    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn apply(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<ConfigMap>,
        #[query] force: bool,
    ) -> incluster::Result<ConfigMap>;

    /// A merge patch (drops data keys another manager added to a copy).
    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn merge(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<()>;

    /// Delete one, with `DeleteOptions` (its UID as a precondition: only the object checked).
    #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn delete(
        &self,
        namespace: &str,
        name: &str,
        #[body] options: &Value,
    ) -> incluster::Result<()>;

    /// Every ConfigMap's metadata only (`PartialObjectMetadata`; pass
    /// [`incluster::controller::ACCEPT`]), then every change: what a source edit looks like.
    #[get("/api/v1/configmaps")]
    async fn watch_sources(
        &self,
        #[header("Accept")] metadata_only: &str,
    ) -> incluster::Result<Watcher<incluster::controller::PartialObjectMetadata>>;

    /// The copies (by label) in every namespace, then every change.
    #[get("/api/v1/configmaps")]
    async fn watch_copies(
        &self,
        #[query] label_selector: &str,
    ) -> incluster::Result<Watcher<ConfigMap>>;
}
