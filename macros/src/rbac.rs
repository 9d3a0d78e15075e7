//! The RBAC rule each endpoint needs, derived from its verb and path the way kube-apiserver's
//! `RequestInfoFactory` reads a request (k8s.io/apiserver `endpoints/request/requestinfo.go`), and
//! the check of a path's group, version, resource and subresource against the built-in API of
//! the targeted Kubernetes release (`builtin.rs`).
//!
//! - `/api/v1/…` is the core group `""`, `/apis/{group}/{version}/…` a named group; shorter paths
//!   (`/api`, `/apis`, `/version`, `/healthz`) are non-resource URLs, whose verb is the HTTP
//!   method in lower case.
//! - After the version: `namespaces/{ns}/` (unless followed by `status` or `finalize`, the
//!   Namespace's own subresources) scopes the rest; then `resource[/name[/subresource]]`.
//! - Verbs: GET on an item → `get`; on a collection → `list`, `watch` for a `WatchStream`, `list` +
//!   `watch` for a `Watcher` (the fallback when the cluster has no streaming list) or a caller's
//!   `watch` query argument; POST → `create`; PUT → `update`; PATCH → `patch`; apply → `patch` +
//!   `create` (an apply may create the object; not on a subresource); DELETE on an item → `delete`,
//!   on a collection → `deletecollection`.
//! - A literal name is `resourceNames`; a literal namespace a Role there; `{namespace}` with no
//!   argument the client's namespace; a namespace argument any namespace (a ClusterRole);
//!   no namespace a ClusterRole.

use crate::attr::Verb;
use crate::builtin;
use crate::path::{PathTemplate, Segment};
use crate::types::StreamKind;

/// What a call needs, as the macro emits it into `RBAC`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DerivedRule {
    pub(crate) target: Target,
    pub(crate) verbs: Vec<&'static str>,
    pub(crate) scope: Scope,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `resource` includes `/subresource`.
    Resource {
        group: String,
        resource: String,
        name: Option<String>,
    },
    NonResource {
        url: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    ClientNamespace,
    Namespace(String),
    AnyNamespace,
    Cluster,
}

/// The parts of an endpoint the rules depend on.
pub(crate) struct Call<'a> {
    pub(crate) verb: Verb,
    pub(crate) template: &'a PathTemplate,
    pub(crate) stream: Option<StreamKind>,
    /// The caller sets a `watch` query parameter (so the GET may be a list or a watch).
    pub(crate) watch_query: bool,
    /// Whether a placeholder is bound to an argument (else `{namespace}` is the client's).
    pub(crate) bound: &'a dyn Fn(&str) -> bool,
}

