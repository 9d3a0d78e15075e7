//! Least privilege from the code, against the real kube-apiserver (authorization mode RBAC):
//! for each example, a ServiceAccount bound to exactly the policy derived from its code (applied
//! with the real `kubectl`) can call every method of the traits it uses; a SelfSubjectRulesReview
//! (what `kubectl auth can-i --list` asks) shows nothing beyond the derived rules, and nothing
//! less; removing any one verb of any one rule makes every method that needs it fail with a 403
//! that names the method's rules. And the macro's table of built-in resources is the apiserver's.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use incluster::rbac::{Grant, MethodRules, Placement, Policy, Scope, Target, LEADER_ELECTION};
use incluster::watcher::{Event, Watcher};
use incluster::{Client, Error, Patch};
use incluster_examples::api::{
    Discovery, DiscoveryClient, HeartbeatConfigMap, HeartbeatConfigMapClient, OwnConfigMaps,
    OwnConfigMapsClient, HEARTBEAT_CONFIGMAP,
};
use incluster_examples::mirror::clients::{
    ConfigMaps as MirrorConfigMaps, ConfigMapsClient as MirrorConfigMapsClient, Mirrors,
    MirrorsClient,
};
use incluster_examples::rbac::{example, Example};
use incluster_tests::builtin_resources;
use incluster_tests::controlplane::{built_binary, repo_root, Admin, ControlPlane, Identity};
use incluster_tests::podfs::PodFs;
use incluster_tests::wait::eventually;
use serde_json::{json, Value};

/// A bound for every wait (a hang guard, not a performance claim).
const HANG_GUARD: Duration = Duration::from_secs(90);
/// How long an open watch must stay free of errors to count as authorized.
const WATCH_QUIET: Duration = Duration::from_secs(2);
const MIRROR_API: &str = "/apis/mirror.incluster.dev/v1alpha1";
const MANAGER: &str = "incluster-rbac-test";

#[tokio::test]
async fn builtin_resource_table_is_the_apiservers_discovery() {
    let admin = ControlPlane::shared().admin();
    let table = builtin_resources::discover(&admin).await;
    let expected = builtin_resources::render(&table, &builtin_resources::release(&admin).await);
    let committed = std::fs::read_to_string(repo_root().join(builtin_resources::TABLE_PATH))
        .expect("read the committed table");
    assert!(
        committed == expected,
        "{} differs from the test apiserver's discovery; run scripts/gen-builtin-resources",
        builtin_resources::TABLE_PATH
    );
}

#[tokio::test]
async fn seed_gets_exactly_its_derived_rbac() {
    least_privilege(example("seed").expect("the seed example")).await;
}

#[tokio::test]
async fn heartbeat_gets_exactly_its_derived_rbac() {
    least_privilege(example("heartbeat").expect("the heartbeat example")).await;
}

#[tokio::test]
async fn config_mirror_gets_exactly_its_derived_rbac() {
    least_privilege(example("config-mirror").expect("the config-mirror example")).await;
}

