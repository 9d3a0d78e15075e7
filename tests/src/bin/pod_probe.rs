//! Client code run inside a simulated Pod by the end-to-end tests, exactly as it would run in a
//! real one: `Config::in_cluster_at($INCLUSTER_SA_DIR)` with the kubelet's environment, or
//! `Config::proxy($INCLUSTER_PROXY)` beside a `kubectl proxy`.
//!
//! Usage: `pod_probe <scenario> [args]`; prints one JSON object per observation (typed values:
//! booleans, codes, names), exits non-zero on an unexpected result. Logs (incluster's own
//! `tracing` output) go to standard error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use incluster::{Client, Error, Patch};
use incluster_tests::api::{
    ConfigMap, ConfigMaps, ConfigMapsClient, Discovery, DiscoveryClient, Secrets, SecretsClient,
};
use serde_json::json;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[tokio::main]
async fn main() {
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(std::io::stderr),
        )
        .with(TokenRereads)
        .with(LevelFilter::DEBUG)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args.first().map(String::as_str).unwrap_or("");
    let result = match incluster_examples::client_from_env() {
        Ok(client) => run(scenario, &args[1..], client).await,
        Err(err) => Err(format!("config error: {err}")),
    };
    if let Err(message) = result {
        println!("FAILED: {message}");
        std::process::exit(1);
    }
}

