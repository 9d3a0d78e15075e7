//! `config-mirror`: an operator that keeps copies of a source ConfigMap in target namespaces.
//!
//! One file, one job:
//! - [`types`]: the `ConfigMirror` custom resource as small serde structs;
//! - [`clients`]: the `#[in_cluster_client]` traits (ConfigMaps use `k8s-openapi`'s type: the one
//!   place that shows the interop);
//! - [`queue`]: a de-duplicating work queue with per-key exclusion and capped backoff;
//! - [`reconcile`]: what one reconcile of one `ConfigMirror` does;
//! - [`report`]: `status` through the `/status` subresource and `events.k8s.io/v1` Events;
//! - [`health`]: `/healthz` and `/readyz` on a tiny HTTP/1 responder;
//! - [`controller`]: the watchers that feed the queue, and the workers that drain it.
//!
//! The binary (`src/bin/config_mirror.rs`) adds Lease leader election and signal handling.

pub mod clients;
pub mod controller;
pub mod health;
pub mod queue;
pub mod reconcile;
pub mod report;
pub mod types;

/// The API group of `ConfigMirror`.
pub const GROUP: &str = "mirror.incluster.dev";
/// Its version.
pub const VERSION: &str = "v1alpha1";
/// The finalizer that removes cross-namespace copies before a `ConfigMirror` goes.
pub const FINALIZER: &str = "mirror.incluster.dev/copies";
/// The label on every copy (the copies watcher selects on it).
pub const COPY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const COPY_LABEL_VALUE: &str = "config-mirror";
/// The annotation naming a copy's `ConfigMirror` as `namespace/name`.
pub const OWNER_ANNOTATION: &str = "mirror.incluster.dev/owner";
/// The server-side-apply field manager, and the Events' reporting controller.
pub const MANAGER: &str = "config-mirror";
