//! One reconcile of one `ConfigMirror`: make the world match its spec, then say so.
//!
//! Level-based and idempotent: it reads the resource fresh, compares each copy with the copies
//! watcher's store, and writes only what differs, so a reconcile of a converged resource (after a
//! restart, a failover, or a resync) sends no write at all.

use std::collections::BTreeMap;

use incluster::watcher::Store;
use incluster::Patch;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{json, Value};

use super::clients::{ConfigMaps, ConfigMapsClient, Mirrors, MirrorsClient};
use super::report::{write_status, Ready, Recorder};
use super::types::{ConfigMirror, Key};
use super::{COPY_LABEL, COPY_LABEL_VALUE, FINALIZER, GROUP, MANAGER, OWNER_ANNOTATION, VERSION};

/// What a reconcile needs.
#[derive(Clone)]
pub struct Context {
    /// `ConfigMirror`s.
    pub mirrors: MirrorsClient,
    /// ConfigMaps.
    pub configmaps: ConfigMapsClient,
    /// Every copy, as the copies watcher last saw it.
    pub copies: Store<ConfigMap>,
    /// Events.
    pub recorder: Recorder,
}

/// Why a reconcile failed (the caller retries it with backoff).
#[derive(Debug)]
pub enum Failure {
    /// An API call failed.
    Api(incluster::Error),
    /// Some copies could not be applied or removed (each named).
    Copies(String),
}

impl From<incluster::Error> for Failure {
    fn from(err: incluster::Error) -> Failure {
        Failure::Api(err)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Api(err) => err.fmt(f),
            Failure::Copies(message) => f.write_str(message),
        }
    }
}

