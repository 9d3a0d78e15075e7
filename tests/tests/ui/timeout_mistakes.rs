use incluster::in_cluster_client;

#[in_cluster_client]
pub trait Timeouts {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(secs = 0)]
    async fn zero(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(mins = 3)]
    async fn unknown_unit(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout("30s")]
    async fn a_string(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(secs = 100000)]
    async fn too_long(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(secs = 1.5)]
    async fn not_whole(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(secs = 5)]
    #[timeout(secs = 6)]
    async fn twice(&self) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout(secs = 5)]
    async fn watch(&self) -> incluster::Result<incluster::WatchStream<serde_json::Value>>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    #[timeout]
    async fn bare(&self) -> incluster::Result<()>;
}

fn main() {}