/// The whole proof for one example.
async fn least_privilege(example: &'static Example) {
    let plane = ControlPlane::shared();
    let admin = plane.admin();
    let policy = example.policy();
    prepare(plane, &admin, example).await;
    let client = bound_client(plane, &admin, example, &policy).await;

    // Every method of every trait it uses works (RBAC caches settle: retried within the bound).
    let methods = methods_of(example);
    for method in &methods {
        eventually(&format!("{method} to be allowed"), HANG_GUARD, || async {
            match call(&admin, &client, example, method).await {
                Ok(()) => true,
                Err(err) if err.is_forbidden() => false,
                Err(err) => panic!("{method} failed with something other than a 403: {err}"),
            }
        })
        .await;
    }
    println!(
        "{}: {} methods called as {}/{}, all allowed",
        example.name,
        methods.len(),
        example.namespace,
        example.service_account
    );

    // What the ServiceAccount may do is exactly the derived grants, in each namespace concerned.
    let grants = policy.grants();
    let mut namespaces: BTreeSet<String> = BTreeSet::from([example.namespace.to_string()]);
    namespaces.insert("default".into());
    for grant in &grants {
        if let Placement::Namespace(ns) = &grant.placement {
            namespaces.insert(ns.clone());
        }
    }
    let token = client_token(plane, &admin, example).await;
    let baseline = baseline_token(plane, &admin, example.namespace).await;
    // What an operator would look at: the real `kubectl auth can-i --list` (printed, for people;
    // the assertions below read the same review as data).
    // (Not the admin kubeconfig: its client certificate would win over the token.)
    let kubectl_dir = tempfile::tempdir().expect("temporary directory");
    let ca = kubectl_dir.path().join("ca.crt");
    let empty_kubeconfig = kubectl_dir.path().join("config");
    std::fs::write(&ca, &plane.ca_pem).expect("write ca.crt");
    std::fs::write(&empty_kubeconfig, "").expect("write an empty kubeconfig");
    let can_i = std::process::Command::new(built_binary("kubectl"))
        .arg("--kubeconfig")
        .arg(&empty_kubeconfig)
        .arg("--server")
        .arg(&plane.server)
        .arg("--certificate-authority")
        .arg(&ca)
        .args([
            "--token",
            &token,
            "-n",
            example.namespace,
            "auth",
            "can-i",
            "--list",
        ])
        .output()
        .expect("run kubectl auth can-i --list");
    assert!(
        can_i.status.success(),
        "{}",
        String::from_utf8_lossy(&can_i.stderr)
    );
    println!(
        "{}: kubectl auth can-i --list -n {} as {}:\n{}",
        example.name,
        example.namespace,
        example.service_account,
        String::from_utf8_lossy(&can_i.stdout)
    );
    for ns in &namespaces {
        let expected: BTreeSet<Atom> = grants
            .iter()
            .filter(|g| {
                g.placement == Placement::Cluster || g.placement == Placement::Namespace(ns.clone())
            })
            .flat_map(atoms_of_grant)
            .collect();
        let allowed = rules_review(&admin, &token, ns).await;
        let everyone = rules_review(&admin, &baseline, ns).await;
        let missing: BTreeSet<&Atom> = expected.difference(&allowed).collect();
        assert!(
            missing.is_empty(),
            "{}: in namespace {ns}, derived grants are not in effect: {missing:?}",
            example.name
        );
        let beyond: BTreeSet<&Atom> = allowed.difference(&everyone).collect();
        let expected_beyond: BTreeSet<&Atom> = expected.difference(&everyone).collect();
        assert_eq!(
            beyond, expected_beyond,
            "{}: in namespace {ns}, the rules review (beyond what every ServiceAccount may do) differs from the derived policy",
            example.name
        );
        println!(
            "{}: namespace {ns}: {} (group, resource, name, verb) grants beyond the baseline, as derived",
            example.name,
            expected_beyond.len()
        );
    }
    let everyone = rules_review(&admin, &baseline, example.namespace).await;

    // Remove each verb of each rule in turn: every method that needs it fails with the 403 that
    // names its rules; put it back and it works again.
    let mut removals = 0;
    for grant in &grants {
        for verb in &grant.verbs {
            let atom = &atoms_of_grant(&Grant {
                verbs: vec![verb],
                ..grant.clone()
            })[0];
            if everyone.contains(atom) {
                // E.g. `get` on `/api`: the bootstrap `system:discovery` ClusterRole grants it to
                // every ServiceAccount, so removing it from this policy changes nothing.
                println!(
                    "{}: {verb} on {} is granted to every ServiceAccount; not removed",
                    example.name, grant.target
                );
                continue;
            }
            let needing: Vec<&&'static MethodRules> = methods
                .iter()
                .filter(|m| needs(m, grant, verb, &policy))
                .collect();
            assert!(
                !needing.is_empty(),
                "{}: no method needs {verb} on {} — the policy grants more than the code uses",
                example.name,
                grant.target
            );
            let (path, original) = role_document(&policy, &grant.placement);
            let reduced = without_verb(&original, &grant.target, verb);
            admin.call("PUT", &path, Some(reduced)).await;
            for method in &needing {
                eventually(
                    &format!("{method} to be refused without {verb} on {}", grant.target),
                    HANG_GUARD,
                    || async {
                        match call(&admin, &client, example, method).await {
                            Ok(()) => false,
                            Err(err) if err.is_forbidden() => {
                                check_forbidden_names_the_method(&err, method, verb);
                                true
                            }
                            Err(err) => {
                                panic!("{method} failed with something other than a 403: {err}")
                            }
                        }
                    },
                )
                .await;
            }
            admin.call("PUT", &path, Some(original)).await;
            for method in &needing {
                eventually(
                    &format!("{method} to be allowed again"),
                    HANG_GUARD,
                    || async { call(&admin, &client, example, method).await.is_ok() },
                )
                .await;
            }
            removals += 1;
        }
    }
    println!(
        "{}: {removals} single-verb removals, each refused every method needing it with a 403 naming its rules",
        example.name
    );
}

