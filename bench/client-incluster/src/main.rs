//! The benchmark workloads through a generated incluster client. See bench/harness for the protocol:
//! `client-incluster <workload> [n] [in-flight]`, the server from the environment, one result line.
//! (The `Watcher` rows of w4 are in `client-incluster-watcher`, the scale workloads in
//! `client-incluster-scale`: see lib.rs.)

use bench_types::{checksum, ConfigMap, ConfigMapList};
use client_incluster::config;
use futures::{StreamExt, TryStreamExt};

#[incluster::in_cluster_client]
pub trait ConfigMaps {
    /// One ConfigMap of the client's namespace.
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, name: &str) -> incluster::Result<ConfigMap>;

    /// One page (or, without `limit`, all) of the namespace's ConfigMaps.
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(
        &self,
        #[query] limit: Option<u32>,
        #[query(name = "continue")] continue_token: Option<&str>,
    ) -> incluster::Result<ConfigMapList>;

    /// The namespace's ConfigMap events.
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn watch(&self) -> incluster::Result<incluster::WatchStream<ConfigMap>>;
}

mod paged {
    use bench_types::ConfigMap;

    #[incluster::in_cluster_client]
    pub trait PagedConfigMaps {
        /// Every ConfigMap of the namespace, page by page (the runtime adds `limit=500`).
        #[get("/api/v1/namespaces/{namespace}/configmaps")]
        async fn list_all(&self) -> incluster::Result<incluster::ListStream<ConfigMap>>;
    }
}

async fn run(workload: &str, n: usize, in_flight: usize) -> incluster::Result<(usize, u64)> {
    let client = incluster::Client::new(config()?)?;
    let configmaps = ConfigMapsClient::new(client.clone());
    match workload {
        "get" => {
            let names: Vec<String> = (0..10).map(|i| format!("bench-{i}")).collect();
            let sums: Vec<u64> = futures::stream::iter(0..n)
                .map(|i| {
                    let (configmaps, name) = (&configmaps, &names[i % names.len()]);
                    async move { configmaps.get(name).await.map(|cm| checksum(&cm)) }
                })
                .buffer_unordered(in_flight)
                .try_collect()
                .await?;
            Ok((sums.len(), sums.iter().sum()))
        }
        "list" => {
            let list = configmaps.list(None, None).await?;
            Ok((list.items.len(), list.items.iter().map(checksum).sum()))
        }
        "list-paged" => list_paged(&client, &configmaps).await,
        "watch" => {
            let mut events = configmaps.watch().await?;
            let (mut count, mut sum) = (0, 0);
            while let Some(event) = events.next().await {
                match event? {
                    incluster::WatchEvent::Added(cm)
                    | incluster::WatchEvent::Modified(cm)
                    | incluster::WatchEvent::Deleted(cm) => sum += checksum(&cm),
                    incluster::WatchEvent::Bookmark(_) => {}
                }
                count += 1;
            }
            Ok((count, sum))
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The paginated LIST through `incluster::ListStream`.
async fn list_paged(
    client: &incluster::Client,
    _: &ConfigMapsClient,
) -> incluster::Result<(usize, u64)> {
    use paged::PagedConfigMaps;
    let mut items = paged::PagedConfigMapsClient::new(client.clone())
        .list_all()
        .await?;
    let (mut count, mut sum) = (0, 0);
    while let Some(cm) = items.next().await {
        sum += checksum(&cm?);
        count += 1;
    }
    Ok((count, sum))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).expect("workload").clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let n = args.get(2).map_or(1, |s| s.parse().expect("n"));
    let in_flight = args.get(3).map_or(1, |s| s.parse().expect("in-flight"));
    match runtime.block_on(run(&workload, n, in_flight)) {
        Ok((count, sum)) => println!("count={count} sum={sum}"),
        Err(err) => {
            eprintln!("client-incluster {workload}: {err}");
            std::process::exit(1);
        }
    }
}
