//! A [`Policy`]: the rules of several clients merged for one ServiceAccount, rendered as the
//! Role/ClusterRole and bindings that `kubectl apply` takes.
//!
//! Every function here (and in `yaml`) is `#[inline]`: only the program that renders manifests
//! (an operator's `rbac` binary, a test) compiles them, not every build of `incluster` — they
//! were 18 % of the library's LLVM IR and 0.7 s of CPU in each cold release build (bench/PERF.md,
//! "w5: what the build pays for").

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::rule::{Rules, Scope, Target};
use super::yaml;

/// Where a merged grant lives: the ClusterRole, or the Role of one namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// The ClusterRole (bound with a ClusterRoleBinding): every namespace, or the cluster itself.
    Cluster,
    /// The Role of this namespace (bound with a RoleBinding there).
    Namespace(String),
}

/// One merged permission: verbs on a target, in one place.
///
/// ```
/// use incluster::rbac::{Policy, Placement, Rule, Rules, Scope, MethodRules};
/// const A: Rules = Rules { client: "A", methods: &[MethodRules {
///     client: "A", method: "get", route: "GET /api/v1/namespaces/{namespace}/configmaps/{name}",
///     rules: &[Rule::resource("", "configmaps", &["get"], Scope::ClientNamespace)] }] };
/// let policy = Policy::new("app", "demo").with(&A);
/// let grants = policy.grants();
/// assert_eq!(grants[0].placement, Placement::Namespace("demo".into()));
/// assert_eq!(grants[0].verbs, ["get"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Role or ClusterRole.
    pub placement: Placement,
    /// What.
    pub target: Target,
    /// The verbs, deduplicated, in the usual order (`get`, `list`, `watch`, `create`, …).
    pub verbs: Vec<&'static str>,
}

/// The least privilege of one program: the rules of the clients (and runtime parts) it uses,
/// merged — verbs combined per resource, duplicates dropped, grants already covered by a broader
/// one removed — for the ServiceAccount `name` in `namespace`.
///
/// [`Policy::to_yaml`] renders the ServiceAccount, the Role(s) and ClusterRole and their bindings,
/// all named `name`, as YAML that `kubectl apply -f` takes.
///
/// ```
/// use incluster::rbac::{Policy, LEADER_ELECTION};
/// let policy = Policy::new("my-operator", "operators").with(&LEADER_ELECTION);
/// let yaml = policy.to_yaml();
/// assert!(yaml.contains("kind: \"Role\""));
/// assert!(yaml.contains("resources: [\"leases\"]"));
/// assert!(!yaml.contains("ClusterRole"));
/// ```
#[derive(Clone, Debug)]
pub struct Policy {
    name: String,
    namespace: String,
    granted: BTreeMap<(Placement, Target), BTreeSet<&'static str>>,
    sources: Vec<&'static str>,
}

impl Policy {
    /// An empty policy for the ServiceAccount `name` in `namespace` (the Pod's namespace: what
    /// [`Scope::ClientNamespace`] means).
    #[inline]
    pub fn new(name: impl Into<String>, namespace: impl Into<String>) -> Policy {
        Policy {
            name: name.into(),
            namespace: namespace.into(),
            granted: BTreeMap::new(),
            sources: Vec::new(),
        }
    }

    /// Adds every rule of `rules` (a generated `<Trait>Client::RBAC`, or a runtime part's).
    #[must_use]
    #[inline]
    pub fn with(mut self, rules: &Rules) -> Policy {
        self.add(rules);
        self
    }

    /// Adds every rule of `rules`.
    ///
    /// ```
    /// let mut policy = incluster::rbac::Policy::new("app", "demo");
    /// policy.add(&incluster::rbac::EVENTS_RECORDER);
    /// assert_eq!(policy.grants().len(), 1);
    /// ```
    #[inline]
    pub fn add(&mut self, rules: &Rules) {
        if !self.sources.contains(&rules.client) {
            self.sources.push(rules.client);
        }
        for rule in rules.rules() {
            let placement = match rule.scope {
                Scope::ClientNamespace => Placement::Namespace(self.namespace.clone()),
                Scope::Namespace(ns) => Placement::Namespace(ns.to_string()),
                Scope::AnyNamespace | Scope::Cluster => Placement::Cluster,
            };
            self.granted
                .entry((placement, rule.target))
                .or_default()
                .extend(rule.verbs.iter().copied());
        }
    }

