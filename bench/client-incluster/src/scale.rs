//! The scale workloads (w7, w7m, w8) with incluster, run by `client-incluster-scale scale <kind>
//! <namespace> <objects> <updates> <marker>`; the protocol is described in bench/harness/src/scale.rs.
//! w7 is a `Watcher` + `Store`, w7m the same through `controller::metadata_watcher`, w8 a
//! `controller::Controller` with a no-op reconcile; each with its default configuration, as the
//! peers (bench/client-kube/src/scale.rs, bench/go/scale.go).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use bench_types::scale::{cpu_seconds, say, Args, Progress, SmallConfigMap, GEN, SENT};
use futures::StreamExt;
use incluster::controller::{
    metadata_watcher, Action, Controller, Object, ObjectMeta, ObjectRef, PartialObjectMetadata,
    Stopped,
};
use incluster::watcher::{Event, Store};
use incluster::Watcher;

/// What the scale workloads read of an object, for each type they decode into.
trait Observed: serde::de::DeserializeOwned + Clone + Send + Sync + 'static {
    fn name(&self) -> &str;
    fn annotation(&self, key: &str) -> Option<&str>;
    fn data_len(&self) -> usize;
}

impl Observed for SmallConfigMap {
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(String::as_str)
    }
    fn data_len(&self) -> usize {
        self.data.values().map(String::len).sum()
    }
}

#[cfg(feature = "openapi")]
impl Observed for k8s_openapi::api::core::v1::ConfigMap {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(key)
            .map(String::as_str)
    }
    fn data_len(&self) -> usize {
        self.data
            .as_ref()
            .map_or(0, |d| d.values().map(String::len).sum())
    }
}

/// w7m: the final sum is Σ (name length + length of the GEN annotation), as the peers print it.
impl Observed for PartialObjectMetadata {
    fn name(&self) -> &str {
        &self.metadata.name
    }
    fn annotation(&self, key: &str) -> Option<&str> {
        self.metadata.annotations.get(key).map(String::as_str)
    }
    fn data_len(&self) -> usize {
        self.annotation(GEN).map_or(0, str::len)
    }
}

/// The kinds this binary runs (`client-incluster-scale scale-kinds`): the smoke run covers what is here.
#[cfg(feature = "openapi")]
pub const KINDS: &[&str] = &[
    "watch",
    "watch-keep",
    "watch-small",
    "metadata",
    "controller",
];
/// The kinds this binary runs (`client-incluster-scale scale-kinds`): the smoke run covers what is here.
#[cfg(not(feature = "openapi"))]
pub const KINDS: &[&str] = &["watch-small", "metadata", "controller"];

/// Runs one scale workload; `Ok((count, sum))` of the final view.
pub async fn run(client: incluster::Client, args: &[String]) -> Result<(usize, u64), String> {
    let args = Args::parse(args)?;
    match args.kind.as_str() {
        "watch-small" => watch::<SmallConfigMap>(client, &args, false).await,
        #[cfg(feature = "openapi")]
        "watch" => watch::<k8s_openapi::api::core::v1::ConfigMap>(client, &args, false).await,
        #[cfg(feature = "openapi")]
        "watch-keep" => watch::<k8s_openapi::api::core::v1::ConfigMap>(client, &args, true).await,
        #[cfg(not(feature = "openapi"))]
        "watch" | "watch-keep" => Err(
            "w7 like for like needs client-incluster built with --features openapi (scripts/bench does that outside --smoke)"
                .to_string(),
        ),
        "metadata" => metadata(client, &args).await,
        "controller" => controller(client, &args).await,
        other => Err(format!("unknown scale workload {other}")),
    }
}

/// The LIST request of every ConfigMap of the namespace: what all three workloads watch.
fn configmaps(args: &Args) -> Result<incluster::Request, String> {
    incluster::Request::builder(
        incluster::Method::GET,
        "/api/v1/namespaces/{namespace}/configmaps",
    )
    .path_param("namespace", &args.namespace)
    .build()
    .map_err(|e| e.to_string())
}

/// w7: a `Watcher` + `Store` of every ConfigMap of the namespace (`keep`: with their
/// `managedFields`, which the watcher skips by default; the peers keep them by default).
async fn watch<T: Observed>(
    client: incluster::Client,
    args: &Args,
    keep: bool,
) -> Result<(usize, u64), String> {
    // `Arc<T>` events and a shared store: each object is decoded once and kept once.
    let events = client
        .watcher::<Arc<T>>(configmaps(args)?)
        .keep_managed_fields(keep);
    let store = events.shared_store();
    follow(events, store, args).await
}

