#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn new(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn in_cluster(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn client(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
