#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[post("/api/v1/namespaces/{namespace}/configmaps")]
    async fn create(&self, #[body] a: &serde_json::Value, #[body] b: &serde_json::Value) -> incluster::Result<serde_json::Value>;
}
fn main() {}
