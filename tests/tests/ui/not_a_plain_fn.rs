#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async unsafe fn list(&self) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async extern "C" fn list_c(&self) -> incluster::Result<serde_json::Value>;
}
fn main() {}