/// w7m: `metadata_watcher` (a `Watcher<PartialObjectMetadata>`) and its `Store`.
async fn metadata(client: incluster::Client, args: &Args) -> Result<(usize, u64), String> {
    let events = metadata_watcher(client, configmaps(args)?);
    let store = events.store();
    follow(events, store, args).await
}

/// w7 and w7m after the watcher is made: `ready` at the first `InitDone`, then every `Apply`
/// counts towards `current`; the final view is the store's.
async fn follow<E, T>(
    mut events: Watcher<E>,
    store: Store<T>,
    args: &Args,
) -> Result<(usize, u64), String>
where
    E: Borrow<T> + serde::de::DeserializeOwned + Send + 'static,
    T: Observed,
{
    let mut progress = Progress::new(&args.marker, args.updates);
    let mut listed = false;
    while let Some(event) = events.next().await {
        match event.map_err(|e| format!("watcher: {e}"))? {
            Event::InitDone if !listed => {
                listed = true;
                say(&format!(
                    "ready cpu={:.4} objects={}",
                    cpu_seconds(),
                    store.len()
                ));
                if args.updates == 0 {
                    break;
                }
            }
            Event::Apply(object) => {
                let object: &T = object.borrow();
                if listed
                    && progress.observe(
                        object.name(),
                        object.annotation(GEN),
                        object.annotation(SENT),
                    )
                {
                    say(&progress.current_line());
                    break;
                }
            }
            _ => {}
        }
    }
    let objects = store.list();
    let sum = objects
        .iter()
        .map(|o| (o.name().len() + o.data_len()) as u64)
        .sum();
    Ok((objects.len(), sum))
}

/// w8's object: a ConfigMap as a serde struct with incluster's `ObjectMeta` (k8s-openapi's
/// `ConfigMap` cannot implement incluster's `Object` outside both crates).
#[derive(Debug, Clone, serde::Deserialize)]
struct Cm {
    metadata: ObjectMeta,
    #[serde(default)]
    #[allow(dead_code)]
    // decoded and stored like the peers' ConfigMap; the reconcile reads no data
    data: BTreeMap<String, String>,
}

impl Object for Cm {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// What w8's reconcile records.
struct Reconciles {
    objects: usize,
    first_pass: HashSet<String>,
    ready: bool,
    progress: Progress,
    stop: Option<futures::channel::oneshot::Sender<()>>,
}

impl Reconciles {
    /// One reconcile of `key`: the first pass until every object was reconciled (`ready`),
    /// then the updates until every one was reconciled with the marker (`current`).
    fn reconciled(&mut self, key: &ObjectRef, object: Option<&Cm>) {
        if !self.ready {
            self.first_pass.insert(key.name.clone());
            if self.first_pass.len() >= self.objects {
                self.ready = true;
                say(&format!(
                    "ready cpu={:.4} objects={}",
                    cpu_seconds(),
                    self.first_pass.len()
                ));
                if self.progress.is_current() {
                    self.stop.take().map(|stop| stop.send(()));
                }
            }
        } else if let Some(object) = object {
            let annotations = &object.metadata.annotations;
            if self.progress.observe(
                &key.name,
                annotations.get(GEN).map(String::as_str),
                annotations.get(SENT).map(String::as_str),
            ) && self.stop.is_some()
            {
                say(&self.progress.current_line());
                self.stop.take().map(|stop| stop.send(()));
            }
        }
    }
}

/// w8: `Controller` with a no-op reconcile (`Action::Done`), default settings.
async fn controller(client: incluster::Client, args: &Args) -> Result<(usize, u64), String> {
    let (stop, stopped) = futures::channel::oneshot::channel();
    let state = Arc::new(Mutex::new(Reconciles {
        objects: args.objects,
        first_pass: HashSet::with_capacity(args.objects),
        ready: false,
        progress: Progress::new(&args.marker, args.updates),
        stop: Some(stop),
    }));
    let recorder = state.clone();
    let reconcile = move |key: ObjectRef, object: Option<Arc<Cm>>| {
        let recorder = recorder.clone();
        async move {
            recorder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reconciled(&key, object.as_deref());
            Ok::<_, std::io::Error>(Action::Done)
        }
    };
    let watcher = client.watcher::<Cm>(configmaps(args)?);
    let outcome = Controller::new("bench", watcher)
        .run(reconcile, async {
            let _ = stopped.await;
        })
        .await;
    if outcome != Stopped::Shutdown {
        return Err(format!("the controller stopped: {outcome:?}"));
    }
    let state = state.lock().unwrap_or_else(|e| e.into_inner());
    let count = state.first_pass.len();
    let sum = state.first_pass.iter().map(|n| n.len() as u64).sum();
    Ok((count, sum))
}