/// Reconciles the `ConfigMirror` `key`. An `Err` is retried with backoff by the caller.
pub async fn reconcile(ctx: &Context, key: &Key) -> Result<(), Failure> {
    let mut mirror = match ctx.mirrors.get(&key.namespace, &key.name).await {
        Ok(mirror) => mirror,
        Err(err) if err.is_not_found() => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    if mirror.metadata.deletion_timestamp.is_some() {
        return Ok(finalize(ctx, key, &mirror).await?);
    }
    if !mirror.metadata.finalizers.iter().any(|f| f == FINALIZER) {
        let mut finalizers = mirror.metadata.finalizers.clone();
        finalizers.push(FINALIZER.into());
        let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": mirror.metadata.resource_version}});
        mirror = ctx
            .mirrors
            .patch(&key.namespace, &key.name, &Patch::Merge(patch))
            .await?;
        tracing::info!(mirror = %key, "added the finalizer");
    }

    let source_ref = &mirror.spec.source;
    let source = match ctx
        .configmaps
        .get(&source_ref.namespace, &source_ref.name)
        .await
    {
        Ok(source) => source,
        Err(err) if err.is_not_found() || err.is_forbidden() => {
            let (reason, what) = if err.is_not_found() {
                ("SourceNotFound", "does not exist")
            } else {
                ("SourceForbidden", "cannot be read by the operator (RBAC)")
            };
            let message = format!(
                "source ConfigMap {}/{} {what}; copies are left as they are",
                source_ref.namespace, source_ref.name
            );
            let ready = Ready {
                ready: false,
                reason: reason.into(),
                message: message.clone(),
                copies: owned_copies(ctx, key).len() as u32,
            };
            if write_status(&ctx.mirrors, &mirror, &ready).await? {
                tracing::warn!(mirror = %key, %reason, "{message}");
                ctx.recorder.event(&mirror, true, reason, &message).await;
            }
            // A new source is noticed by the source watcher; a forbidden one is retried.
            return if err.is_forbidden() {
                Err(err.into())
            } else {
                Ok(())
            };
        }
        Err(err) => return Err(err.into()),
    };

    let name = source_ref.name.clone();
    let mut targets: Vec<&str> = mirror.spec.targets.iter().map(String::as_str).collect();
    targets.sort_unstable();
    targets.dedup();
    targets.retain(|t| *t != source_ref.namespace);

    let mut applied = Vec::new();
    let mut failed = Vec::new();
    for target in &targets {
        let desired = desired_copy(&mirror, key, &source, target, &name);
        if let Some(current) = ctx.copies.get(target, &name) {
            if up_to_date(&current, &desired) {
                continue;
            }
        }
        match apply_copy(ctx, target, &name, &desired).await {
            Ok(()) => applied.push(*target),
            Err(err) => {
                tracing::warn!(mirror = %key, target = %target, error = %err, "could not apply a copy");
                failed.push(format!("{target}: {err}"));
            }
        }
    }
    let mut removed = Vec::new();
    for copy in owned_copies(ctx, key) {
        let (ns, copy_name) = ns_name(&copy);
        if copy_name != name || !targets.contains(&ns.as_str()) {
            match ctx.configmaps.delete(&ns, &copy_name).await {
                Ok(()) => removed.push(ns),
                Err(err) if err.is_not_found() => {}
                Err(err) => failed.push(format!("removing {ns}/{copy_name}: {err}")),
            }
        }
    }

    if !applied.is_empty() || !removed.is_empty() {
        let note = format!(
            "{}/{name}: applied to [{}], removed from [{}]",
            source_ref.namespace,
            applied.join(", "),
            removed.join(", ")
        );
        tracing::info!(mirror = %key, applied = applied.len(), removed = removed.len(), "mirrored");
        ctx.recorder.event(&mirror, false, "Mirrored", &note).await;
    }
    let in_place = (targets.len() - failed.len().min(targets.len())) as u32;
    if failed.is_empty() {
        let ready = Ready {
            ready: true,
            reason: "Mirrored".into(),
            message: format!(
                "{}/{name} is copied to {} namespace(s)",
                source_ref.namespace,
                targets.len()
            ),
            copies: in_place,
        };
        write_status(&ctx.mirrors, &mirror, &ready).await?;
        Ok(())
    } else {
        let message = format!("some copies failed: {}", failed.join("; "));
        let ready = Ready {
            ready: false,
            reason: "CopyFailed".into(),
            message: message.clone(),
            copies: in_place,
        };
        if write_status(&ctx.mirrors, &mirror, &ready).await? {
            ctx.recorder
                .event(&mirror, true, "CopyFailed", &message)
                .await;
        }
        Err(Failure::Copies(message))
    }
}

/// Deleting: remove every copy, then the finalizer.
async fn finalize(ctx: &Context, key: &Key, mirror: &ConfigMirror) -> incluster::Result<()> {
    if !mirror.metadata.finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let mut copies: Vec<(String, String)> = owned_copies(ctx, key).iter().map(ns_name).collect();
    // Also the ones the spec names, in case the store has not seen them yet.
    for target in &mirror.spec.targets {
        copies.push((target.clone(), mirror.spec.source.name.clone()));
    }
    copies.sort();
    copies.dedup();
    let mut removed = 0;
    for (ns, name) in &copies {
        if *ns == mirror.spec.source.namespace && *name == mirror.spec.source.name {
            continue; // never the source itself
        }
        if let Some(copy) = ctx.copies.get(ns, name) {
            if owner_of(&copy).as_ref() != Some(key) {
                continue; // someone else's ConfigMap of the same name
            }
        } else if ctx.copies.is_ready() {
            continue;
        }
        match ctx.configmaps.delete(ns, name).await {
            Ok(()) => removed += 1,
            Err(err) if err.is_not_found() => {}
            Err(err) => return Err(err),
        }
    }
    ctx.recorder
        .event(
            mirror,
            false,
            "Finalized",
            &format!("removed {removed} copies; releasing the finalizer"),
        )
        .await;
    let finalizers: Vec<&String> = mirror
        .metadata
        .finalizers
        .iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    let patch = json!({"metadata": {"finalizers": finalizers, "resourceVersion": mirror.metadata.resource_version}});
    match ctx
        .mirrors
        .patch(&key.namespace, &key.name, &Patch::Merge(patch))
        .await
    {
        Ok(_) => {}
        Err(err) if err.is_not_found() => {}
        Err(err) => return Err(err),
    }
    tracing::info!(mirror = %key, removed, "finalized");
    Ok(())
}

/// The copy of `source` that belongs in `target`: same name, the source's data, our label and
/// owner annotation, and — in the mirror's own namespace only, as ownerReferences cannot cross
/// namespaces — an ownerReference so the garbage collector removes it with the mirror.
pub fn desired_copy(
    mirror: &ConfigMirror,
    key: &Key,
    source: &ConfigMap,
    target: &str,
    name: &str,
) -> ConfigMap {
    let owner_references = (target == mirror.metadata.namespace).then(|| {
        vec![OwnerReference {
            api_version: format!("{GROUP}/{VERSION}"),
            kind: "ConfigMirror".into(),
            name: mirror.metadata.name.clone(),
            uid: mirror.metadata.uid.clone(),
            controller: Some(true),
            block_owner_deletion: None,
        }]
    });
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(target.into()),
            labels: Some(BTreeMap::from([(
                COPY_LABEL.to_string(),
                COPY_LABEL_VALUE.to_string(),
            )])),
            annotations: Some(BTreeMap::from([(
                OWNER_ANNOTATION.to_string(),
                key.to_string(),
            )])),
            owner_references,
            ..ObjectMeta::default()
        },
        data: Some(source.data.clone().unwrap_or_default()),
        binary_data: source.binary_data.clone(),
        ..ConfigMap::default()
    }
}

