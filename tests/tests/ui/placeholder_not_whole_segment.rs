#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps/cm-{name}")]
    async fn get(&self, name: &str) -> incluster::Result<serde_json::Value>;
}
fn main() {}
