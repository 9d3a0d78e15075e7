#[incluster::in_cluster_client]
pub trait Pods {
    #[get("/api/v1/namespaces/{namespace}/pods")]
    async fn list_all(
        &self,
        #[query(name = "continue")] token: Option<&str>,
    ) -> incluster::Result<incluster::ListStream<serde_json::Value>>;

    #[get("/api/v1/namespaces/{namespace}/pods")]
    async fn pods(
        &self,
        #[query] label_selector: Option<&str>,
        #[query] resource_version: Option<&str>,
    ) -> incluster::Result<incluster::Watcher<serde_json::Value>>;
}
fn main() {}
