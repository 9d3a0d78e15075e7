//! Least privilege from the code: the RBAC rules each call needs.
//!
//! `#[in_cluster_client]` derives, from each method's verb and path, the rule it needs, and puts
//! them in `<Trait>Client::RBAC` (a [`Rules`]); the runtime's parts publish theirs the same way
//! ([`LEADER_ELECTION`], [`EVENTS_RECORDER`]). A [`Policy`] merges the rules of everything a
//! program uses and renders the ServiceAccount, Role/ClusterRole and bindings as YAML for
//! `kubectl apply`. When the API server refuses a generated method (403), the error names the
//! rule that method needs ([`RbacNeeded`], through [`Error::rbac_needed`](crate::Error::rbac_needed)).
//!
//! ```
//! #[incluster::in_cluster_client]
//! pub trait ConfigMaps {
//!     #[get("/api/v1/namespaces/{namespace}/configmaps")]
//!     async fn list(&self) -> incluster::Result<serde_json::Value>;
//! }
//!
//! let policy = incluster::rbac::Policy::new("my-app", "demo").with(&ConfigMapsClient::RBAC);
//! let yaml = policy.to_yaml();
//! assert!(yaml.contains("resources: [\"configmaps\"]\n    verbs: [\"list\"]"));
//! ```
//!
//! How paths and verbs map to rules is in the vocabulary (`in_cluster_client`'s documentation)
//! and in `docs/rbac.md`.

mod forbidden;
mod policy;
mod rule;
mod runtime_needs;
mod yaml;

pub use forbidden::RbacNeeded;
pub(crate) use forbidden::{explain, Hint};
pub use policy::{Grant, Placement, Policy};
pub use rule::{MethodRules, Rule, Rules, Scope, Target};
pub use runtime_needs::{EVENTS_RECORDER, LEADER_ELECTION};
