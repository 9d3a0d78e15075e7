#[derive(serde::Serialize)]
pub struct ListParams {
    pub limit: Option<u32>,
}

#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(
        &self,
        #[query(name = "labelSelector", name = "fieldSelector")] selector: Option<&str>,
        #[query(flatten, flatten)] params: &ListParams,
    ) -> incluster::Result<serde_json::Value>;

    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn merge(
        &self,
        name: &str,
        #[body(content_type = "application/merge-patch+json", content_type = "application/json")] patch: &serde_json::Value,
    ) -> incluster::Result<serde_json::Value>;
}
fn main() {}