/// The rules `call` needs, or why they cannot be derived (a placeholder where the group,
/// version or resource goes) or why the path is wrong (not served by the built-in API).
pub(crate) fn derive(call: &Call) -> Result<Vec<DerivedRule>, String> {
    let segments = &call.template.segments;
    let text = call.template.lit.value();
    let prefix = match segments.first() {
        Some(Segment::Literal(p)) if p == "api" || p == "apis" => p.as_str(),
        Some(Segment::Placeholder(p)) => {
            return Err(format!(
                "cannot derive the RBAC rule of {text:?}: its first segment is the placeholder `{{{p}}}`, so it is unknown whether this is an API resource; write `/api/…`, `/apis/…` or a non-resource path literally"
            ))
        }
        _ => return non_resource(call),
    };
    // `/api/v1`, `/apis/{group}/{version}` and shorter are discovery documents: non-resource.
    let version_index = if prefix == "api" { 1 } else { 2 };
    if segments.len() <= version_index + 1 {
        return non_resource(call);
    }
    let group = if prefix == "api" {
        String::new()
    } else {
        literal(&segments[1], "API group", &text)?
    };
    let version = literal(&segments[version_index], "API version", &text)?;
    let mut rest = &segments[version_index + 1..];
    let mut special_verb = None;
    if let Some(Segment::Literal(first)) = rest.first() {
        if (first == "watch" || first == "proxy") && rest.len() > 1 {
            special_verb = Some(if first == "watch" { "watch" } else { "proxy" });
            rest = &rest[1..];
        }
    }
    let mut namespace = None;
    if matches!(rest.first(), Some(Segment::Literal(n)) if n == "namespaces") && rest.len() > 2 {
        let namespaces_subresource =
            matches!(&rest[2], Segment::Literal(s) if s == "status" || s == "finalize");
        if !namespaces_subresource {
            namespace = Some(&rest[1]);
            rest = &rest[2..];
        }
    }
    let resource = literal(&rest[0], "resource", &text)?;
    let name = rest.get(1);
    let subresource = match rest.get(2) {
        Some(segment) if special_verb != Some("proxy") => {
            Some(literal(segment, "subresource", &text)?)
        }
        _ => None,
    };
    let has_name = name.is_some();
    let verbs: Vec<&'static str> = match (special_verb, call.verb) {
        (Some(verb), _) => vec![verb],
        (None, Verb::Get) if has_name => vec!["get"],
        (None, Verb::Get) => match call.stream {
            Some(StreamKind::Watch) => vec!["watch"],
            Some(StreamKind::Watcher) => vec!["list", "watch"],
            _ if call.watch_query => vec!["list", "watch"],
            _ => vec!["list"],
        },
        (None, Verb::Post) => vec!["create"],
        (None, Verb::Put) => vec!["update"],
        (None, Verb::Patch) => vec!["patch"],
        (None, Verb::Apply) if !has_name => {
            return Err(format!(
                "#[apply] patches one object: end the path {text:?} with its name, e.g. `…/{resource}/{{name}}`"
            ))
        }
        // An apply may create the object (authorized as `create`); a subresource it only patches.
        (None, Verb::Apply) if subresource.is_some() => vec!["patch"],
        (None, Verb::Apply) => vec!["patch", "create"],
        (None, Verb::Delete) if has_name => vec!["delete"],
        (None, Verb::Delete) => vec!["deletecollection"],
    };
    let is_namespaces = group.is_empty() && resource == "namespaces";
    let scope = match namespace {
        Some(Segment::Literal(ns)) => Scope::Namespace(ns.clone()),
        Some(Segment::Placeholder(p)) if p == "namespace" && !(call.bound)(p) => {
            Scope::ClientNamespace
        }
        Some(Segment::Placeholder(_)) => Scope::AnyNamespace,
        None => Scope::Cluster,
    };
    check_builtin(
        &BuiltinCheck {
            group: &group,
            version: &version,
            resource: &resource,
            subresource: subresource.as_deref(),
            namespaced_path: namespace.is_some(),
            has_name,
            verbs: &verbs,
            apply: call.verb == Verb::Apply,
        },
        &text,
    )?;
    let name = match name {
        Some(Segment::Literal(n)) => Some(n.clone()),
        _ => None,
    };
    let resource = match subresource {
        Some(sub) => format!("{resource}/{sub}"),
        None => resource,
    };
    // A Namespace (and its status/finalize) is cluster-scoped whatever the path says.
    let scope = if is_namespaces { Scope::Cluster } else { scope };
    Ok(vec![DerivedRule {
        target: Target::Resource {
            group,
            resource,
            name,
        },
        verbs,
        scope,
    }])
}

/// A non-resource URL: the path (up to a placeholder, then `*`, as RBAC matches prefixes), the
/// HTTP method in lower case.
fn non_resource(call: &Call) -> Result<Vec<DerivedRule>, String> {
    let verb = match call.verb {
        Verb::Get => "get",
        Verb::Post => "post",
        Verb::Put => "put",
        Verb::Patch => "patch",
        Verb::Delete => "delete",
        Verb::Apply => {
            return Err(format!(
                "#[apply] needs an API resource path (`/api/v1/…` or `/apis/{{group}}/{{version}}/…`); {:?} is a non-resource URL",
                call.template.lit.value()
            ))
        }
    };
    let mut url = String::new();
    for segment in &call.template.segments {
        match segment {
            Segment::Literal(text) => {
                url.push('/');
                url.push_str(text);
            }
            Segment::Placeholder(_) => {
                url.push_str("/*");
                break;
            }
        }
    }
    if url.is_empty() {
        url.push('/');
    }
    Ok(vec![DerivedRule {
        target: Target::NonResource { url },
        verbs: vec![verb],
        scope: Scope::Cluster,
    }])
}