/// Whether `current` already is `desired` in every field the operator sets.
fn up_to_date(current: &ConfigMap, desired: &ConfigMap) -> bool {
    let (c, d) = (&current.metadata, &desired.metadata);
    let has_all = |have: &Option<BTreeMap<String, String>>,
                   want: &Option<BTreeMap<String, String>>| {
        let have = have.clone().unwrap_or_default();
        want.iter().flatten().all(|(k, v)| have.get(k) == Some(v))
    };
    current.data.clone().unwrap_or_default() == desired.data.clone().unwrap_or_default()
        && current.binary_data.clone().unwrap_or_default()
            == desired.binary_data.clone().unwrap_or_default()
        && has_all(&c.labels, &d.labels)
        && has_all(&c.annotations, &d.annotations)
        && c.owner_references.clone().unwrap_or_default()
            == d.owner_references.clone().unwrap_or_default()
}

/// Server-side apply (forced: the operator owns the copies), then drop data keys another
/// manager added — apply only removes fields this manager owned.
async fn apply_copy(
    ctx: &Context,
    target: &str,
    name: &str,
    desired: &ConfigMap,
) -> incluster::Result<()> {
    let applied = ctx
        .configmaps
        .apply(target, name, desired, MANAGER, true)
        .await?;
    let want = desired.data.clone().unwrap_or_default();
    let extra: serde_json::Map<String, Value> = applied
        .data
        .unwrap_or_default()
        .into_keys()
        .filter(|k| !want.contains_key(k))
        .map(|k| (k, Value::Null))
        .collect();
    if !extra.is_empty() {
        ctx.configmaps
            .merge(target, name, &Patch::Merge(json!({"data": extra})), MANAGER)
            .await?;
    }
    Ok(())
}

/// The copies the store attributes to `key`.
fn owned_copies(ctx: &Context, key: &Key) -> Vec<std::sync::Arc<ConfigMap>> {
    ctx.copies
        .list()
        .into_iter()
        .filter(|c| owner_of(c).as_ref() == Some(key))
        .collect()
}

/// The `ConfigMirror` a copy's annotation names.
pub fn owner_of(copy: &ConfigMap) -> Option<Key> {
    Key::parse(copy.metadata.annotations.as_ref()?.get(OWNER_ANNOTATION)?)
}

fn ns_name(copy: &std::sync::Arc<ConfigMap>) -> (String, String) {
    (
        copy.metadata.namespace.clone().unwrap_or_default(),
        copy.metadata.name.clone().unwrap_or_default(),
    )
}
