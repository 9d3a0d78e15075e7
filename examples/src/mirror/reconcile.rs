//! One reconcile of one `ConfigMirror`: make the copies match the source, then say so.
//!
//! Level-based and idempotent: it compares each copy with the copies watcher's store and writes
//! only what differs, so a reconcile of a converged mirror (after a restart, a failover or a
//! resync) sends no write. Ownership ([`super::ownership`]) is decided before every write; a
//! create never lands on an existing ConfigMap (`409`), an apply carries the `resourceVersion`
//! that was checked, a delete carries the UID that was checked.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use incluster::controller::{
    finalizer, Action, FinalizerError, Index, ObjectRef, OwnerReference, PartialObjectMetadata,
    Recorder, Step,
};
use incluster::watcher::Store;
use incluster::{Client, Patch};
use serde_json::{json, Value};

use super::clients::{ConfigMaps, ConfigMapsClient, Mirrors, MirrorsClient};
use super::ownership::{classify, is_ours, key, target_key, Target};
use super::report::{report, Outcome};
use super::types::{ConfigMap, ConfigMirror};
use super::{
    API_VERSION, COPY_LABEL, COPY_LABEL_VALUE, FINALIZER, KIND, MANAGER, OWNER_ANNOTATION,
    OWNER_UID_ANNOTATION,
};

/// How long a mirror in conflict waits before it looks again (triggers usually come first).
pub const CONFLICT_RECHECK: Duration = Duration::from_secs(300);

/// What a reconcile needs.
#[derive(Clone)]
pub struct Context {
    /// The client (finalizer patches).
    pub client: Client,
    /// `ConfigMirror`s.
    pub mirrors: MirrorsClient,
    /// ConfigMaps.
    pub configmaps: ConfigMapsClient,
    /// Every copy (labelled ConfigMap), as the copies watcher last saw it.
    pub copies: Store<ConfigMap>,
    /// The metadata of every ConfigMap (to see a foreign ConfigMap before writing).
    pub configmaps_meta: Store<PartialObjectMetadata>,
    /// Mirrors by the targets and sources they name.
    pub claims: Index<ConfigMirror>,
    /// Every `ConfigMirror` (the controller's primary store).
    pub mirrors_store: Store<ConfigMirror>,
    /// Events.
    pub recorder: Recorder,
}

/// Why a reconcile failed (the controller retries it with backoff).
#[derive(Debug)]
pub enum Failure {
    /// An API call failed.
    Api(incluster::Error),
    /// Some copies could not be applied or removed (each named).
    Copies(String),
    /// Adding or removing the finalizer, or the step it ran, failed.
    Finalizer(Box<FinalizerError<Failure>>),
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
            Failure::Finalizer(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Api(err) => Some(err),
            Failure::Copies(_) => None,
            Failure::Finalizer(err) => Some(&**err),
        }
    }
}

/// Reconciles the `ConfigMirror` `mirror` (its state in the store; `None` once it is gone).
pub async fn reconcile(
    ctx: Arc<Context>,
    mirror: Option<Arc<ConfigMirror>>,
) -> Result<Action, Failure> {
    let Some(mirror) = mirror else {
        return Ok(Action::Done);
    };
    let mirrors = &ctx.mirrors;
    let patch = |at: ObjectRef, patch| async move {
        let namespace = at.namespace.as_deref().unwrap_or_default();
        mirrors.patch(namespace, &at.name, &patch).await
    };
    finalizer(FINALIZER, mirror, patch, |step| async {
        match step {
            Step::Apply(mirror) => apply(&ctx, &mirror).await,
            Step::Cleanup(mirror) => cleanup(&ctx, &mirror).await,
        }
    })
    .await
    .map_err(|err| Failure::Finalizer(Box::new(err)))
}

