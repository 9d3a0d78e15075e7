//! `config-mirror`: keeps copies of a source ConfigMap in target namespaces, as the
//! `ConfigMirror` resources (`examples/deploy/mirror-crd.yaml`) ask. Run two replicas: a Lease
//! elects the one that reconciles; SIGTERM releases the lease and exits at once.
//!
//! Environment (all optional):
//! - `POD_NAME`: this replica's identity in the Lease and in Events (default: `config-mirror-<pid>`);
//! - `MIRROR_LEASE_NAME` (`config-mirror`), `MIRROR_LEASE_NAMESPACE` (the Pod's namespace);
//! - `MIRROR_LEASE_SECONDS` (15), `MIRROR_RENEW_SECONDS` (10), `MIRROR_RETRY_MILLIS` (2000);
//! - `MIRROR_WATCH_NAMESPACE`: reconcile only the `ConfigMirror`s of one namespace (default: all);
//! - `MIRROR_WORKERS` (4): concurrent reconciles; `MIRROR_HEALTH_ADDR` (`0.0.0.0:8080`);
//! - `INCLUSTER_SA_DIR`, `INCLUSTER_PROXY`: see `incluster_examples::client_from_env`.
//!
//! Exit codes: 0 after SIGTERM/SIGINT, 1 when leadership was lost or the controller stopped,
//! 2 without a usable configuration, 3 when RBAC forbids the Lease.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use incluster::leader::{LeaderElection, LeaseSettings};
use incluster_examples::mirror::{controller, health};
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
    let client = match incluster_examples::client_from_env() {
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
    };

    let ready = Arc::new(AtomicBool::new(false));
    let addr = env_or("MIRROR_HEALTH_ADDR", "0.0.0.0:8080".to_string());
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => {
            let bound = listener.local_addr().map(|a| a.to_string()).unwrap_or(addr);
            tracing::info!(addr = %bound, "serving /healthz and /readyz");
            tokio::spawn(health::serve(listener, ready.clone()));
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
    // A standby replica is ready: it can take over.
    ready.store(true, Ordering::SeqCst);
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
    ready.store(false, Ordering::SeqCst);
    let why = tokio::select! {
        _ = controller::run(client, settings, ready) => {
            tracing::error!("the controller stopped");
            Err(ExitCode::from(1))
        }
        _ = leadership.lost() => {
            tracing::error!("lost the lease: exiting so that only one replica acts");
            return ExitCode::from(1);
        }
        _ = term.recv() => Ok("SIGTERM"),
        _ = int.recv() => Ok("SIGINT"),
    };
    match leadership.release().await {
        Ok(()) => tracing::info!("released the lease"),
        Err(err) => {
            tracing::warn!(error = %err, "could not release the lease; it expires by itself")
        }
    }
    match why {
        Ok(signal) => stopped(signal),
        Err(code) => code,
    }
}

fn stopped(signal: &str) -> ExitCode {
    tracing::info!(%signal, "shutting down");
    ExitCode::SUCCESS
}
