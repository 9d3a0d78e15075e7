#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self, #[query] (limit, _): (u32, u32)) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, mut name: &str) -> incluster::Result<serde_json::Value>;
}
fn main() {}