    /// The ServiceAccount's name.
    #[inline]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ServiceAccount's namespace.
    #[inline]
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The merged grants, ClusterRole first, then each namespace's Role; a verb another grant
    /// already covers (the same resource without `resourceNames`, or the ClusterRole) is left out.
    #[inline]
    pub fn grants(&self) -> Vec<Grant> {
        let covers = |placement: &Placement, target: &Target, verb: &str| {
            self.granted
                .get(&(placement.clone(), *target))
                .is_some_and(|verbs| verbs.contains(verb))
        };
        let mut grants = Vec::new();
        for ((placement, target), verbs) in &self.granted {
            let unnamed = match target {
                Target::Resource {
                    group,
                    resource,
                    name: Some(_),
                } => Some(Target::Resource {
                    group,
                    resource,
                    name: None,
                }),
                _ => None,
            };
            let mut kept: Vec<&'static str> = verbs
                .iter()
                .copied()
                .filter(|verb| {
                    let by_unnamed = unnamed.is_some_and(|u| {
                        covers(placement, &u, verb) || covers(&Placement::Cluster, &u, verb)
                    });
                    let by_cluster = *placement != Placement::Cluster
                        && covers(&Placement::Cluster, target, verb);
                    !by_unnamed && !by_cluster
                })
                .collect();
            if kept.is_empty() {
                continue;
            }
            kept.sort_by_key(|verb| verb_rank(verb));
            grants.push(Grant {
                placement: placement.clone(),
                target: *target,
                verbs: kept,
            });
        }
        grants
    }

    /// The manifests as JSON values, in apply order: ServiceAccount, ClusterRole and
    /// ClusterRoleBinding (when needed), then a Role and RoleBinding per namespace.
    ///
    /// ```
    /// let docs = incluster::rbac::Policy::new("app", "demo").documents();
    /// assert_eq!(docs.len(), 1); // no rules: just the ServiceAccount
    /// assert_eq!(docs[0]["kind"], "ServiceAccount");
    /// ```
    #[inline]
    pub fn documents(&self) -> Vec<Value> {
        let mut docs = vec![json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": self.name, "namespace": self.namespace},
        })];
        let grants = self.grants();
        let mut placements: Vec<&Placement> = grants.iter().map(|g| &g.placement).collect();
        placements.dedup();
        let subject = json!([{
            "kind": "ServiceAccount",
            "name": self.name,
            "namespace": self.namespace,
        }]);
        for placement in placements {
            let rules: Vec<Value> = grants
                .iter()
                .filter(|g| &g.placement == placement)
                .map(policy_rule)
                .collect();
            let (role_kind, binding_kind, metadata) = match placement {
                Placement::Cluster => (
                    "ClusterRole",
                    "ClusterRoleBinding",
                    json!({"name": self.name}),
                ),
                Placement::Namespace(ns) => (
                    "Role",
                    "RoleBinding",
                    json!({"name": self.name, "namespace": ns}),
                ),
            };
            docs.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": role_kind,
                "metadata": metadata,
                "rules": rules,
            }));
            docs.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": binding_kind,
                "metadata": metadata,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": role_kind,
                    "name": self.name,
                },
                "subjects": subject,
            }));
        }
        docs
    }

    /// The manifests as YAML documents separated by `---` (what `kubectl apply -f` takes).
    /// Every string is double-quoted, so no name is ever read as a number or a boolean.
    #[inline]
    pub fn to_yaml(&self) -> String {
        let mut out = String::new();
        for (index, doc) in self.documents().iter().enumerate() {
            if index > 0 {
                out.push_str("---\n");
            }
            yaml::write_document(&mut out, doc);
        }
        out
    }

    /// Where the rules came from (client names, in the order they were added).
    #[inline]
    pub fn sources(&self) -> &[&'static str] {
        &self.sources
    }
}

