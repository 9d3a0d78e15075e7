//! The controller: which watchers feed it and how their events map to mirrors.
//!
//! - `ConfigMirror`s (all namespaces, or one): the primary resource; an index by the targets
//!   and the source each names.
//! - Copies (ConfigMaps labelled `app.kubernetes.io/managed-by=config-mirror`, whole objects:
//!   reconciles compare their data): an event queues the owner the copy names and the mirrors
//!   claiming its place.
//! - Every ConfigMap's metadata only (`PartialObjectMetadata`): a source edit queues the mirrors
//!   copying it, a foreign ConfigMap appearing or going in a target queues the mirrors aiming
//!   there — looked up in the index, never by scanning every mirror.

use std::sync::Arc;
use std::time::Duration;

use incluster::controller::{Controller, Index, ObjectRef, Recorder};
use incluster::Client;

use super::clients::{ConfigMaps, ConfigMapsClient, Mirrors, MirrorsClient};
use super::ownership::{source_key, target_key};
use super::reconcile::{mirrors_of, reconcile, Context};
use super::types::ConfigMirror;
use super::{COPY_LABEL, COPY_LABEL_VALUE, GROUP, MANAGER};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Only `ConfigMirror`s of this namespace (`None`: all).
    pub watch_namespace: Option<String>,
    /// Concurrent reconciles (of different keys).
    pub workers: usize,
    /// This replica's name, for Events.
    pub instance: String,
    /// How long one reconcile may take before it is cancelled and retried.
    pub reconcile_timeout: Duration,
    /// Every mirror is reconciled again this often.
    pub resync: Duration,
}

/// The controller and what its reconciles share.
pub async fn build(
    client: Client,
    settings: &Settings,
) -> incluster::Result<(Controller<ConfigMirror>, Arc<Context>)> {
    let mirrors = MirrorsClient::new(client.clone());
    let configmaps = ConfigMapsClient::new(client.clone());
    let primary = match &settings.watch_namespace {
        Some(ns) => mirrors.watch_in(ns).await?,
        None => mirrors.watch_all().await?,
    };
    let copies_watch = configmaps
        .watch_copies(&format!("{COPY_LABEL}={COPY_LABEL_VALUE}"))
        .await?;
    let configmaps_watch = configmaps
        .watch_sources(incluster::controller::ACCEPT)
        .await?;

    let claims = Index::new(|mirror: &ConfigMirror| {
        if mirror.metadata.deletion_timestamp.is_some() {
            return Vec::new(); // a mirror going away claims nothing: another may take over
        }
        let spec = &mirror.spec;
        let mut keys: Vec<String> = spec
            .targets
            .iter()
            .filter(|t| **t != spec.source.namespace)
            .map(|t| target_key(t, &spec.source.name))
            .collect();
        keys.push(source_key(&spec.source.namespace, &spec.source.name));
        keys
    });
    let scope = settings.watch_namespace.clone();
    let in_scope = move |key: &ObjectRef| {
        scope
            .as_deref()
            .is_none_or(|ns| key.namespace.as_deref() == Some(ns))
    };
    let primary_store = primary.store();
    let ctx = Arc::new(Context {
        mirrors_store: primary_store,
        client: client.clone(),
        mirrors,
        configmaps,
        copies: copies_watch.store(),
        configmaps_meta: configmaps_watch.store(),
        claims: claims.clone(),
        recorder: Recorder::new(client, &format!("{GROUP}/{MANAGER}"), &settings.instance),
    });
    let (copies_claims, all_claims) = (claims.clone(), claims.clone());
    let copies_scope = in_scope.clone();
    let controller = Controller::new("configmirror", primary)
        .index(claims)
        .watches(copies_watch, move |copy| {
            let mut keys = mirrors_of(&copies_claims, &copy.metadata);
            keys.retain(&copies_scope);
            keys
        })
        .watches(configmaps_watch, move |cm| {
            let mut keys = mirrors_of(&all_claims, &cm.metadata);
            keys.retain(&in_scope);
            keys
        })
        .concurrency(settings.workers)
        .reconcile_timeout(settings.reconcile_timeout)
        .resync(settings.resync)
        .backoff(Duration::from_millis(200), Duration::from_secs(60));
    Ok((controller, ctx))
}

/// Runs `controller` until `shutdown` resolves.
pub async fn run(
    controller: Controller<ConfigMirror>,
    ctx: Arc<Context>,
    shutdown: impl std::future::Future<Output = ()>,
) -> incluster::controller::Stopped {
    controller
        .run(move |_key, mirror| reconcile(ctx.clone(), mirror), shutdown)
        .await
}
