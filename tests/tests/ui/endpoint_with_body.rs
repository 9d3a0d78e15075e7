#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value> {
        todo!()
    }
}
fn main() {}
