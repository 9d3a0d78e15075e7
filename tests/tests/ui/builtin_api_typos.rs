use incluster::in_cluster_client;

#[in_cluster_client]
pub trait Typos {
    #[get("/api/v1/namespaces/{namespace}/configmap")]
    async fn singular(&self) -> incluster::Result<()>;

    #[get("/apis/apps/v2/namespaces/{namespace}/deployments")]
    async fn no_such_version(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/deployments")]
    async fn wrong_group(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/pods/{name}/logs")]
    async fn subresource(&self, name: &str) -> incluster::Result<String>;

    #[get("/api/v1/namespaces/{namespace}/nodes")]
    async fn cluster_scoped(&self) -> incluster::Result<()>;

    #[delete("/api/v1/namespaces/{namespace}/pods/{name}/log")]
    async fn unsupported_verb(&self, name: &str) -> incluster::Result<()>;

    // Custom resources and groups the release does not have are accepted.
    #[get("/apis/example.com/v1/namespaces/{namespace}/widgets")]
    async fn custom(&self) -> incluster::Result<()>;
}

fn main() {}
