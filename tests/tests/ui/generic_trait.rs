#[incluster::in_cluster_client]
pub trait Objects<T> {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
