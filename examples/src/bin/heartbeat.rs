//! A small operator: every `HEARTBEAT_INTERVAL_SECONDS` (default 30) it server-side-applies the
//! ConfigMap `incluster-heartbeat` in its own namespace with the time and the Pod's name, so other
//! components can see it is alive. It runs as its ServiceAccount with the Role in
//! `examples/deploy/heartbeat.yaml`, derived from the trait it calls (`HeartbeatConfigMap`):
//! get, patch and create on that one ConfigMap (`resourceNames`).
//!
//! `heartbeat --once` beats once and exits (what the end-to-end test runs). Like the seed example it
//! also honours `INCLUSTER_SA_DIR` and `INCLUSTER_PROXY` (see `incluster_examples::client_from_env`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use incluster_examples::api::{HeartbeatConfigMap, HeartbeatConfigMapClient, HEARTBEAT_CONFIGMAP};
use serde_json::json;

const NAME: &str = HEARTBEAT_CONFIGMAP;
const FIELD_MANAGER: &str = "incluster-heartbeat";

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_ansi(false).init();
    let once = std::env::args().any(|a| a == "--once");
    let every = std::env::var("HEARTBEAT_INTERVAL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30));
    let configmaps = match client() {
        Ok(client) => client,
        Err(err) => {
            eprintln!("heartbeat: {err}");
            std::process::exit(2);
        }
    };
    loop {
        match beat(&configmaps).await {
            Ok(beats) => println!(
                "heartbeat: {NAME} in {} now at beat {beats}",
                configmaps.client().namespace()
            ),
            Err(err) if err.is_forbidden() => {
                eprintln!(
                    "heartbeat: RBAC forbids this ({err}); apply examples/deploy/heartbeat.yaml"
                );
                std::process::exit(3);
            }
            Err(err) => eprintln!("heartbeat: {err}; retrying in {}s", every.as_secs()),
        }
        if once {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

fn client() -> incluster::Result<HeartbeatConfigMapClient> {
    incluster_examples::client_from_env().map(HeartbeatConfigMapClient::new)
}

/// Applies the heartbeat ConfigMap; returns the beat count.
async fn beat(configmaps: &HeartbeatConfigMapClient) -> incluster::Result<u64> {
    let previous = match configmaps.get().await {
        Ok(cm) => cm
            .data
            .get("beats")
            .and_then(|b| b.parse().ok())
            .unwrap_or(0),
        Err(err) if err.is_not_found() => 0,
        Err(err) => return Err(err),
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let pod = std::env::var("POD_NAME").unwrap_or_else(|_| "unknown".into());
    let desired = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        "data": {"pod": pod, "unixTime": now.to_string(), "beats": (previous + 1).to_string()},
    });
    let applied = configmaps.apply(&desired, FIELD_MANAGER, true).await?;
    Ok(applied
        .data
        .get("beats")
        .and_then(|b| b.parse().ok())
        .unwrap_or(previous + 1))
}
