#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get]
    async fn list(&self) -> incluster::Result<serde_json::Value>;

    #[delete(42)]
    async fn delete_all(&self) -> incluster::Result<()>;
}
fn main() {}
