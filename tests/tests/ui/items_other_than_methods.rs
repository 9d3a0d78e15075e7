#[incluster::in_cluster_client]
pub trait ConfigMaps {
    const KIND: &'static str;

    type Item;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