async fn run(scenario: &str, args: &[String], client: Client) -> Result<(), String> {
    let configmaps = ConfigMapsClient::new(client.clone());
    match scenario {
        "api" => {
            let versions = DiscoveryClient::new(client)
                .api_versions()
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&versions).map_err(|e| e.to_string())?
            );
        }
        "crud" => crud(&configmaps, client.namespace())
            .await
            .map_err(|e| format!("{e} [{e:?}]"))?,
        "forbidden" => {
            let err = SecretsClient::new(client)
                .list()
                .await
                .err()
                .ok_or("listing Secrets succeeded")?;
            let status = err
                .status()
                .ok_or_else(|| format!("not an API error: {err}"))?;
            observe(
                json!({"forbidden": err.is_forbidden(), "code": status.code, "reason": status.reason}),
            );
        }
        "errors" => {
            let missing = configmaps
                .get("does-not-exist")
                .await
                .err()
                .ok_or("get of a missing ConfigMap succeeded")?;
            observe(
                json!({"not_found": missing.is_not_found(), "code": missing.status().map(|s| s.code)}),
            );
            let cm = ConfigMap::new("twice", &[("k", "v")], &[]);
            configmaps
                .create(&cm, None)
                .await
                .map_err(|e| e.to_string())?;
            let again = configmaps
                .create(&cm, None)
                .await
                .err()
                .ok_or("second create succeeded")?;
            observe(
                json!({"conflict": again.is_conflict(), "reason": again.status().map(|s| s.reason.clone())}),
            );
            configmaps
                .delete("twice")
                .await
                .map_err(|e| e.to_string())?;
        }
        "tls" => match DiscoveryClient::new(client).api_versions().await {
            Err(Error::Tls {
                server,
                message,
                source,
            }) => observe(json!({
                "tls_error": {
                    "server": server,
                    "message": message,
                    "unknown_issuer": source == rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
                }
            })),
            other => return Err(format!("expected Error::Tls, got {other:?}")),
        },
        "watch" => {
            // Watch, then create, modify and delete a ConfigMap; print the events seen.
            use futures::StreamExt;
            use incluster::WatchEvent;
            let mut events = configmaps
                .watch(None, Some(30))
                .await
                .map_err(|e| e.to_string())?;
            let writer = configmaps.clone();
            let changes = tokio::spawn(async move {
                let created = writer
                    .create(&ConfigMap::new("watched", &[("v", "1")], &[]), None)
                    .await?;
                let mut changed = created.clone();
                changed.data.insert("v".into(), "2".into());
                writer.replace("watched", &changed).await?;
                writer.delete("watched").await
            });
            let mut seen = 0;
            while let Some(event) = events.next().await {
                let (kind, cm) = match event.map_err(|e| e.to_string())? {
                    WatchEvent::Added(cm) => ("ADDED", cm),
                    WatchEvent::Modified(cm) => ("MODIFIED", cm),
                    WatchEvent::Deleted(cm) => ("DELETED", cm),
                    WatchEvent::Bookmark(_) => continue,
                };
                if cm.metadata.name == "watched" {
                    observe(
                        json!({"event": kind, "name": cm.metadata.name, "v": cm.data.get("v")}),
                    );
                    seen += 1;
                    if seen == 3 {
                        break;
                    }
                }
            }
            changes
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
        "loop" => {
            // pod_probe loop <seconds> <name>: GET the ConfigMap every 50 ms, count failures.
            let seconds: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(10);
            let name = args.get(1).cloned().unwrap_or_else(|| "probe".into());
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let (mut ok, mut failed) = (0u32, 0u32);
            while Instant::now() < deadline {
                match configmaps.get(&name).await {
                    Ok(_) => ok += 1,
                    Err(err) => {
                        failed += 1;
                        observe(json!({"request_failed": err.to_string()}));
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let token_rereads = TOKEN_REREADS.load(Ordering::Relaxed);
            observe(json!({"ok": ok, "failed": failed, "token_rereads": token_rereads}));
        }
        other => return Err(format!("unknown scenario {other:?}")),
    }
    Ok(())
}

/// Create, get, list by label, replace, patch, delete, in the Pod's namespace.
async fn crud(configmaps: &ConfigMapsClient, namespace: &str) -> incluster::Result<()> {
    let cm = ConfigMap::new("crud-a", &[("greeting", "hello")], &[("app", "crud")]);
    let created = configmaps.create(&cm, None).await?;
    observe(json!({"created": created.metadata.name, "namespace": created.metadata.namespace}));
    configmaps
        .create(&ConfigMap::new("crud-b", &[], &[("app", "other")]), None)
        .await?;
    let dry = configmaps
        .create(&ConfigMap::new("crud-dry", &[], &[]), Some("All"))
        .await?;
    observe(json!({"dry_run_name": dry.metadata.name}));

    let got = configmaps.get("crud-a").await?;
    observe(json!({"got": got.metadata.name, "greeting": got.data["greeting"]}));

    let listed = configmaps
        .list(namespace, Some("app=crud"), Some(10))
        .await?;
    let names: Vec<_> = listed
        .items
        .iter()
        .map(|c| c.metadata.name.as_str())
        .collect();
    observe(json!({"listed": names}));

    let mut replacement = got.clone();
    replacement.data.insert("greeting".into(), "bonjour".into());
    let replaced = configmaps.replace("crud-a", &replacement).await?;
    observe(json!({"replaced_greeting": replaced.data["greeting"]}));
    let stale = configmaps
        .replace("crud-a", &replacement)
        .await
        .unwrap_err();
    observe(json!({"stale_replace_conflict": stale.is_conflict()}));

    let merged = configmaps
        .patch(
            "crud-a",
            &Patch::Merge(serde_json::json!({"data": {"merged": "yes"}})),
            None,
            None,
        )
        .await?;
    observe(json!({"merge_patched": merged.data.get("merged")}));
    let applied = configmaps
        .patch(
            "crud-a",
            &Patch::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "crud-a"}, "data": {"applied": "yes"}})),
            Some("pod-probe"),
            Some(true),
        )
        .await?;
    observe(json!({"applied": applied.data.get("applied")}));

    configmaps.delete("crud-a").await?;
    configmaps.delete("crud-b").await?;
    let gone = configmaps.get("crud-a").await.unwrap_err();
    observe(json!({"deleted_not_found": gone.is_not_found()}));
    Ok(())
}

/// Prints one observation as a line of JSON.
/// How many requests the client retried with a re-read token after a 401: the runtime's events
/// that carry the `token_reread` field, counted by field, not by wording.
static TOKEN_REREADS: AtomicU64 = AtomicU64::new(0);

/// Counts [`TOKEN_REREADS`].
struct TokenRereads;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for TokenRereads {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().fields().field("token_reread").is_some() {
            TOKEN_REREADS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn observe(value: serde_json::Value) {
    println!("{value}");
}
