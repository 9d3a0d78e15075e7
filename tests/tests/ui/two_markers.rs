#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[put("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn replace(&self, name: &str, #[body] #[header("If-Match")] cm: &serde_json::Value) -> incluster::Result<serde_json::Value>;
}
fn main() {}
