use incluster::in_cluster_client;

#[in_cluster_client]
pub trait Apply {
    #[apply("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn no_body(&self, name: &str) -> incluster::Result<()>;

    #[apply("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn content_type(
        &self,
        name: &str,
        #[body(content_type = "application/json")] cm: &serde_json::Value,
    ) -> incluster::Result<()>;

    #[apply("/api/v1/namespaces/{namespace}/configmaps")]
    async fn collection(&self, #[body] cm: &serde_json::Value) -> incluster::Result<()>;
}

fn main() {}
