#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{name}/configmaps/{name}")]
    async fn get(&self, name: &str) -> incluster::Result<serde_json::Value>;
}
fn main() {}
