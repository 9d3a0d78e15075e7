#[incluster::in_cluster_client]
pub trait Pods {
    #[post("/api/v1/namespaces/{namespace}/pods")]
    async fn create_all(
        &self,
        #[body] pods: &serde_json::Value,
    ) -> incluster::Result<incluster::ListStream<serde_json::Value>>;

    #[delete("/api/v1/namespaces/{namespace}/pods")]
    async fn delete_watch(&self) -> incluster::Result<incluster::WatchStream<serde_json::Value>>;
}
fn main() {}
