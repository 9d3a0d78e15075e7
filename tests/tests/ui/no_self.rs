#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list() -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list_mut(&mut self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
