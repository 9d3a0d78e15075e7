//! The seed page's request, from inside a Pod: what
//! `curl --cacert $CACERT --header "Authorization: Bearer $TOKEN" $APISERVER/api` prints, then the
//! ConfigMaps of the Pod's own namespace.
//!
//! Inside a Pod it needs nothing but its ServiceAccount (see `examples/deploy/seed.yaml`). Beside
//! a `kubectl proxy` sidecar, set `INCLUSTER_PROXY=http://127.0.0.1:8001`.

use incluster_examples::api::{ConfigMaps, ConfigMapsClient, Discovery, DiscoveryClient};

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("seed: {err}");
        std::process::exit(1);
    }
}

async fn run() -> incluster::Result<()> {
    let client = incluster_examples::client_from_env()?;

    let versions = DiscoveryClient::new(client.clone()).api_versions().await?;
    println!("$ curl --cacert ${{CACERT}} --header \"Authorization: Bearer ${{TOKEN}}\" -X GET ${{APISERVER}}/api");
    println!(
        "{}",
        serde_json::to_string_pretty(&versions).expect("APIVersions serializes")
    );

    let namespace = client.namespace().to_string();
    let configmaps = ConfigMapsClient::new(client)
        .list(&namespace, None, None)
        .await?;
    println!("\nConfigMaps in namespace {namespace:?} (the Pod's own):");
    for cm in &configmaps.items {
        let keys: Vec<_> = cm.data.keys().map(String::as_str).collect();
        println!("  {:<24} data keys: {}", cm.metadata.name, keys.join(", "));
    }
    if configmaps.items.is_empty() {
        println!("  (none)");
    }
    Ok(())
}
