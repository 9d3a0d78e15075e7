//! The rules the runtime's own parts need, published like a generated client's `RBAC`.

use super::rule::{MethodRules, Rule, Rules, Scope};

/// What `incluster::leader::LeaderElection` (feature `leader-election`) needs: `get`, `create` and `update`
/// on `coordination.k8s.io` Leases. The lease's namespace is chosen in `LeaseSettings`; these
/// rules assume the usual choice, the Pod's own namespace ([`Scope::ClientNamespace`]).
///
/// ```
/// let policy = incluster::rbac::Policy::new("op", "ops").with(&incluster::rbac::LEADER_ELECTION);
/// assert_eq!(policy.grants()[0].verbs, ["get", "create", "update"]);
/// ```
pub const LEADER_ELECTION: Rules = Rules {
    client: "incluster::leader::LeaderElection",
    methods: &[
        MethodRules {
            client: "incluster::leader::LeaderElection",
            method: "acquire (read the lease)",
            route: "GET /apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
            rules: &[Rule::resource(
                "coordination.k8s.io",
                "leases",
                &["get"],
                Scope::ClientNamespace,
            )],
        },
        MethodRules {
            client: "incluster::leader::LeaderElection",
            method: "acquire (create the lease)",
            route: "POST /apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
            rules: &[Rule::resource(
                "coordination.k8s.io",
                "leases",
                &["create"],
                Scope::ClientNamespace,
            )],
        },
        MethodRules {
            client: "incluster::leader::LeaderElection",
            method: "acquire, renew and release (update the lease)",
            route: "PUT /apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
            rules: &[Rule::resource(
                "coordination.k8s.io",
                "leases",
                &["update"],
                Scope::ClientNamespace,
            )],
        },
    ],
};

/// What an events recorder needs: `create` and `patch` on `events.k8s.io` Events (a new Event
/// is created; a repeated one is patched as a series), in the namespace of the object the event
/// is about — any namespace, so a ClusterRole. An operator whose objects all live in its own
/// namespace can publish a narrower rule of its own instead.
///
/// ```
/// let policy = incluster::rbac::Policy::new("op", "ops").with(&incluster::rbac::EVENTS_RECORDER);
/// assert!(policy.to_yaml().contains("ClusterRole"));
/// ```
pub const EVENTS_RECORDER: Rules = Rules {
    client: "incluster::controller::Recorder",
    methods: &[
        MethodRules {
            client: "incluster::controller::Recorder",
            method: "publish (a new event)",
            route: "POST /apis/events.k8s.io/v1/namespaces/{namespace}/events",
            rules: &[Rule::resource(
                "events.k8s.io",
                "events",
                &["create"],
                Scope::AnyNamespace,
            )],
        },
        MethodRules {
            client: "incluster::controller::Recorder",
            method: "publish (a repeated event's series)",
            route: "PATCH /apis/events.k8s.io/v1/namespaces/{namespace}/events/{name}",
            rules: &[Rule::resource(
                "events.k8s.io",
                "events",
                &["patch"],
                Scope::AnyNamespace,
            )],
        },
    ],
};
