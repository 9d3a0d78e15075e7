//! The controller: three watchers feed the queue, a few workers drain it.
//!
//! - `ConfigMirror`s (all namespaces, or one): every change queues its key.
//! - Copies (ConfigMaps labelled `app.kubernetes.io/managed-by=config-mirror`, all namespaces):
//!   a change or deletion queues the owner named by the copy's annotation, so a hand edit is
//!   repaired. Their store is what reconciles compare against.
//! - Sources (every ConfigMap's metadata only): a change queues the mirrors naming it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use incluster::watcher::{Event, Store};
use incluster::Client;
use tokio::task::JoinSet;

use super::clients::{ConfigMaps, ConfigMapsClient, EventsClient, Mirrors, MirrorsClient};
use super::queue::Queue;
use super::reconcile::{owner_of, reconcile, Context};
use super::report::Recorder;
use super::types::{ConfigMirror, Key};
use super::{COPY_LABEL, COPY_LABEL_VALUE};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Only `ConfigMirror`s of this namespace (`None`: all).
    pub watch_namespace: Option<String>,
    /// Concurrent reconciles (of different keys).
    pub workers: usize,
    /// This replica's name, for Events.
    pub instance: String,
}

/// Runs until a task dies; sets `ready` once the stores are filled.
pub async fn run(client: Client, settings: Settings, ready: Arc<AtomicBool>) {
    let mirrors = MirrorsClient::new(client.clone());
    let configmaps = ConfigMapsClient::new(client.clone());
    let (mirror_watch, copies_watch, sources_watch) =
        match watchers(&mirrors, &configmaps, &settings).await {
            Ok(w) => w,
            Err(err) => {
                tracing::error!(error = %err, "could not build the watchers");
                return;
            }
        };
    let mirror_store: Store<ConfigMirror> = mirror_watch.store();
    let copies = copies_watch.store();
    let queue = Queue::new(Duration::from_millis(200), Duration::from_secs(60));
    let scope = settings.watch_namespace.clone();
    let in_scope = move |key: &Key| scope.as_deref().is_none_or(|ns| ns == key.namespace);

    let mut tasks = JoinSet::new();
    tasks.spawn(drive("configmirrors", mirror_watch, {
        let queue = queue.clone();
        move |event| match event {
            Event::InitApply(m) | Event::Apply(m) | Event::Delete(m) => queue.add(Key::of(&m)),
            // Deleted while the watch was away: reconcile it (its copies go).
            Event::Vanished(gone) => queue.add(Key {
                namespace: gone.namespace.unwrap_or_default(),
                name: gone.name,
            }),
            Event::Init | Event::InitDone => {}
        }
    }));
    tasks.spawn(drive("copies", copies_watch, {
        let (queue, in_scope) = (queue.clone(), in_scope.clone());
        move |event| {
            if let Event::Apply(copy) | Event::Delete(copy) = event {
                if let Some(key) = owner_of(&copy).filter(&in_scope) {
                    queue.add(key);
                }
            }
        }
    }));
    tasks.spawn(drive("sources", sources_watch, {
        let (queue, mirror_store) = (queue.clone(), mirror_store.clone());
        move |event| {
            if let Event::Apply(cm) | Event::Delete(cm) = event {
                let meta = &cm.metadata;
                if meta.labels.get(COPY_LABEL).map(String::as_str) == Some(COPY_LABEL_VALUE) {
                    return;
                }
                for mirror in mirror_store.list() {
                    let source = &mirror.spec.source;
                    if source.namespace == meta.namespace && source.name == meta.name {
                        queue.add(Key::of(&mirror));
                    }
                }
            }
        }
    }));

    mirror_store.wait_ready().await;
    copies.wait_ready().await;
    tracing::info!(
        configmirrors = mirror_store.len(),
        copies = copies.len(),
        "caches synced; reconciling"
    );
    ready.store(true, Ordering::SeqCst);

    let ctx = Context {
        mirrors,
        configmaps,
        copies,
        recorder: Recorder::new(EventsClient::new(client), settings.instance.clone()),
    };
    for _ in 0..settings.workers.max(1) {
        let (ctx, queue) = (ctx.clone(), queue.clone());
        tasks.spawn(async move {
            loop {
                let key = queue.next().await;
                let result = reconcile(&ctx, &key).await;
                if let Err(err) = &result {
                    tracing::warn!(mirror = %key, error = %err, retries = queue.failures(&key) + 1, "reconcile failed; will retry with backoff");
                }
                queue.done(&key, result.is_ok());
            }
        });
    }
    if let Some(ended) = tasks.join_next().await {
        tracing::error!(?ended, "a controller task ended");
    }
}

type Watchers = (
    incluster::Watcher<ConfigMirror>,
    incluster::Watcher<k8s_openapi::api::core::v1::ConfigMap>,
    incluster::Watcher<super::types::MetaOnly>,
);

async fn watchers(
    mirrors: &MirrorsClient,
    configmaps: &ConfigMapsClient,
    settings: &Settings,
) -> incluster::Result<Watchers> {
    let mirror_watch = match &settings.watch_namespace {
        Some(ns) => mirrors.watch_in(ns).await?,
        None => mirrors.watch_all().await?,
    };
    let selector = format!("{COPY_LABEL}={COPY_LABEL_VALUE}");
    Ok((
        mirror_watch,
        configmaps.watch_copies(&selector).await?,
        configmaps.watch_sources().await?,
    ))
}

/// Feeds every event of `watcher` to `on_event`; logs failures (the watcher retries them).
async fn drive<T>(
    what: &'static str,
    mut watcher: incluster::Watcher<T>,
    mut on_event: impl FnMut(Event<T>) + Send + 'static,
) where
    T: serde::de::DeserializeOwned + Send + 'static,
{
    while let Some(event) = watcher.next().await {
        match event {
            Ok(event) => on_event(event),
            Err(err) if err.is_forbidden() => {
                tracing::error!(watch = what, error = %err, "RBAC forbids this watch; apply examples/deploy/mirror-rbac.yaml")
            }
            Err(err) => tracing::warn!(watch = what, error = %err, "watch failed; retrying"),
        }
    }
}
