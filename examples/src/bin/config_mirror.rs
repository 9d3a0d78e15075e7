//! `config-mirror`: keeps copies of a source ConfigMap in target namespaces, as the
//! `ConfigMirror` resources (`examples/deploy/mirror-crd.yaml`) ask. Run two replicas: a Lease
//! elects the one that reconciles; SIGTERM stops taking work, lets in-flight reconciles finish,
//! releases the lease and exits.
//!
//! Environment (all optional):
//! - `POD_NAME`: this replica's identity in the Lease and in Events (default: `config-mirror-<pid>`);
//! - `MIRROR_LEASE_NAME` (`config-mirror`), `MIRROR_LEASE_NAMESPACE` (the Pod's namespace);
//! - `MIRROR_LEASE_SECONDS` (15), `MIRROR_RENEW_SECONDS` (10), `MIRROR_RETRY_MILLIS` (2000);
//! - `MIRROR_WATCH_NAMESPACE`: reconcile only the `ConfigMirror`s of one namespace (default: all);
//! - `MIRROR_WORKERS` (4): concurrent reconciles; `MIRROR_HEALTH_ADDR` (`0.0.0.0:8080`: `/healthz`,
//!   `/readyz`, `/metrics`);
//! - `MIRROR_REQUEST_TIMEOUT_SECS` (20): the most one API call may take;
//!   `MIRROR_RECONCILE_TIMEOUT_SECS` (60): the most one reconcile may take (then it is
//!   cancelled and retried); `MIRROR_RESYNC_SECS` (600): every mirror is reconciled this often;
//! - `INCLUSTER_SA_DIR`, `INCLUSTER_PROXY`: see `incluster_examples::client_from_env`.
//!
//! Exit codes: 0 after SIGTERM/SIGINT, 1 when leadership was lost or the controller stopped,
//! 2 without a usable configuration, 3 when RBAC forbids the Lease.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use incluster::controller::Stopped;
use incluster::leader::{LeaderElection, LeaseSettings};
use incluster_examples::mirror::{controller, health, MANAGER};
use tokio::signal::unix::{signal, SignalKind};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_target(false)
        .init();
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|err| tracing::warn!(error = %err, "no /metrics: cannot install the exporter"))
        .ok();
    let timeout = Duration::from_secs(env_or("MIRROR_REQUEST_TIMEOUT_SECS", 20));
    let client = match incluster_examples::config_from_env()
        .map(|c| c.with_field_manager(MANAGER).with_timeout(timeout))
        .and_then(incluster::Client::new)
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "no Kubernetes configuration");
            return ExitCode::from(2);
        }
    };
    let identity = env_or("POD_NAME", format!("config-mirror-{}", std::process::id()));
    let lease_ns = env_or("MIRROR_LEASE_NAMESPACE", client.namespace().to_string());
    let lease_name = env_or("MIRROR_LEASE_NAME", "config-mirror".to_string());
    let settings = controller::Settings {
        watch_namespace: std::env::var("MIRROR_WATCH_NAMESPACE")
            .ok()
            .filter(|s| !s.is_empty()),
        workers: env_or("MIRROR_WORKERS", 4),
        instance: identity.clone(),
        reconcile_timeout: Duration::from_secs(env_or("MIRROR_RECONCILE_TIMEOUT_SECS", 60)),
        resync: Duration::from_secs(env_or("MIRROR_RESYNC_SECS", 600)),
    };
    let (mirror_controller, ctx) = match controller::build(client.clone(), &settings).await {
        Ok(built) => built,
        Err(err) => {
            tracing::error!(error = %err, "could not build the controller");
            return ExitCode::from(2);
        }
    };
    let health = mirror_controller.health();

    // A standby replica is ready (it can take over) and healthy; the leader is ready once its
    // caches are synced and healthy while no worker is wedged.
    let leading = Arc::new(AtomicBool::new(false));
    let probes = health::Probes {
        healthy: Arc::new({
            let (leading, health) = (leading.clone(), health.clone());
            move || !leading.load(Ordering::SeqCst) || health.is_healthy()
        }),
        ready: Arc::new({
            let (leading, health) = (leading.clone(), health.clone());
            move || !leading.load(Ordering::SeqCst) || health.is_ready()
        }),
        metrics: metrics.map(|handle| {
            Arc::new(move || handle.render()) as Arc<dyn Fn() -> String + Send + Sync>
        }),
    };
    let addr = env_or("MIRROR_HEALTH_ADDR", "0.0.0.0:8080".to_string());
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
            tracing::info!(addr = %bound, "serving /healthz, /readyz and /metrics");
            tokio::spawn(health::serve(listener, probes));
        }
        Err(err) => {
            tracing::error!(%addr, error = %err, "cannot listen for probes");
            return ExitCode::from(2);
        }
    }
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers");
        return ExitCode::from(2);
    };

    let lease = LeaseSettings::new(&lease_ns, &lease_name, &identity)
        .lease_duration(Duration::from_secs(env_or("MIRROR_LEASE_SECONDS", 15)))
        .renew_deadline(Duration::from_secs(env_or("MIRROR_RENEW_SECONDS", 10)))
        .retry_period(Duration::from_millis(env_or("MIRROR_RETRY_MILLIS", 2000)));
    let election = LeaderElection::new(client.clone(), lease);
    tracing::info!(lease = %format!("{lease_ns}/{lease_name}"), %identity, "standing by for leadership");
    let leadership = tokio::select! {
        acquired = election.acquire() => match acquired {
            Ok(leadership) => leadership,
            Err(err) if err.is_forbidden() => {
                tracing::error!(lease = %format!("{lease_ns}/{lease_name}"), error = %err,
                    "RBAC forbids leader election: grant get, create and update on leases (coordination.k8s.io) in {lease_ns}; apply examples/deploy/mirror-rbac.yaml");
                return ExitCode::from(3);
            }
            Err(err) => {
                tracing::error!(error = %err, "leader election failed");
                return ExitCode::from(1);
            }
        },
        _ = term.recv() => return stopped("SIGTERM"),
        _ = int.recv() => return stopped("SIGINT"),
    };
    tracing::info!(%identity, "leading: starting the controller");
    leading.store(true, Ordering::SeqCst);
    let mut signalled = None;
    let shutdown = async {
        tokio::select! {
            _ = term.recv() => signalled = Some("SIGTERM"),
            _ = int.recv() => signalled = Some("SIGINT"),
            _ = leadership.lost() => {}
        }
    };
    let outcome = controller::run(mirror_controller, ctx, shutdown).await;
    let Some(signal) = signalled else {
        tracing::error!(
            ?outcome,
            "lost the lease: exiting so that only one replica acts"
        );
        return ExitCode::from(1);
    };
    debug_assert_eq!(outcome, Stopped::Shutdown);
    match leadership.release().await {
        Ok(()) => tracing::info!("released the lease"),
        Err(err) => {
            tracing::warn!(error = %err, "could not release the lease; it expires by itself")
        }
    }
    stopped(signal)
}

fn stopped(signal: &str) -> ExitCode {
    tracing::info!(%signal, "shutting down");
    ExitCode::SUCCESS
}
