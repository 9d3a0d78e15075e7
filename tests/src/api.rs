//! The typed clients the end-to-end tests use: the examples' own, plus what only tests need.

pub use incluster_examples::api::*;

/// Secrets, which the tests' Role does not grant.
#[incluster::in_cluster_client]
pub trait Secrets {
    /// List Secrets in the Pod's namespace.
    #[get("/api/v1/namespaces/{namespace}/secrets")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;
}
