#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn delete(&self, name: &str, #[header] if_match: &str) -> incluster::Result<()>;
}
fn main() {}
