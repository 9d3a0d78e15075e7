//! The finalizer helper: add it (with a `resourceVersion` precondition), run the cleanup when
//! the object is being deleted, then remove it.

use std::future::Future;
use std::sync::Arc;

use serde_json::json;

use super::meta::{Object, ObjectRef};
use super::run::Action;
use crate::request::patch::Patch;

/// What [`finalizer`] asks the caller to do.
#[derive(Debug)]
pub enum Step<K> {
    /// The object lives (and carries the finalizer): make the world match it.
    Apply(Arc<K>),
    /// The object is being deleted: undo what `Apply` did; the finalizer is removed after.
    Cleanup(Arc<K>),
}

/// Why [`finalizer`] failed.
#[derive(Debug)]
pub enum FinalizerError<E: std::error::Error + 'static> {
    /// Adding or removing the finalizer failed (a `409 Conflict` means the object changed
    /// meanwhile: the key is retried with the fresh object).
    Patch {
        /// `add` or `remove`.
        action: &'static str,
        /// The finalizer.
        finalizer: String,
        /// The API error.
        source: crate::Error,
    },
    /// The `Apply` step failed.
    Apply(E),
    /// The `Cleanup` step failed (the finalizer stays; the cleanup is retried).
    Cleanup(E),
}

impl<E: std::error::Error + 'static> std::fmt::Display for FinalizerError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FinalizerError::Patch {
                action,
                finalizer,
                source,
            } => write!(
                f,
                "could not {action} the finalizer {finalizer:?}: {source}"
            ),
            FinalizerError::Apply(source) => write!(f, "apply failed: {source}"),
            FinalizerError::Cleanup(source) => write!(f, "cleanup failed: {source}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for FinalizerError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FinalizerError::Patch { source, .. } => Some(source),
            FinalizerError::Apply(source) | FinalizerError::Cleanup(source) => Some(source),
        }
    }
}

/// kube-rs' `finalizer()`: makes sure `object` carries `name` while it lives, and that
/// `step(Step::Cleanup)` ran before it goes.
///
/// `patch(at, body)` sends one patch of the object `at` names (its namespace — `None` for a
/// cluster-scoped object — and name, from its metadata): call the PATCH method of your own
/// `#[in_cluster_client]` trait on the object's path, so that the rule it needs (`patch` on the
/// resource) is in that client's `RBAC`, in the policy you generate from it, and in the `403`
/// if it is missing — like every other call the operator makes. Address the patch by `at`:
/// a `404` on the removal counts as "the object is gone", so a patch sent elsewhere would leave
/// the finalizer in place unnoticed.
///
/// - Not being deleted, finalizer missing: adds it with a JSON merge patch carrying the
///   object's `resourceVersion` (a stale object gets `409`, never a lost write), then `Apply`.
/// - Not being deleted, finalizer present: `Apply`.
/// - Being deleted, finalizer present: `Cleanup`, then removes it with a JSON patch whose
///   `test` checks the finalizer list is still what was read (a `404` then is success: the
///   object is gone).
/// - Being deleted, finalizer absent: nothing (someone else's finalizer holds it).
///
/// ```no_run
/// use std::sync::Arc;
/// use incluster::controller::{finalizer, Action, Object, ObjectMeta, Step};
/// use incluster::Patch;
///
/// #[incluster::in_cluster_client]
/// pub trait Widgets {
///     /// Patch one widget (the finalizer helper's writes).
///     #[patch("/apis/example.com/v1/namespaces/{namespace}/widgets/{name}")]
///     async fn patch(
///         &self,
///         namespace: &str,
///         name: &str,
///         #[body] patch: &Patch<serde_json::Value>,
///     ) -> incluster::Result<()>;
/// }
///
/// # #[derive(Debug)] struct W { metadata: ObjectMeta }
/// # impl Object for W { fn metadata(&self) -> &ObjectMeta { &self.metadata } }
/// # async fn f(widgets: WidgetsClient, widget: Arc<W>) {
/// let result = finalizer(
///     "example.com/cleanup",
///     widget,
///     |at, patch| async move {
///         let namespace = at.namespace.as_deref().unwrap_or_default();
///         widgets.patch(namespace, &at.name, &patch).await
///     },
///     |step| async move {
///         match step {
///             Step::Apply(w) => Ok::<_, std::io::Error>(Action::Done),
///             Step::Cleanup(w) => Ok(Action::Done),
///         }
///     },
/// )
/// .await;
/// # }
/// ```
pub async fn finalizer<K, P, PatchFut, F, Fut, E>(
    name: &str,
    object: Arc<K>,
    patch: P,
    step: F,
) -> Result<Action, FinalizerError<E>>
where
    K: Object,
    P: FnOnce(ObjectRef, Patch<serde_json::Value>) -> PatchFut,
    PatchFut: Future<Output = crate::Result<()>>,
    F: FnOnce(Step<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
    E: std::error::Error + 'static,
{
    let meta = object.metadata();
    let has = meta.finalizers.iter().any(|f| f == name);
    let at = ObjectRef {
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
    };
    let patch_error = |action, source| FinalizerError::Patch {
        action,
        finalizer: name.to_string(),
        source,
    };
    match (meta.deletion_timestamp.is_some(), has) {
        (false, true) => step(Step::Apply(object))
            .await
            .map_err(FinalizerError::Apply),
        (false, false) => {
            let mut finalizers = meta.finalizers.clone();
            finalizers.push(name.to_string());
            let body = json!({"metadata": {"finalizers": finalizers, "resourceVersion": meta.resource_version}});
            patch(at, Patch::Merge(body))
                .await
                .map_err(|e| patch_error("add", e))?;
            step(Step::Apply(object))
                .await
                .map_err(FinalizerError::Apply)
        }
        (true, true) => {
            let before = meta.finalizers.clone();
            let after: Vec<&String> = before.iter().filter(|f| *f != name).collect();
            let body = json!([
                {"op": "test", "path": "/metadata/finalizers", "value": before},
                {"op": "replace", "path": "/metadata/finalizers", "value": after},
            ]);
            let action = step(Step::Cleanup(object.clone()))
                .await
                .map_err(FinalizerError::Cleanup)?;
            match patch(at, Patch::Json(body)).await {
                Ok(()) => Ok(action),
                Err(err) if err.is_not_found() => Ok(Action::Done),
                Err(err) => Err(patch_error("remove", err)),
            }
        }
        (true, false) => Ok(Action::Done),
    }
}
