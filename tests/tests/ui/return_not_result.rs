#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> serde_json::Value;

    #[delete("/api/v1/namespaces/{namespace}/configmaps")]
    async fn delete_all(&self);
}
fn main() {}
