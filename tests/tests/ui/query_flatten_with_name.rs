#[derive(serde::Serialize)]
pub struct ListParams {
    pub limit: Option<u32>,
}

#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self, #[query(flatten, name = "params")] params: &ListParams) -> incluster::Result<serde_json::Value>;
}
fn main() {}
