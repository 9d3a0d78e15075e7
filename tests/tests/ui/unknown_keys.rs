#[incluster::in_cluster_client(krate = "incluster")]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(&self, #[query(nmae = "x")] a: Option<&str>) -> incluster::Result<serde_json::Value>;

    #[post("/api/v1/namespaces/{namespace}/configmaps")]
    async fn create(&self, #[body(type = "json")] cm: &serde_json::Value) -> incluster::Result<serde_json::Value>;
}
fn main() {}
