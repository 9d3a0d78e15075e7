// Several mistakes: every one is reported, and no cascade of errors about the missing client.
#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, label: &str) -> incluster::Result<serde_json::Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    fn list(&self) -> incluster::Result<serde_json::Value>;
}

fn main() {
    // The stub client still exists, so this line adds no error.
    let _ = ConfigMapsClient::in_cluster();
}
