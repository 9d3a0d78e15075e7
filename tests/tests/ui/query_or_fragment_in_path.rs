#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps?limit=5")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps#top")]
    async fn list_again(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