async fn apply(ctx: &Context, mirror: &ConfigMirror) -> Result<Action, Failure> {
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
            let previous = mirror.status.clone().unwrap_or_default();
            let outcome = Outcome::failed(reason, message, previous.copies, previous.targets);
            report(ctx, mirror, &outcome).await?;
            // A new source is noticed by the ConfigMaps watcher; a forbidden one is retried.
            return if err.is_forbidden() {
                Err(err.into())
            } else {
                Ok(Action::Done)
            };
        }
        Err(err) => return Err(err.into()),
    };

    let name = &source_ref.name;
    let mut targets: Vec<&str> = mirror.spec.targets.iter().map(String::as_str).collect();
    targets.sort_unstable();
    targets.dedup();
    targets.retain(|t| *t != source_ref.namespace);

    let (mut applied, mut in_place, mut failed, mut conflicts) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for target in &targets {
        let claimants = ctx.claims.get(&target_key(target, name));
        let current = ctx.copies.get(target, name);
        let existing = current.as_ref().map(|c| c.metadata.clone()).or_else(|| {
            ctx.configmaps_meta
                .get(target, name)
                .map(|m| m.metadata.clone())
        });
        let desired = desired_copy(mirror, &source, target);
        let owner_uid = |k: &ObjectRef| {
            ctx.mirrors_store
                .get(k.namespace_or_empty(), &k.name)
                .map(|m| m.metadata.uid.clone())
        };
        let result = match classify(existing.as_ref(), mirror, &claimants, owner_uid) {
            Target::Conflict(why) => {
                conflicts.push(format!("{target}/{name}: {why}"));
                continue;
            }
            Target::Ours if current.as_deref().is_some_and(|c| up_to_date(c, &desired)) => {
                in_place.push(target.to_string());
                continue;
            }
            Target::Absent => ctx.configmaps.create(target, &desired, MANAGER).await,
            Target::Ours | Target::TakeOver => {
                let version = existing.map(|m| m.resource_version).unwrap_or_default();
                apply_copy(ctx, target, desired, version).await
            }
        };
        match result {
            Ok(()) => {
                applied.push(target.to_string());
                in_place.push(target.to_string());
            }
            Err(err) => {
                tracing::warn!(mirror = %key(mirror), %target, error = %err, "could not write a copy");
                failed.push(format!("{target}: {err}"));
            }
        }
    }

    // Copies no longer wanted: in a namespace no longer targeted, or of a former source name.
    // Candidates: the namespaces the last status named and — when the spec changed since that
    // status was written (only then can copies go stale) — the copies the store attributes to
    // this mirror. Each is checked fresh before it is deleted.
    let status = mirror.status.clone().unwrap_or_default();
    let spec_changed = Some(status.observed_generation) != mirror.metadata.generation;
    let mut stale: Vec<(String, String)> = status
        .targets
        .into_iter()
        .map(|ns| (ns, name.clone()))
        .collect();
    if spec_changed {
        let me = key(mirror).to_string();
        for copy in ctx.copies.list() {
            let meta = &copy.metadata;
            if meta.annotations.get(OWNER_ANNOTATION) == Some(&me) {
                stale.push((
                    meta.namespace.clone().unwrap_or_default(),
                    meta.name.clone(),
                ));
            }
        }
    }
    stale.retain(|(ns, n)| !(n == name && targets.contains(&ns.as_str())));
    stale.retain(|(ns, n)| !(*ns == source_ref.namespace && n == name)); // never the source
    stale.sort();
    stale.dedup();
    let mut removed = Vec::new();
    for (ns, copy_name) in &stale {
        match remove_if_ours(ctx, mirror, ns, copy_name).await {
            Ok(true) => removed.push(format!("{ns}/{copy_name}")),
            Ok(false) => {}
            Err(err) => failed.push(format!("removing {ns}/{copy_name}: {err}")),
        }
    }

    let outcome = Outcome::of(mirror, &applied, &removed, in_place, failed, conflicts);
    report(ctx, mirror, &outcome).await?;
    match outcome.failure() {
        Some(message) => Err(Failure::Copies(message)),
        None if outcome.in_conflict() => Ok(Action::requeue_after(CONFLICT_RECHECK)),
        None => Ok(Action::Done),
    }
}

/// Deleting: remove every copy that is ours (checked fresh), then the finalizer goes.
async fn cleanup(ctx: &Context, mirror: &ConfigMirror) -> Result<Action, Failure> {
    let me = key(mirror);
    let status = mirror.status.clone().unwrap_or_default();
    let mut namespaces: Vec<String> = status.targets.clone();
    namespaces.extend(mirror.spec.targets.iter().cloned());
    // Copies the store attributes to this mirror (once per deletion: a scan is fine).
    for copy in ctx.copies.list() {
        if super::ownership::claimed_owner(&copy.metadata) == Some(me.clone()) {
            namespaces.extend(copy.metadata.namespace.clone());
        }
    }
    namespaces.sort();
    namespaces.dedup();
    let name = &mirror.spec.source.name;
    let mut removed = 0;
    for ns in namespaces
        .iter()
        .filter(|ns| **ns != mirror.spec.source.namespace)
    {
        if remove_if_ours(ctx, mirror, ns, name).await? {
            removed += 1;
        }
    }
    super::report::finalized(ctx, mirror, removed).await;
    tracing::info!(mirror = %me, removed, "finalized");
    Ok(Action::Done)
}

/// Deletes `namespace/name` if it is a copy of `mirror` (read fresh; deleted with its UID as a
/// precondition). Returns whether it deleted.
async fn remove_if_ours(
    ctx: &Context,
    mirror: &ConfigMirror,
    namespace: &str,
    name: &str,
) -> incluster::Result<bool> {
    let current = match ctx.configmaps.get(namespace, name).await {
        Ok(current) => current,
        Err(err) if err.is_not_found() => return Ok(false),
        Err(err) => return Err(err),
    };
    if !is_ours(&current.metadata, mirror) {
        return Ok(false);
    }
    let options = json!({"preconditions": {"uid": current.metadata.uid}});
    match ctx.configmaps.delete(namespace, name, &options).await {
        Ok(()) => Ok(true),
        Err(err) if err.is_not_found() || err.is_conflict() => Ok(false),
        Err(err) => Err(err),
    }
}

