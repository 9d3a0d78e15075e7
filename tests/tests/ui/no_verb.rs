#[incluster::in_cluster_client]
pub trait ConfigMaps {
    async fn list(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
