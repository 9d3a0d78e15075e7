#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self, #[query(name = "")] selector: Option<&str>) -> incluster::Result<serde_json::Value>;
}
fn main() {}
