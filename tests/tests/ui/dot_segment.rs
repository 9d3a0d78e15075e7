#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps/../secrets")]
    async fn sneaky(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/./v1")]
    async fn dotted(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
