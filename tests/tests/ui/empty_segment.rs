#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1//configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/configmaps/")]
    async fn list_trailing(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
