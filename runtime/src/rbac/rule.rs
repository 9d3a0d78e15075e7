//! One permission (a [`Rule`]) and the rules of a client ([`Rules`]), as `&'static` data that
//! `#[in_cluster_client]` writes into each generated client's `RBAC` constant.

use std::fmt;

/// What a rule grants access to: a resource (optionally one object of it) or a non-resource URL.
///
/// ```
/// use incluster::rbac::Target;
/// let logs = Target::Resource { group: "", resource: "pods/log", name: None };
/// assert_eq!(logs.to_string(), "pods/log (core group)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A resource of an API group: `group` is `""` for the core group (`/api/v1`), `resource`
    /// is the plural, with `/subresource` when there is one (`pods/log`, `configmirrors/status`).
    Resource {
        /// The API group, `""` for core.
        group: &'static str,
        /// `configmaps`, `pods/log`.
        resource: &'static str,
        /// A literal object name from the path (`resourceNames`); `None` for any object.
        name: Option<&'static str>,
    },
    /// A path outside the resource API: `/api`, `/version`, `/healthz` (`nonResourceURLs`).
    NonResource {
        /// The URL path.
        url: &'static str,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Resource {
                group,
                resource,
                name,
            } => {
                write!(f, "{resource}")?;
                if let Some(name) = name {
                    write!(f, " named {name:?}")?;
                }
                if group.is_empty() {
                    write!(f, " (core group)")
                } else {
                    write!(f, " (group {group})")
                }
            }
            Target::NonResource { url } => write!(f, "the non-resource URL {url}"),
        }
    }
}

/// Where a rule applies, which decides between a Role and a ClusterRole.
///
/// ```
/// use incluster::rbac::Scope;
/// assert!(Scope::Cluster.is_cluster_wide());
/// assert!(Scope::AnyNamespace.is_cluster_wide());
/// assert!(!Scope::ClientNamespace.is_cluster_wide());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The client's own namespace (a `{namespace}` placeholder with no argument of that name:
    /// in a Pod, the ServiceAccount's namespace). A Role there.
    ClientNamespace,
    /// A namespace written into the path (`/api/v1/namespaces/kube-system/…`). A Role there.
    Namespace(&'static str),
    /// A namespace the caller passes at run time (a `namespace` argument): any namespace, so a
    /// ClusterRole.
    AnyNamespace,
    /// A cluster-scoped resource, a list or watch across all namespaces, or a non-resource URL.
    /// A ClusterRole.
    Cluster,
}

impl Scope {
    /// Whether the rule needs a ClusterRole (any namespace or the cluster itself).
    pub const fn is_cluster_wide(self) -> bool {
        matches!(self, Scope::AnyNamespace | Scope::Cluster)
    }
}

/// One RBAC permission: `verbs` on a [`Target`] within a [`Scope`].
///
/// ```
/// use incluster::rbac::{Rule, Scope};
/// const READ_CM: Rule = Rule::resource("", "configmaps", &["get"], Scope::ClientNamespace);
/// assert_eq!(READ_CM.to_string(), "get on configmaps (core group) in the client's namespace");
/// const ONE: Rule = READ_CM.named("settings");
/// assert_eq!(ONE.to_string(), "get on configmaps named \"settings\" (core group) in the client's namespace");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// What is accessed.
    pub target: Target,
    /// RBAC verbs: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verbs: &'static [&'static str],
    /// Where.
    pub scope: Scope,
}

impl Rule {
    /// `verbs` on a resource (`"pods/log"` for a subresource) of `group` (`""` for core).
    pub const fn resource(
        group: &'static str,
        resource: &'static str,
        verbs: &'static [&'static str],
        scope: Scope,
    ) -> Rule {
        Rule {
            target: Target::Resource {
                group,
                resource,
                name: None,
            },
            verbs,
            scope,
        }
    }

    /// `verbs` on a non-resource URL (always cluster-wide).
    ///
    /// ```
    /// let rule = incluster::rbac::Rule::non_resource("/version", &["get"]);
    /// assert!(rule.scope.is_cluster_wide());
    /// ```
    pub const fn non_resource(url: &'static str, verbs: &'static [&'static str]) -> Rule {
        Rule {
            target: Target::NonResource { url },
            verbs,
            scope: Scope::Cluster,
        }
    }

    /// The same rule restricted to the object `name` (`resourceNames`).
    pub const fn named(self, name: &'static str) -> Rule {
        let target = match self.target {
            Target::Resource {
                group, resource, ..
            } => Target::Resource {
                group,
                resource,
                name: Some(name),
            },
            other => other,
        };
        Rule { target, ..self }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.verbs.join(", "), self.target)?;
        match self.scope {
            Scope::ClientNamespace => write!(f, " in the client's namespace"),
            Scope::Namespace(ns) => write!(f, " in namespace {ns:?}"),
            Scope::AnyNamespace => write!(f, " in any namespace"),
            Scope::Cluster => Ok(()),
        }
    }
}

/// The rules one method needs.
///
/// ```
/// use incluster::rbac::{MethodRules, Rule, Scope};
/// const GET: MethodRules = MethodRules {
///     client: "ConfigMapsClient",
///     method: "get",
///     route: "GET /api/v1/namespaces/{namespace}/configmaps/{name}",
///     rules: &[Rule::resource("", "configmaps", &["get"], Scope::ClientNamespace)],
/// };
/// assert_eq!(GET.to_string(), "ConfigMapsClient::get");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MethodRules {
    /// The generated client (or runtime part) the method belongs to.
    pub client: &'static str,
    /// The method's name.
    pub method: &'static str,
    /// Its HTTP method and path template.
    pub route: &'static str,
    /// What it needs: usually one rule; a server-side apply or a `Watcher` may need more verbs.
    pub rules: &'static [Rule],
}

impl fmt::Display for MethodRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.client, self.method)
    }
}

/// Every rule a client needs, method by method: what `<Trait>Client::RBAC` holds. Merge several
/// into a [`Policy`](super::Policy) to render the manifests.
///
/// ```
/// use incluster::rbac::{MethodRules, Rule, Rules, Scope};
/// const RBAC: Rules = Rules {
///     client: "DiscoveryClient",
///     methods: &[MethodRules {
///         client: "DiscoveryClient",
///         method: "api",
///         route: "GET /api",
///         rules: &[Rule::non_resource("/api", &["get"])],
///     }],
/// };
/// assert_eq!(RBAC.method(0).method, "api");
/// assert_eq!(RBAC.rules().count(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rules {
    /// The generated client (or runtime part).
    pub client: &'static str,
    /// One entry per method, in declaration order.
    pub methods: &'static [MethodRules],
}

impl Rules {
    /// The rules of the method at `index` (declaration order); what a generated method attaches
    /// to its request so that a 403 names what it needs.
    ///
    /// # Panics
    /// When `index` is out of range (generated code only passes its own method's index).
    pub const fn method(&self, index: usize) -> &'static MethodRules {
        &self.methods[index]
    }

    /// Every rule of every method.
    pub fn rules(&self) -> impl Iterator<Item = &'static Rule> {
        self.methods.iter().flat_map(|m| m.rules.iter())
    }
}