/// The copy of `source` that belongs in `target`: same name, the source's data, the copy label,
/// the owner annotations and — in the mirror's own namespace only, as ownerReferences cannot
/// cross namespaces — a controller ownerReference so the garbage collector removes it with
/// the mirror.
pub fn desired_copy(mirror: &ConfigMirror, source: &ConfigMap, target: &str) -> ConfigMap {
    let meta = &mirror.metadata;
    let owner_references = if meta.namespace.as_deref() == Some(target) {
        vec![OwnerReference::controller(API_VERSION, KIND, meta)]
    } else {
        Vec::new()
    };
    let mut copy = ConfigMap {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        data: source.data.clone(),
        binary_data: source.binary_data.clone(),
        ..ConfigMap::default()
    };
    copy.metadata.name = mirror.spec.source.name.clone();
    copy.metadata.namespace = Some(target.to_string());
    copy.metadata.labels = BTreeMap::from([(COPY_LABEL.into(), COPY_LABEL_VALUE.into())]);
    copy.metadata.annotations = BTreeMap::from([
        (OWNER_ANNOTATION.into(), key(mirror).to_string()),
        (OWNER_UID_ANNOTATION.into(), meta.uid.clone()),
    ]);
    copy.metadata.owner_references = owner_references;
    copy
}

/// Whether `current` already is `desired` in every field the operator sets.
fn up_to_date(current: &ConfigMap, desired: &ConfigMap) -> bool {
    let (c, d) = (&current.metadata, &desired.metadata);
    let has_all = |have: &BTreeMap<String, String>, want: &BTreeMap<String, String>| {
        want.iter().all(|(k, v)| have.get(k) == Some(v))
    };
    current.data == desired.data
        && current.binary_data == desired.binary_data
        && has_all(&c.labels, &d.labels)
        && has_all(&c.annotations, &d.annotations)
        && d.owner_references
            .iter()
            .all(|r| c.owner_references.contains(r))
}

/// Server-side apply (forced: the copy is ours) with the checked `resourceVersion` as a
/// precondition, then drop data keys another manager added.
async fn apply_copy(
    ctx: &Context,
    target: &str,
    mut desired: ConfigMap,
    resource_version: String,
) -> incluster::Result<()> {
    let name = desired.metadata.name.clone();
    desired.metadata.resource_version = resource_version;
    let applied = ctx
        .configmaps
        .apply(target, &name, &Patch::Apply(desired.clone()), true)
        .await?;
    let extra: serde_json::Map<String, Value> = applied
        .data
        .into_keys()
        .filter(|k| !desired.data.contains_key(k))
        .map(|k| (k, Value::Null))
        .collect();
    if !extra.is_empty() {
        let patch = json!({"metadata": {"resourceVersion": applied.metadata.resource_version}, "data": extra});
        ctx.configmaps
            .merge(target, &name, &Patch::Merge(patch))
            .await?;
    }
    Ok(())
}

/// The keys of the mirrors a ConfigMap event concerns: the mirrors whose source it is, the
/// mirrors claiming it as a target (a foreign ConfigMap appearing or going), and the owner its
/// annotation names.
pub fn mirrors_of(
    claims: &Index<ConfigMirror>,
    meta: &incluster::controller::ObjectMeta,
) -> Vec<ObjectRef> {
    let ns = meta.namespace.as_deref().unwrap_or("");
    let mut keys = claims.get(&super::ownership::source_key(ns, &meta.name));
    keys.extend(claims.get(&target_key(ns, &meta.name)));
    keys.extend(super::ownership::claimed_owner(meta));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_is_a_std_error_with_its_source() {
        fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
        is_error::<Failure>();
        let err = Failure::from(incluster::Error::InvalidRequest {
            message: "bad".into(),
            source: None,
        });
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn the_desired_copy_carries_ownership_and_an_owner_reference_only_in_namespace() {
        let mut mirror = ConfigMirror::default();
        mirror.metadata.name = "m".into();
        mirror.metadata.namespace = Some("home".into());
        mirror.metadata.uid = "u1".into();
        mirror.spec.source.name = "settings".into();
        let source = ConfigMap {
            data: BTreeMap::from([("k".into(), "v".into())]),
            ..ConfigMap::default()
        };
        let home = desired_copy(&mirror, &source, "home");
        assert!(is_ours(&home.metadata, &mirror));
        assert_eq!(home.metadata.owner_references[0].uid, "u1");
        let away = desired_copy(&mirror, &source, "away");
        assert!(is_ours(&away.metadata, &mirror));
        assert!(away.metadata.owner_references.is_empty());
        assert!(up_to_date(&away, &away));
        let mut edited = away.clone();
        edited.data.insert("k".into(), "changed".into());
        assert!(!up_to_date(&edited, &away));
    }
}
