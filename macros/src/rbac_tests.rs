//! One test per mapping rule of `rbac.rs`.

use super::*;
use crate::ctxt::Ctxt;

fn rules_of(
    verb: Verb,
    path: &str,
    stream: Option<StreamKind>,
    bound: &[&str],
) -> Result<Vec<DerivedRule>, String> {
    let mut cx = Ctxt::default();
    let template = PathTemplate::parse(
        syn::LitStr::new(path, proc_macro2::Span::call_site()),
        &mut cx,
    );
    assert!(cx.into_compile_errors().is_none(), "{path} does not parse");
    let bound_fn = |p: &str| bound.contains(&p);
    derive(&Call {
        verb,
        template: &template,
        stream,
        watch_query: false,
        bound: &bound_fn,
    })
}

fn one(verb: Verb, path: &str, stream: Option<StreamKind>, bound: &[&str]) -> DerivedRule {
    let mut rules = rules_of(verb, path, stream, bound).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(rules.len(), 1);
    rules.remove(0)
}

fn resource(group: &str, resource: &str, name: Option<&str>) -> Target {
    Target::Resource {
        group: group.into(),
        resource: resource.into(),
        name: name.map(String::from),
    }
}

const CM: &str = "/api/v1/namespaces/{namespace}/configmaps";
const CM_ITEM: &str = "/api/v1/namespaces/{namespace}/configmaps/{name}";

#[test]
fn core_group_is_empty_and_named_groups_come_from_the_path() {
    let rule = one(Verb::Get, CM_ITEM, None, &["name"]);
    assert_eq!(rule.target, resource("", "configmaps", None));
    let rule = one(
        Verb::Get,
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}",
        None,
        &["name"],
    );
    assert_eq!(rule.target, resource("apps", "deployments", None));
}

#[test]
fn get_on_an_item_is_get_and_on_a_collection_list() {
    assert_eq!(one(Verb::Get, CM_ITEM, None, &["name"]).verbs, ["get"]);
    assert_eq!(one(Verb::Get, CM, None, &[]).verbs, ["list"]);
    assert_eq!(
        one(Verb::Get, CM, Some(StreamKind::List), &[]).verbs,
        ["list"]
    );
}

#[test]
fn watch_stream_is_watch_and_a_watcher_list_and_watch() {
    assert_eq!(
        one(Verb::Get, CM, Some(StreamKind::Watch), &[]).verbs,
        ["watch"]
    );
    assert_eq!(
        one(Verb::Get, CM, Some(StreamKind::Watcher), &[]).verbs,
        ["list", "watch"]
    );
}

#[test]
fn a_watch_query_argument_may_be_either() {
    let mut cx = Ctxt::default();
    let template = PathTemplate::parse(
        syn::LitStr::new(CM, proc_macro2::Span::call_site()),
        &mut cx,
    );
    let rules = derive(&Call {
        verb: Verb::Get,
        template: &template,
        stream: None,
        watch_query: true,
        bound: &|_| false,
    })
    .unwrap();
    assert_eq!(rules[0].verbs, ["list", "watch"]);
}

#[test]
fn write_verbs() {
    assert_eq!(one(Verb::Post, CM, None, &[]).verbs, ["create"]);
    assert_eq!(one(Verb::Put, CM_ITEM, None, &["name"]).verbs, ["update"]);
    assert_eq!(one(Verb::Patch, CM_ITEM, None, &["name"]).verbs, ["patch"]);
    assert_eq!(
        one(Verb::Delete, CM_ITEM, None, &["name"]).verbs,
        ["delete"]
    );
    assert_eq!(one(Verb::Delete, CM, None, &[]).verbs, ["deletecollection"]);
}

#[test]
fn apply_needs_patch_and_create_except_on_a_subresource() {
    assert_eq!(
        one(Verb::Apply, CM_ITEM, None, &["name"]).verbs,
        ["patch", "create"]
    );
    let status = one(
        Verb::Apply,
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/status",
        None,
        &["name"],
    );
    assert_eq!(status.verbs, ["patch"]);
    assert!(rules_of(Verb::Apply, CM, None, &[])
        .unwrap_err()
        .contains("one object"));
    assert!(rules_of(Verb::Apply, "/version", None, &[]).is_err());
}

#[test]
fn subresources() {
    for (verb, path, expected) in [
        (Verb::Get, "/api/v1/namespaces/{namespace}/pods/{name}/log", "pods/log"),
        (
            Verb::Post,
            "/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
            "serviceaccounts/token",
        ),
        (
            Verb::Patch,
            "/apis/mirror.incluster.dev/v1alpha1/namespaces/{namespace}/configmirrors/{name}/status",
            "configmirrors/status",
        ),
    ] {
        let rule = one(verb, path, None, &["name"]);
        let Target::Resource { resource, .. } = rule.target else { panic!() };
        assert_eq!(resource, expected);
    }
}

#[test]
fn a_literal_name_is_a_resource_name() {
    let rule = one(
        Verb::Get,
        "/api/v1/namespaces/{namespace}/configmaps/settings",
        None,
        &[],
    );
    assert_eq!(rule.target, resource("", "configmaps", Some("settings")));
}

