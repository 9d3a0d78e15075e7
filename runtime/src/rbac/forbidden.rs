//! The 403 that says what is missing: a generated method attaches its [`MethodRules`] to its
//! request; when the API server answers 403, the error names the rule and how to print the
//! whole policy.

use std::fmt;

use super::rule::{MethodRules, Scope, Target};
use crate::error::status::Status;
use crate::request::Request;

/// What a refused method needed, attached to the [`Status`] of a 403 answer to a request that
/// carried its rules (every generated method's request does).
///
/// ```
/// # use incluster::rbac::*;
/// # async fn f(configmaps: incluster::Client, err: incluster::Error) {
/// if let Some(needed) = err.rbac_needed() {
///     eprintln!("{} needs {:?}", needed.method, needed.method.rules);
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RbacNeeded {
    /// The method and the rules it needs.
    pub method: &'static MethodRules,
    /// The namespace of the refused request, when its rules are namespaced.
    pub namespace: Option<String>,
}

/// `status` with what `request`'s method needed, when the server refused it (403).
pub(crate) fn explain(mut status: Status, request: &Request) -> Status {
    if status.code == 403 {
        if let Some(method) = request.rbac {
            let details = status.details.get_or_insert_with(Default::default);
            details.rbac_needed = Some(Box::new(RbacNeeded {
                method,
                namespace: namespace_of(&request.template, &request.path),
            }));
        }
    }
    status
}

/// The value of the `namespaces/{…}` segment of a resource path (`/api/v1/namespaces/x/…`,
/// `/apis/g/v/namespaces/x/…`), decoded; `None` outside a namespace.
fn namespace_of(template: &str, path: &str) -> Option<String> {
    let template: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let index = match template.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return None,
    };
    // `/api/v1/namespaces/{name}` alone is the Namespace object itself.
    if template.get(index) != Some(&"namespaces") || template.len() <= index + 2 {
        return None;
    }
    let segment = path.trim_start_matches('/').split('/').nth(index + 1)?;
    Some(
        percent_encoding::percent_decode_str(segment)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

impl fmt::Display for RbacNeeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = self.method;
        write!(f, "{method} ({}) needs RBAC ", method.route)?;
        for (index, rule) in method.rules.iter().enumerate() {
            if index > 0 {
                write!(f, "; and ")?;
            }
            let role = if rule.scope.is_cluster_wide() {
                "a ClusterRole"
            } else {
                "a Role"
            };
            write!(f, "{{")?;
            match rule.target {
                Target::Resource {
                    group,
                    resource,
                    name,
                } => {
                    write!(f, "apiGroups: [{group:?}], resources: [{resource:?}]")?;
                    if let Some(name) = name {
                        write!(f, ", resourceNames: [{name:?}]")?;
                    }
                }
                Target::NonResource { url } => write!(f, "nonResourceURLs: [{url:?}]")?,
            }
            write!(f, ", verbs: {:?}}} in {role}", rule.verbs)?;
            match (&self.namespace, rule.scope) {
                (Some(ns), Scope::ClientNamespace | Scope::Namespace(_)) => {
                    write!(f, " in namespace {ns:?}")?
                }
                (Some(ns), Scope::AnyNamespace) => write!(f, " (or a Role in namespace {ns:?})")?,
                _ => {}
            }
        }
        write!(
            f,
            ", bound to this ServiceAccount; print the whole policy with \
             incluster::rbac::Policy::new(\"<service-account>\", \"<namespace>\").with(&{}::RBAC).to_yaml()",
            method.client
        )
    }
}

/// `; <what was needed>` for an error message, or nothing.
pub(crate) struct Hint<'a>(pub(crate) &'a Status);

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.details.as_ref().and_then(|d| d.rbac_needed.as_ref()) {
            Some(needed) => write!(f, "; {needed}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::Rule;
    use crate::Method;

    static GET: MethodRules = MethodRules {
        client: "ConfigMapsClient",
        method: "get",
        route: "GET /api/v1/namespaces/{namespace}/configmaps/{name}",
        rules: &[Rule::resource(
            "",
            "configmaps",
            &["get"],
            Scope::ClientNamespace,
        )],
    };

    #[test]
    fn a_403_names_the_rule_and_the_namespace() {
        let request = Request::builder(
            Method::GET,
            "/api/v1/namespaces/{namespace}/configmaps/{name}",
        )
        .path_param("namespace", "demo ns")
        .path_param("name", "x")
        .rbac(&GET)
        .build()
        .unwrap();
        let status = explain(Status::from_response(403, b""), &request);
        let needed = status.details.unwrap().rbac_needed.unwrap();
        assert_eq!(needed.method, &GET);
        let shown = crate::Error::Api(Box::new(explain(Status::from_response(403, b""), &request)))
            .to_string();
        assert!(shown.contains(&needed.to_string()), "{shown}");
        assert_eq!(needed.namespace.as_deref(), Some("demo ns"));
        let other = explain(Status::from_response(404, b""), &request);
        assert!(other.details.is_none());
    }

    #[test]
    fn namespaces_come_from_the_namespaces_segment_only() {
        assert_eq!(
            namespace_of(
                "/api/v1/namespaces/{namespace}/pods",
                "/api/v1/namespaces/a/pods"
            )
            .as_deref(),
            Some("a")
        );
        assert_eq!(
            namespace_of(
                "/apis/g/v1/namespaces/{ns}/x/{n}",
                "/apis/g/v1/namespaces/b/x/y"
            )
            .as_deref(),
            Some("b")
        );
        assert_eq!(
            namespace_of("/api/v1/namespaces/{name}", "/api/v1/namespaces/c"),
            None
        );
        assert_eq!(
            namespace_of("/api/v1/configmaps", "/api/v1/configmaps"),
            None
        );
        assert_eq!(namespace_of("/version", "/version"), None);
    }
}