/// A refused generated method names its own rules, and so does the runtime's leader election.
fn check_forbidden_names_the_method(err: &Error, method: &MethodRules, verb: &str) {
    let needed = err
        .rbac_needed()
        .unwrap_or_else(|| panic!("the 403 to {method} does not name its rules: {err}"));
    assert_eq!(needed.method, method, "{err}");
    assert!(
        needed.method.rules.iter().any(|r| r.verbs.contains(&verb)),
        "{err}"
    );
    assert!(err.to_string().contains(&needed.to_string()), "{err}");
    println!("the 403 to {method} without {verb}: {err}");
    if matches!(
        needed.method.rules[0].scope,
        Scope::ClientNamespace | Scope::AnyNamespace | Scope::Namespace(_)
    ) {
        assert!(needed.namespace.is_some(), "{err}");
    }
}

/// Every method of every client the example uses.
fn methods_of(example: &Example) -> Vec<&'static MethodRules> {
    example
        .uses
        .iter()
        .flat_map(|rules| rules.methods.iter())
        .collect()
}

/// Whether `method` needs `verb` of `grant` (the grant may cover it from a broader place: the
/// ClusterRole, or without `resourceNames`).
fn needs(method: &MethodRules, grant: &Grant, verb: &str, policy: &Policy) -> bool {
    method.rules.iter().any(|rule| {
        let placement = match rule.scope {
            Scope::ClientNamespace => Placement::Namespace(policy.namespace().to_string()),
            Scope::Namespace(ns) => Placement::Namespace(ns.to_string()),
            Scope::AnyNamespace | Scope::Cluster => Placement::Cluster,
        };
        let place_covered = grant.placement == placement || grant.placement == Placement::Cluster;
        let target_covered = grant.target == rule.target
            || matches!(
                (grant.target, rule.target),
                (
                    Target::Resource { group: g1, resource: r1, name: None },
                    Target::Resource { group: g2, resource: r2, name: Some(_) },
                ) if g1 == g2 && r1 == r2
            );
        rule.verbs.contains(&verb) && place_covered && target_covered
    })
}

