//! The scale workloads (w7, w7m, w8) with incluster: `client-incluster scale <kind> <namespace>
//! <objects> <updates> <marker>`; the protocol is described in bench/harness/src/scale.rs.

use bench_types::scale::{cpu_seconds, say, Args, Progress, SmallConfigMap, GEN, SENT};
use futures::StreamExt;
use incluster::watcher::Event;

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

/// The kinds this binary runs (`client-incluster scale-kinds`): the smoke run covers what is here.
#[cfg(feature = "openapi")]
pub const KINDS: &[&str] = &["watch", "watch-small"];
/// The kinds this binary runs (`client-incluster scale-kinds`): the smoke run covers what is here.
#[cfg(not(feature = "openapi"))]
pub const KINDS: &[&str] = &["watch-small"];

/// Runs one scale workload; `Ok((count, sum))` of the final view.
pub async fn run(client: incluster::Client, args: &[String]) -> Result<(usize, u64), String> {
    let args = Args::parse(args)?;
    match args.kind.as_str() {
        "watch-small" => watch::<SmallConfigMap>(client, &args).await,
        #[cfg(feature = "openapi")]
        "watch" => watch::<k8s_openapi::api::core::v1::ConfigMap>(client, &args).await,
        #[cfg(not(feature = "openapi"))]
        "watch" => Err(
            "w7 like for like needs client-incluster built with --features openapi (scripts/bench does that outside --smoke)"
                .to_string(),
        ),
        // The incluster side of w7m and w8: see bench/harness/src/scale.rs, "What incluster must
        // call", for what replaces these two arms once the controller module is merged.
        "metadata" | "controller" => Err(format!(
            "{}: not available until the controller module is merged (incluster::controller and metadata-only PartialObjectMetadata watches, branch `controller`)",
            args.kind
        )),
        other => Err(format!("unknown scale workload {other}")),
    }
}

/// w7: a `Watcher` + `Store` of every ConfigMap of the namespace.
async fn watch<T: Observed>(
    client: incluster::Client,
    args: &Args,
) -> Result<(usize, u64), String> {
    let list = incluster::Request::builder(
        incluster::Method::GET,
        "/api/v1/namespaces/{namespace}/configmaps",
    )
    .path_param("namespace", &args.namespace)
    .build()
    .map_err(|e| e.to_string())?;
    // `Arc<T>` events and a shared store: each object is decoded once and kept once.
    let mut events = client.watcher::<std::sync::Arc<T>>(list);
    let store = events.shared_store();
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
            Event::Apply(object)
                if listed
                    && progress.observe(
                        object.name(),
                        object.annotation(GEN),
                        object.annotation(SENT),
                    ) =>
            {
                say(&progress.current_line());
                break;
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
