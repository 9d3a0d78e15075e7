//! `config-mirror`: an operator that keeps copies of a source ConfigMap in target namespaces,
//! built on [`incluster::controller`] — this folder holds only the business logic.
//!
//! - [`types`]: the `ConfigMirror` resource and the ConfigMap fields the operator reads;
//! - [`clients`]: the `#[in_cluster_client]` traits;
//! - [`ownership`]: which copies are ours, and which of several mirrors owns a target;
//! - [`reconcile`]: one reconcile of one `ConfigMirror` (and its cleanup);
//! - [`report`]: the `Ready` condition and Events;
//! - [`controller`]: the watchers and how their events map to mirrors;
//! - [`health`]: `/healthz`, `/readyz` and `/metrics`.
//!
//! The binary (`src/bin/config_mirror.rs`) adds leader election and signal handling.

pub mod clients;
pub mod controller;
pub mod health;
pub mod ownership;
pub mod reconcile;
pub mod report;
pub mod types;

/// The API group of `ConfigMirror`.
pub const GROUP: &str = "mirror.incluster.dev";
/// Its `apiVersion`.
pub const API_VERSION: &str = "mirror.incluster.dev/v1alpha1";
/// Its kind.
pub const KIND: &str = "ConfigMirror";
/// The finalizer that removes cross-namespace copies before a `ConfigMirror` goes.
pub const FINALIZER: &str = "mirror.incluster.dev/copies";
/// The label on every copy (the copies watcher selects on it).
pub const COPY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value.
pub const COPY_LABEL_VALUE: &str = "config-mirror";
/// The annotation naming a copy's `ConfigMirror` as `namespace/name`.
pub const OWNER_ANNOTATION: &str = "mirror.incluster.dev/owner";
/// The annotation holding the UID of a copy's `ConfigMirror` (ownerReferences cannot cross
/// namespaces; a re-created mirror of the same name is not the owner).
pub const OWNER_UID_ANNOTATION: &str = "mirror.incluster.dev/owner-uid";
/// The server-side-apply field manager, and the Events' reporting controller.
pub const MANAGER: &str = "config-mirror";