#[test]
fn non_resource_urls_use_the_http_method() {
    for path in [
        "/api",
        "/apis",
        "/version",
        "/healthz",
        "/api/v1",
        "/apis/apps/v1",
        "/",
    ] {
        let rule = one(Verb::Get, path, None, &[]);
        assert_eq!(
            rule.target,
            Target::NonResource { url: path.into() },
            "{path}"
        );
        assert_eq!(rule.verbs, ["get"]);
        assert_eq!(rule.scope, Scope::Cluster);
    }
    assert_eq!(one(Verb::Post, "/healthz", None, &[]).verbs, ["post"]);
    assert_eq!(
        one(Verb::Get, "/logs/{file}", None, &["file"]).target,
        Target::NonResource {
            url: "/logs/*".into()
        }
    );
}

#[test]
fn scopes() {
    assert_eq!(one(Verb::Get, CM, None, &[]).scope, Scope::ClientNamespace);
    assert_eq!(
        one(Verb::Get, CM, None, &["namespace"]).scope,
        Scope::AnyNamespace
    );
    assert_eq!(
        one(
            Verb::Get,
            "/api/v1/namespaces/{ns}/configmaps",
            None,
            &["ns"]
        )
        .scope,
        Scope::AnyNamespace
    );
    assert_eq!(
        one(
            Verb::Get,
            "/api/v1/namespaces/kube-system/configmaps",
            None,
            &[]
        )
        .scope,
        Scope::Namespace("kube-system".into())
    );
    // All namespaces, a cluster-scoped resource, a Namespace itself and its subresources.
    assert_eq!(
        one(Verb::Get, "/api/v1/configmaps", None, &[]).scope,
        Scope::Cluster
    );
    assert_eq!(
        one(Verb::Get, "/api/v1/nodes/{name}", None, &["name"]).scope,
        Scope::Cluster
    );
    let namespace = one(Verb::Get, "/api/v1/namespaces/{name}", None, &["name"]);
    assert_eq!(
        (namespace.target, namespace.scope),
        (resource("", "namespaces", None), Scope::Cluster)
    );
    let status = one(
        Verb::Put,
        "/api/v1/namespaces/{name}/finalize",
        None,
        &["name"],
    );
    assert_eq!(status.target, resource("", "namespaces/finalize", None));
    assert_eq!(status.scope, Scope::Cluster);
}

#[test]
fn placeholders_where_the_rule_depends_on_them_are_reported() {
    for path in [
        "/apis/{group}/v1/things",
        "/apis/example.com/{version}/things",
        "/api/v1/namespaces/{namespace}/{resource}",
        "/api/v1/namespaces/{namespace}/pods/{name}/{sub}",
        "/{anything}",
    ] {
        let err = rules_of(
            Verb::Get,
            path,
            None,
            &["group", "version", "resource", "name", "sub", "anything"],
        )
        .unwrap_err();
        assert!(err.contains("cannot derive the RBAC rule"), "{path}: {err}");
    }
}

#[test]
fn typos_in_the_builtin_api_are_errors_with_a_suggestion() {
    let err = rules_of(
        Verb::Get,
        "/api/v1/namespaces/{namespace}/configmap",
        None,
        &[],
    )
    .unwrap_err();
    assert!(
        err.starts_with("no resource `configmap` in core/v1"),
        "{err}"
    );
    assert!(err.ends_with("did you mean `configmaps`?"), "{err}");
    let err = rules_of(
        Verb::Get,
        "/api/v1/namespaces/{namespace}/deployments",
        None,
        &[],
    )
    .unwrap_err();
    assert!(err.contains("served by apps/v1"), "{err}");
    let err = rules_of(
        Verb::Get,
        "/apis/apps/v2/namespaces/{namespace}/deployments",
        None,
        &[],
    )
    .unwrap_err();
    assert!(err.contains("no version `v2` of API group apps"), "{err}");
    let err = rules_of(
        Verb::Get,
        "/api/v1/namespaces/{namespace}/pods/{name}/logs",
        None,
        &["name"],
    )
    .unwrap_err();
    assert!(err.contains("did you mean `log`?"), "{err}");
    let err = rules_of(Verb::Get, "/api/v1/namespaces/{namespace}/nodes", None, &[]).unwrap_err();
    assert!(err.contains("cluster-scoped"), "{err}");
    let err = rules_of(Verb::Get, "/api/v1/pods/{name}", None, &["name"]).unwrap_err();
    assert!(err.contains("is namespaced"), "{err}");
    let err = rules_of(
        Verb::Delete,
        "/api/v1/namespaces/{namespace}/pods/{name}/log",
        None,
        &["name"],
    )
    .unwrap_err();
    assert!(err.contains("does not support `delete`"), "{err}");
}

#[test]
fn custom_resources_unknown_groups_and_unserved_betas_pass() {
    assert!(rules_of(
        Verb::Get,
        "/apis/example.com/v1/namespaces/{namespace}/things",
        None,
        &[]
    )
    .is_ok());
    assert!(rules_of(
        Verb::Get,
        "/apis/apps/v1beta9/namespaces/{namespace}/deployments",
        None,
        &[]
    )
    .is_ok());
}

#[test]
fn the_legacy_watch_prefix_is_the_watch_verb() {
    let rule = one(
        Verb::Get,
        "/api/v1/watch/namespaces/{namespace}/configmaps",
        None,
        &[],
    );
    assert_eq!(rule.verbs, ["watch"]);
    assert_eq!(rule.target, resource("", "configmaps", None));
    assert_eq!(rule.scope, Scope::ClientNamespace);
}
