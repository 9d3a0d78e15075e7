// A where clause alone makes a trait or a method generic too; the error points at it.
#[incluster::in_cluster_client]
pub trait ConfigMaps
where
    Self: Sized,
{
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self) -> incluster::Result<serde_json::Value>
    where
        Self: Sync;
}
fn main() {}
