#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, #[query] name: &str) -> incluster::Result<serde_json::Value>;
}
fn main() {}