/// Calls `method` as the example's ServiceAccount; a 403 is `Err`, any other answer means RBAC
/// let it through.
async fn call(
    admin: &Admin,
    client: &Client,
    example: &Example,
    method: &MethodRules,
) -> incluster::Result<()> {
    let ns = example.namespace;
    let allowed = |result: incluster::Result<()>| match result {
        Err(err) if err.is_forbidden() => Err(err),
        _ => Ok(()),
    };
    let outcome = match (method.client, method.method) {
        ("DiscoveryClient", "api_versions") => DiscoveryClient::new(client.clone())
            .api_versions()
            .await
            .map(drop),
        ("OwnConfigMapsClient", "list") => OwnConfigMapsClient::new(client.clone())
            .list()
            .await
            .map(drop),
        ("HeartbeatConfigMapClient", "get") => HeartbeatConfigMapClient::new(client.clone())
            .get()
            .await
            .map(drop),
        ("HeartbeatConfigMapClient", "apply") => {
            // Missing first, so the apply has to create it (RBAC `create`).
            let _ = admin
                .raw(
                    "DELETE",
                    &format!("/api/v1/namespaces/{ns}/configmaps/{HEARTBEAT_CONFIGMAP}"),
                    None,
                )
                .await;
            HeartbeatConfigMapClient::new(client.clone())
                .apply(
                    &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": HEARTBEAT_CONFIGMAP}, "data": {"beats": "1"}}),
                    MANAGER,
                    true,
                )
                .await
                .map(drop)
        }
        ("MirrorsClient", "watch_all") => {
            let mirrors = MirrorsClient::new(client.clone());
            watched(|| mirrors.watch_all()).await
        }
        ("MirrorsClient", "watch_in") => {
            let mirrors = MirrorsClient::new(client.clone());
            watched(|| mirrors.watch_in(ns)).await
        }
        ("MirrorsClient", "patch") => {
            MirrorsClient::new(client.clone())
                .patch(
                    ns,
                    "rbac-mirror",
                    &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
                )
                .await
        }
        ("MirrorsClient", "patch_status") => MirrorsClient::new(client.clone())
            .patch_status(
                ns,
                "rbac-mirror",
                &Patch::Merge(json!({"status": {"copies": 0}})),
            )
            .await
            .map(drop),
        ("ConfigMapsClient", "get") => MirrorConfigMapsClient::new(client.clone())
            .get("default", "rbac-copy")
            .await
            .map(drop),
        ("ConfigMapsClient", "create") => {
            let _ = admin
                .raw(
                    "DELETE",
                    "/api/v1/namespaces/default/configmaps/rbac-created",
                    None,
                )
                .await;
            let object: incluster_examples::mirror::types::ConfigMap =
                serde_json::from_value(json!({
                    "metadata": {"name": "rbac-created"}, "data": {"a": "1"}
                }))
                .expect("a ConfigMap");
            MirrorConfigMapsClient::new(client.clone())
                .create("default", &object, MANAGER)
                .await
        }
        ("ConfigMapsClient", "apply") => {
            // It exists: config-mirror's apply only updates (creating is `create`'s job).
            let _ = admin
                .raw(
                    "POST",
                    "/api/v1/namespaces/default/configmaps",
                    Some(json!({"metadata": {"name": "rbac-copy"}})),
                )
                .await;
            let object: incluster_examples::mirror::types::ConfigMap = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rbac-copy"}, "data": {"a": "1"}
            }))
            .expect("a ConfigMap");
            MirrorConfigMapsClient::new(client.clone())
                .apply("default", "rbac-copy", &Patch::Apply(object), true)
                .await
                .map(drop)
        }
        ("ConfigMapsClient", "merge") => {
            MirrorConfigMapsClient::new(client.clone())
                .merge(
                    "default",
                    "rbac-copy",
                    &Patch::Merge(json!({"data": {"b": "2"}})),
                )
                .await
        }
        ("ConfigMapsClient", "delete") => {
            let _ = admin
                .raw(
                    "POST",
                    "/api/v1/namespaces/default/configmaps",
                    Some(json!({"metadata": {"name": "rbac-doomed"}})),
                )
                .await;
            MirrorConfigMapsClient::new(client.clone())
                .delete("default", "rbac-doomed", &json!({}))
                .await
        }
        ("ConfigMapsClient", "watch_copies") => {
            let configmaps = MirrorConfigMapsClient::new(client.clone());
            watched(|| configmaps.watch_copies("app=rbac")).await
        }
        ("ConfigMapsClient", "watch_sources") => {
            let configmaps = MirrorConfigMapsClient::new(client.clone());
            watched(|| configmaps.watch_sources(incluster::controller::ACCEPT)).await
        }
        ("incluster::controller::Recorder", method) => {
            use incluster::controller::{Event as Note, EventType, Recorder, Reference};
            let recorder = Recorder::new(client.clone(), "incluster.dev/rbac-test", "rbac-test");
            let regarding = Reference {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some(ns.to_string()),
                name: "rbac-copy".into(),
                uid: String::new(),
            };
            // A fresh reason each time: the first publish creates; a repeat patches its series.
            static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let reason = format!("Test{call}");
            let note = Note::new(EventType::Normal, &reason, "Test", "least privilege");
            if method.contains("series") {
                // The series needs an Event first, and publishing it needs `create`; where this
                // policy lacks `create`, the patch cannot be reached (and is not what is tested).
                if let Err(err) = recorder.publish(&regarding, &note).await {
                    if err.is_forbidden()
                        && err
                            .rbac_needed()
                            .is_some_and(|n| !n.method.method.contains("series"))
                    {
                        return Ok(());
                    }
                    return Err(err);
                }
            }
            recorder.publish(&regarding, &note).await
        }
        (client_name, _) if client_name == LEADER_ELECTION.client => {
            lead_once(admin, client, ns).await
        }
        (client_name, name) => panic!("the test has no call for {client_name}::{name}: add one"),
    };
    allowed(outcome)
}

