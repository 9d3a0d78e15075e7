//! The scale workloads (w7, w7m, w8) with kube-rs: `kube-runtime`'s `watcher` + `reflector`
//! (w7), `watcher` + `reflector` over `Api<PartialObjectMeta<ConfigMap>>` (w7m: metadata-only
//! requests; kube 5's replacement of the deprecated `metadata_watcher`) and `Controller` (w8), each with its default
//! configuration. The protocol is described in bench/harness/src/scale.rs.

use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use kube::ResourceExt;

use bench_types::scale::{cpu_seconds, say, Args, Progress, GEN, SENT};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// Records an object seen after the first complete view (the protocol's shared bookkeeping);
/// true once every update has been seen.
fn observe(progress: &mut Progress, meta: &ObjectMeta) -> bool {
    progress.observe(name(meta), annotation(meta, GEN), annotation(meta, SENT))
}

/// Runs one scale workload; `(count, sum)` of the final view.
pub async fn run(client: kube::Client, args: &[String]) -> Result<(usize, u64), Error> {
    let args = Args::parse(args)?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &args.namespace);
    match args.kind.as_str() {
        "watch" => watch(api, &args, false).await,
        "watch-strip" => watch(api, &args, true).await,
        "metadata" => metadata(Api::namespaced(client, &args.namespace), &args).await,
        "controller" => controller(api, &args).await,
        other => Err(format!("unknown scale workload {other}").into()),
    }
}

/// w7: `watcher` + `reflector` over full ConfigMaps (`strip`: with the managed fields cleared
/// before the store, as kube-rs' docs suggest for memory).
async fn watch(api: Api<ConfigMap>, args: &Args, strip: bool) -> Result<(usize, u64), Error> {
    let (reader, writer) = reflector::store::<ConfigMap>();
    let events = watcher(api, watcher::Config::default()).modify(move |cm| {
        if strip {
            cm.managed_fields_mut().clear();
        }
    });
    let objects = follow(reflector(writer, events), reader, args).await?;
    let sum = objects
        .iter()
        .map(|cm| {
            (name(&cm.metadata).len()
                + cm.data
                    .as_ref()
                    .map_or(0, |d| d.values().map(String::len).sum())) as u64
        })
        .sum();
    Ok((objects.len(), sum))
}

/// w7m: `watcher` + `reflector` of `PartialObjectMeta<ConfigMap>` (metadata-only requests).
async fn metadata(
    api: Api<PartialObjectMeta<ConfigMap>>,
    args: &Args,
) -> Result<(usize, u64), Error> {
    let (reader, writer) = reflector::store();
    let events = reflector(writer, watcher(api, watcher::Config::default()));
    let objects = follow(events, reader, args).await?;
    let sum = objects
        .iter()
        .map(|m| {
            (name(&m.metadata).len() + annotation(&m.metadata, GEN).map_or(0, str::len)) as u64
        })
        .sum();
    Ok((objects.len(), sum))
}

/// w7 and w7m after the reflector is made: `ready` at the first `InitDone`, then every `Apply`
/// counts towards `current`; the final view is the store's.
async fn follow<K, S>(
    events: S,
    reader: reflector::Store<K>,
    args: &Args,
) -> Result<Vec<Arc<K>>, Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + 'static,
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>>,
{
    let mut events = std::pin::pin!(events);
    let mut progress = Progress::new(&args.marker, args.updates);
    let mut listed = false;
    while let Some(event) = events.try_next().await? {
        match event {
            watcher::Event::InitDone if !listed => {
                listed = true;
                say(&format!(
                    "ready cpu={:.4} objects={}",
                    cpu_seconds(),
                    reader.len()
                ));
                if args.updates == 0 {
                    break;
                }
            }
            watcher::Event::Apply(object) if listed && observe(&mut progress, object.meta()) => {
                say(&progress.current_line());
                break;
            }
            _ => {}
        }
    }
    Ok(reader.state())
}

/// What w8's reconciler records.
struct Reconciles {
    objects: usize,
    first_pass: std::collections::HashSet<String>,
    ready: bool,
    progress: Progress,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// w8: `Controller` with a no-op reconcile (`Action::await_change()`).
async fn controller(api: Api<ConfigMap>, args: &Args) -> Result<(usize, u64), Error> {
    let (done, finished) = tokio::sync::oneshot::channel();
    let state = Arc::new(Mutex::new(Reconciles {
        objects: args.objects,
        first_pass: Default::default(),
        ready: false,
        progress: Progress::new(&args.marker, args.updates),
        done: Some(done),
    }));
    async fn reconcile(
        cm: Arc<ConfigMap>,
        state: Arc<Mutex<Reconciles>>,
    ) -> Result<Action, std::io::Error> {
        let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
        let state = &mut *state;
        if !state.ready {
            state.first_pass.insert(name(&cm.metadata).to_string());
            if state.first_pass.len() >= state.objects {
                state.ready = true;
                say(&format!(
                    "ready cpu={:.4} objects={}",
                    cpu_seconds(),
                    state.first_pass.len()
                ));
                if state.progress.is_current() {
                    state.done.take().map(|d| d.send(()));
                }
            }
        } else if observe(&mut state.progress, &cm.metadata) && state.done.is_some() {
            say(&state.progress.current_line());
            state.done.take().map(|d| d.send(()));
        }
        Ok(Action::await_change())
    }
    fn error_policy(_: Arc<ConfigMap>, _: &std::io::Error, _: Arc<Mutex<Reconciles>>) -> Action {
        Action::await_change()
    }
    Controller::new(api, watcher::Config::default())
        .run(reconcile, error_policy, state.clone())
        .take_until(finished)
        .for_each(|_| async {})
        .await;
    let state = state.lock().unwrap_or_else(|e| e.into_inner());
    let count = state.first_pass.len();
    let sum = state.first_pass.iter().map(|n| n.len() as u64).sum();
    Ok((count, sum))
}