/// A `rules[]` entry of a Role or ClusterRole.
#[inline]
fn policy_rule(grant: &Grant) -> Value {
    match grant.target {
        Target::Resource {
            group,
            resource,
            name,
        } => {
            let mut rule = json!({
                "apiGroups": [group],
                "resources": [resource],
                "verbs": grant.verbs,
            });
            if let Some(name) = name {
                rule["resourceNames"] = json!([name]);
            }
            rule
        }
        Target::NonResource { url } => json!({
            "nonResourceURLs": [url],
            "verbs": grant.verbs,
        }),
    }
}

/// Verbs in the order Kubernetes documents them; unknown ones after, alphabetically.
#[inline]
fn verb_rank(verb: &str) -> (usize, &str) {
    const ORDER: [&str; 8] = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    (
        ORDER.iter().position(|v| *v == verb).unwrap_or(ORDER.len()),
        verb,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{MethodRules, Rule};

    const fn rules(methods: &'static [MethodRules]) -> Rules {
        Rules {
            client: "T",
            methods,
        }
    }

    const fn method(rules: &'static [Rule]) -> MethodRules {
        MethodRules {
            client: "T",
            method: "m",
            route: "GET /",
            rules,
        }
    }

    #[test]
    fn verbs_merge_per_resource_in_kubernetes_order() {
        const A: Rules = rules(&[
            method(&[Rule::resource(
                "",
                "configmaps",
                &["patch", "create"],
                Scope::ClientNamespace,
            )]),
            method(&[Rule::resource(
                "",
                "configmaps",
                &["get"],
                Scope::ClientNamespace,
            )]),
            method(&[Rule::resource(
                "",
                "configmaps",
                &["get"],
                Scope::ClientNamespace,
            )]),
        ]);
        let grants = Policy::new("x", "ns").with(&A).grants();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].verbs, ["get", "create", "patch"]);
    }

    #[test]
    fn a_broader_grant_covers_a_named_or_namespaced_one() {
        const A: Rules = rules(&[
            method(&[
                Rule::resource("", "configmaps", &["get"], Scope::ClientNamespace).named("a"),
            ]),
            method(&[Rule::resource(
                "",
                "configmaps",
                &["get", "list"],
                Scope::ClientNamespace,
            )]),
            method(&[Rule::resource(
                "",
                "secrets",
                &["get"],
                Scope::ClientNamespace,
            )]),
            method(&[Rule::resource(
                "",
                "secrets",
                &["get", "watch"],
                Scope::AnyNamespace,
            )]),
            method(&[Rule::resource("", "pods", &["patch"], Scope::ClientNamespace).named("p")]),
        ]);
        let grants = Policy::new("x", "ns").with(&A).grants();
        let shown: Vec<String> = grants
            .iter()
            .map(|g| format!("{:?} {} {:?}", g.placement, g.target, g.verbs))
            .collect();
        assert_eq!(
            shown,
            [
                "Cluster secrets (core group) [\"get\", \"watch\"]",
                "Namespace(\"ns\") configmaps (core group) [\"get\", \"list\"]",
                "Namespace(\"ns\") pods named \"p\" (core group) [\"patch\"]",
            ]
        );
    }

    #[test]
    fn placement_follows_scope() {
        const A: Rules = rules(&[method(&[
            Rule::resource(
                "apps",
                "deployments",
                &["get"],
                Scope::Namespace("kube-system"),
            ),
            Rule::resource("", "nodes", &["list"], Scope::Cluster),
            Rule::non_resource("/version", &["get"]),
            Rule::resource("", "pods", &["get"], Scope::ClientNamespace),
        ])]);
        let docs = Policy::new("x", "home").with(&A).documents();
        let kinds: Vec<String> = docs
            .iter()
            .map(|d| {
                format!(
                    "{}/{}",
                    d["kind"].as_str().unwrap(),
                    d["metadata"]["namespace"].as_str().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount/home",
                "ClusterRole/-",
                "ClusterRoleBinding/-",
                "Role/home",
                "RoleBinding/home",
                "Role/kube-system",
                "RoleBinding/kube-system",
            ]
        );
        assert_eq!(
            docs[1]["rules"][1],
            json!({"nonResourceURLs": ["/version"], "verbs": ["get"]})
        );
        assert_eq!(
            docs[6]["subjects"],
            json!([{"kind": "ServiceAccount", "name": "x", "namespace": "home"}])
        );
    }
}