fn literal(segment: &Segment, what: &str, text: &str) -> Result<String, String> {
    match segment {
        Segment::Literal(value) => Ok(value.clone()),
        Segment::Placeholder(p) => Err(format!(
            "cannot derive the RBAC rule of {text:?}: the {what} is the placeholder `{{{p}}}`, and the rule depends on it; write the {what} literally (one method per resource)"
        )),
    }
}

struct BuiltinCheck<'a> {
    group: &'a str,
    version: &'a str,
    resource: &'a str,
    subresource: Option<&'a str>,
    namespaced_path: bool,
    has_name: bool,
    verbs: &'a [&'static str],
    apply: bool,
}

/// For a built-in group: the version, resource and subresource exist, the scope fits, the verbs
/// are served. Custom resources and unknown groups pass.
fn check_builtin(check: &BuiltinCheck, text: &str) -> Result<(), String> {
    let release = builtin::RELEASE;
    let Some(group) = builtin::group(check.group) else {
        return Ok(());
    };
    let shown = group.shown();
    let Some(version) = group.version(check.version) else {
        // Alpha and beta versions the test apiserver does not serve by default may be enabled
        // with --runtime-config: accept them.
        if check.version.contains("alpha") || check.version.contains("beta") {
            return Ok(());
        }
        let served: Vec<&str> = group.versions.iter().map(|v| v.name).collect();
        return Err(format!(
            "no version `{}` of API group {shown} in Kubernetes {release} (path {text:?}); it serves: {}",
            check.version,
            served.join(", ")
        ));
    };
    let Some(resource) = version.resource(check.resource) else {
        let mut message = format!(
            "no resource `{}` in {shown}/{} (Kubernetes {release})",
            check.resource, version.name
        );
        if let Some(near) =
            builtin::closest(check.resource, version.resources.iter().map(|r| r.name))
        {
            message.push_str(&format!("; did you mean `{near}`?"));
        } else {
            let elsewhere = builtin::served_elsewhere(check.resource);
            if !elsewhere.is_empty() {
                message.push_str(&format!(
                    "; `{}` is served by {}: use `/apis/{{group}}/{{version}}/…`",
                    check.resource,
                    elsewhere.join(", ")
                ));
            }
        }
        return Err(message);
    };
    let is_namespaces = check.group.is_empty() && check.resource == "namespaces";
    if check.namespaced_path && !resource.namespaced && !is_namespaces {
        return Err(format!(
            "`{}` ({shown}/{}) is cluster-scoped: remove `namespaces/{{…}}/` from {text:?}",
            resource.name, version.name
        ));
    }
    if resource.namespaced && !check.namespaced_path && check.has_name {
        return Err(format!(
            "`{}` ({shown}/{}) is namespaced: one object is at `…/namespaces/{{namespace}}/{}/{{name}}`",
            resource.name, version.name, resource.name
        ));
    }
    let (verbs_served, what) = match check.subresource {
        Some(sub) => match resource.subresource(sub) {
            Some(found) => (found.verbs, format!("{}/{sub}", resource.name)),
            None => {
                let mut message = format!(
                    "`{}` ({shown}/{}) has no subresource `{sub}`",
                    resource.name, version.name
                );
                if let Some(near) =
                    builtin::closest(sub, resource.subresources.iter().map(|s| s.name))
                {
                    message.push_str(&format!("; did you mean `{near}`?"));
                } else if resource.subresources.is_empty() {
                    message.push_str("; it has none");
                } else {
                    let all: Vec<&str> = resource.subresources.iter().map(|s| s.name).collect();
                    message.push_str(&format!("; it has: {}", all.join(", ")));
                }
                return Err(message);
            }
        },
        None => (resource.verbs, resource.name.to_string()),
    };
    // Discovery lists no verbs for some subresources (e.g. `pods/proxy`): nothing to check.
    if verbs_served.is_empty() {
        return Ok(());
    }
    for verb in check.verbs {
        let optional = check.apply && *verb == "create";
        if !verbs_served.contains(verb) && !optional && *verb != "proxy" {
            return Err(format!(
                "`{what}` ({shown}/{}) does not support `{verb}` in Kubernetes {release} (it supports: {})",
                version.name,
                verbs_served.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "rbac_tests.rs"]
mod tests;