/// A watcher works in both ways it may list: a streaming list (one watch; clusters with
/// `WatchList`) and the list + watch fallback (clusters without it): each reaches `InitDone`, and
/// the watch that follows stays open without an error for a while.
async fn watched<T, F, Fut>(make: F) -> incluster::Result<()>
where
    T: serde::de::DeserializeOwned + Send + 'static,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = incluster::Result<Watcher<T>>>,
{
    for streaming in [true, false] {
        let mut watcher = Box::pin(make().await?.streaming_list(streaming));
        let deadline = tokio::time::Instant::now() + HANG_GUARD;
        loop {
            let next = tokio::time::timeout_at(deadline, watcher.next())
                .await
                .expect("a watcher event within the hang guard");
            match next {
                Some(Ok(Event::InitDone)) => break,
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err),
                None => panic!("a watcher never ends"),
            }
        }
        if let Ok(Some(Err(err))) = tokio::time::timeout(WATCH_QUIET, watcher.next()).await {
            return Err(err);
        }
    }
    Ok(())
}

/// Leader election once: no lease yet (so it is created), acquired, released (updated).
async fn lead_once(admin: &Admin, client: &Client, ns: &str) -> incluster::Result<()> {
    use incluster::leader::{LeaderElection, LeaseSettings};
    let _ = admin
        .raw(
            "DELETE",
            &format!("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/rbac-test"),
            None,
        )
        .await;
    let election = LeaderElection::new(
        client.clone(),
        LeaseSettings::new(ns, "rbac-test", "rbac-test-replica"),
    );
    let leadership = tokio::time::timeout(HANG_GUARD, election.acquire())
        .await
        .expect("leader election answers within the hang guard")?;
    leadership.release().await
}

/// The cluster state the calls need: the namespace, the CRD and one ConfigMirror.
async fn prepare(plane: &ControlPlane, admin: &Admin, example: &Example) {
    admin.ensure_namespace(example.namespace).await;
    if example.name == "config-mirror" {
        plane.kubectl_apply(&repo_root().join("examples/deploy/mirror-crd.yaml"));
        admin
            .wait_served(&format!("{MIRROR_API}/configmirrors"), HANG_GUARD)
            .await;
        let (status, body) = admin
            .raw(
                "POST",
                &format!("{MIRROR_API}/namespaces/{}/configmirrors", example.namespace),
                Some(json!({
                    "apiVersion": "mirror.incluster.dev/v1alpha1", "kind": "ConfigMirror",
                    "metadata": {"name": "rbac-mirror"},
                    "spec": {"source": {"namespace": "default", "name": "rbac-source"}, "targets": ["default"]},
                })),
            )
            .await
            .expect("create a ConfigMirror");
        assert!(status == 201 || status == 409, "{status} {body}");
    }
}

/// Applies the example's derived policy with the real kubectl and returns a client that
/// authenticates as its ServiceAccount, as in a Pod.
async fn bound_client(
    plane: &ControlPlane,
    admin: &Admin,
    example: &Example,
    policy: &Policy,
) -> Client {
    let manifest = tempfile::Builder::new()
        .prefix(&format!("rbac-{}-", example.name))
        .suffix(".yaml")
        .tempfile()
        .expect("temporary manifest");
    std::fs::write(manifest.path(), policy.to_yaml()).expect("write the manifest");
    plane.kubectl_apply(manifest.path());
    let token = client_token(plane, admin, example).await;
    let pod = PodFs::temp(&token, &plane.ca_pem, example.namespace);
    let client = Client::new(
        pod.config("127.0.0.1", &plane.port.to_string())
            .with_field_manager(MANAGER),
    )
    .expect("client");
    // The PodFs directory must outlive the client's token re-reads.
    std::mem::forget(pod);
    client
}

async fn client_token(_plane: &ControlPlane, admin: &Admin, example: &Example) -> String {
    admin
        .mint_token(
            &Identity {
                namespace: example.namespace.into(),
                service_account: example.service_account.into(),
            },
            None,
        )
        .await
}

