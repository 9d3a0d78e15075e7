#[incluster::in_cluster_client(crate = "incluster", crate = "other::incluster")]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
