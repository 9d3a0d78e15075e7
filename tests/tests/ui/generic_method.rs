#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list<T: serde::de::DeserializeOwned>(&self) -> incluster::Result<T>;
}
fn main() {}
