//! Reads one ConfigMap of the Pod's namespace and prints its data.

use std::collections::BTreeMap;

#[derive(Debug, serde::Deserialize)]
pub struct ConfigMap {
    pub data: Option<BTreeMap<String, String>>,
}

#[incluster::in_cluster_client]
pub trait ConfigMaps {
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, name: &str) -> incluster::Result<ConfigMap>;
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> incluster::Result<()> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "settings".into());
    let configmap = ConfigMapsClient::in_cluster()?.get(&name).await?;
    println!("{:?}", configmap.data);
    Ok(())
}
