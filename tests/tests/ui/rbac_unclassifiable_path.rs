use incluster::in_cluster_client;

#[in_cluster_client]
pub trait Anything {
    #[get("/apis/{group}/v1/namespaces/{namespace}/things")]
    async fn group_placeholder(&self, group: &str) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/{resource}")]
    async fn resource_placeholder(&self, resource: &str) -> incluster::Result<()>;
}

fn main() {}
