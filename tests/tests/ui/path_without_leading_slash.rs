#[incluster::in_cluster_client]
pub trait Discovery {
    #[get("api")]
    async fn api(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