/// A token of a ServiceAccount bound to nothing: what every ServiceAccount may do.
async fn baseline_token(_plane: &ControlPlane, admin: &Admin, ns: &str) -> String {
    let (status, body) = admin
        .raw(
            "POST",
            &format!("/api/v1/namespaces/{ns}/serviceaccounts"),
            Some(json!({"metadata": {"name": "rbac-baseline"}})),
        )
        .await
        .expect("create the baseline ServiceAccount");
    assert!(status == 201 || status == 409, "{status} {body}");
    admin
        .mint_token(
            &Identity {
                namespace: ns.into(),
                service_account: "rbac-baseline".into(),
            },
            None,
        )
        .await
}

/// One permission: (group, resource, resourceName or "", verb), or a non-resource URL and verb.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Atom {
    Resource(String, String, String, String),
    NonResource(String, String),
}

fn atoms_of_grant(grant: &Grant) -> Vec<Atom> {
    grant
        .verbs
        .iter()
        .map(|verb| match grant.target {
            Target::Resource {
                group,
                resource,
                name,
            } => Atom::Resource(
                group.into(),
                resource.into(),
                name.unwrap_or_default().into(),
                verb.to_string(),
            ),
            Target::NonResource { url } => Atom::NonResource(url.into(), verb.to_string()),
        })
        .collect()
}

/// What `token` may do in `ns`, per the API server (a SelfSubjectRulesReview, what `kubectl auth
/// can-i --list` shows), flattened.
async fn rules_review(admin: &Admin, token: &str, ns: &str) -> BTreeSet<Atom> {
    let review = admin
        .with_token(token)
        .call(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            Some(json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": ns}})),
        )
        .await;
    assert_eq!(review["status"]["incomplete"], false, "{review}");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect()
    };
    let mut atoms = BTreeSet::new();
    for rule in review["status"]["resourceRules"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let names = strings(&rule["resourceNames"]);
        let names = if names.is_empty() {
            vec![String::new()]
        } else {
            names
        };
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for name in &names {
                    for verb in strings(&rule["verbs"]) {
                        atoms.insert(Atom::Resource(
                            group.clone(),
                            resource.clone(),
                            name.clone(),
                            verb,
                        ));
                    }
                }
            }
        }
    }
    for rule in review["status"]["nonResourceRules"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for url in strings(&rule["nonResourceURLs"]) {
            for verb in strings(&rule["verbs"]) {
                atoms.insert(Atom::NonResource(url.clone(), verb));
            }
        }
    }
    atoms
}

/// The API path and JSON of the Role or ClusterRole holding grants of `placement`.
fn role_document(policy: &Policy, placement: &Placement) -> (String, Value) {
    let rbac = "/apis/rbac.authorization.k8s.io/v1";
    let (kind, path) = match placement {
        Placement::Cluster => (
            "ClusterRole",
            format!("{rbac}/clusterroles/{}", policy.name()),
        ),
        Placement::Namespace(ns) => (
            "Role",
            format!("{rbac}/namespaces/{ns}/roles/{}", policy.name()),
        ),
    };
    let doc = policy
        .documents()
        .into_iter()
        .find(|d| {
            d["kind"] == kind
                && match placement {
                    Placement::Cluster => true,
                    Placement::Namespace(ns) => d["metadata"]["namespace"] == ns.as_str(),
                }
        })
        .expect("the policy has this role");
    (path, doc)
}

/// `role` without `verb` in the rule for `target` (the rule goes when it has no verb left).
fn without_verb(role: &Value, target: &Target, verb: &str) -> Value {
    let mut role = role.clone();
    let matches = |rule: &Value| match target {
        Target::Resource {
            group,
            resource,
            name,
        } => {
            rule["apiGroups"] == json!([group])
                && rule["resources"] == json!([resource])
                && rule.get("resourceNames").cloned().unwrap_or(Value::Null)
                    == name.map(|n| json!([n])).unwrap_or(Value::Null)
        }
        Target::NonResource { url } => rule["nonResourceURLs"] == json!([url]),
    };
    let rules: Vec<Value> = role["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|mut rule| {
            if matches(&rule) {
                let verbs: Vec<Value> = rule["verbs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| v != verb)
                    .collect();
                if verbs.is_empty() {
                    return None;
                }
                rule["verbs"] = json!(verbs);
            }
            Some(rule)
        })
        .collect();
    role["rules"] = json!(rules);
    role
}
