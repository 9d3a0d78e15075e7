//! The examples as real Pods on a real node (see `incluster_tests::node`): a real kubelet
//! injects `KUBERNETES_SERVICE_HOST/PORT`, projects the token, `ca.crt` and `namespace`, and the
//! Pods reach the API server through the `kubernetes` Service's ClusterIP via a real kube-proxy.
//!
//! Where no node can be had (not root, no overlayfs, no cgroup v1) each test prints why and skips.

use std::time::{Duration, Instant};

use incluster_tests::controlplane::{repo_root, Admin, Identity};
use incluster_tests::node::{block_on, Node, EXAMPLES_IMAGE, KUBECTL_IMAGE, NODE_IP};
use serde_json::{json, Value};

/// Generous limits: a failure guard, never a measurement.
const POD_LIMIT: Duration = Duration::from_secs(240);

/// A namespace with a ServiceAccount allowed to get and list ConfigMaps (the seed's Role in
/// `examples/deploy/seed.yaml`), and a ConfigMap for the seed to find.
fn seed_namespace(namespace: &str, service_account: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account, "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": service_account, "namespace": namespace},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": service_account, "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service_account},
         "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-settings", "namespace": namespace},
         "data": {"color": "blue"}},
    ]})
}

/// The container securityContext of `examples/deploy/*.yaml`.
fn restricted() -> Value {
    json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
           "runAsNonRoot": true, "runAsUser": 65532})
}

/// The Pod `name` that runs the seed once as the ServiceAccount `seed`, with `env` for the seed
/// container and `sidecars` (native sidecars: init containers with `restartPolicy: Always`).
fn seed_pod(namespace: &str, name: &str, env: Value, sidecars: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "serviceAccountName": "seed",
            "restartPolicy": "Never",
            "initContainers": sidecars,
            "containers": [{
                "name": "seed", "image": EXAMPLES_IMAGE, "imagePullPolicy": "Never",
                "command": ["/usr/local/bin/seed"],
                "env": env,
                "securityContext": restricted(),
            }],
        },
    })
}

/// Waits for the Pod to finish; panics with its description and logs unless it Succeeded.
fn expect_succeeded(node: &Node, namespace: &str, pod: &str, containers: &[&str]) {
    let started = Instant::now();
    let finished = node.wait_pod_finished(namespace, pod, POD_LIMIT);
    let phase = finished["status"]["phase"].as_str().unwrap_or_default();
    if phase != "Succeeded" {
        let logs: Vec<String> = containers
            .iter()
            .map(|c| {
                let out = node.kubectl(&["-n", namespace, "logs", pod, "-c", c]);
                format!(
                    "--- {c}:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
            })
            .collect();
        panic!(
            "Pod {namespace}/{pod} ended {phase}\n{}\n{}",
            node.describe(namespace, pod),
            logs.join("\n")
        );
    }
    eprintln!(
        "Pod {namespace}/{pod} Succeeded (watched for {:.1?})",
        started.elapsed()
    );
}

/// What the seed prints, checked: the `GET /api` answer (the apiserver at the node address, as
/// the `kubernetes` Service's endpoint), then the ConfigMaps of the Pod's own namespace —
/// including `kube-root-ca.crt`, which the controller-manager publishes and the kubelet projects
/// as the Pod's `ca.crt`.
fn check_seed_output(out: &str, namespace: &str) {
    assert!(out.contains("\"kind\": \"APIVersions\""), "{out}");
    assert!(
        out.contains(&format!("\"serverAddress\": \"{NODE_IP}:")),
        "the apiserver should advertise the node address: {out}"
    );
    assert!(
        out.contains(&format!(
            "ConfigMaps in namespace {namespace:?} (the Pod's own)"
        )),
        "{out}"
    );
    assert!(
        out.contains("kube-root-ca.crt") && out.contains("data keys: ca.crt"),
        "{out}"
    );
}

/// The ConfigMap [`seed_namespace`] creates, in the seed's listing.
fn check_lists_app_settings(out: &str) {
    assert!(
        out.contains("app-settings") && out.contains("data keys: color"),
        "{out}"
    );
}

#[test]
fn seed_runs_in_a_real_pod_with_the_kubelets_env_and_projected_files() {
    let Some(node) = Node::shared() else { return };
    let ns = "seed-in-a-pod";
    node.apply(&seed_namespace(ns, "seed").to_string());
    node.apply(&seed_pod(ns, "seed", json!([]), json!([])).to_string());
    expect_succeeded(node, ns, "seed", &["seed"]);
    let out = node.logs(ns, "seed", "seed");
    check_seed_output(&out, ns);
    check_lists_app_settings(&out);

    // What the kubelet gave the container: the Service's ClusterIP in its environment (the seed
    // had nothing else to go by) and a projected token volume.
    let spec = block_on(node.plane.admin().call(
        "GET",
        &format!("/api/v1/namespaces/{ns}/pods/seed"),
        None,
    ));
    let projected = spec["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("kube-api-access-")
        })
        .unwrap_or_else(|| panic!("no kube-api-access volume: {}", spec["spec"]));
    let sources = projected["projected"]["sources"].to_string();
    assert!(
        sources.contains("serviceAccountToken") && sources.contains("kube-root-ca.crt"),
        "{sources}"
    );
    let services = block_on(node.plane.admin().call(
        "GET",
        "/api/v1/namespaces/default/services/kubernetes",
        None,
    ));
    assert_eq!(services["spec"]["clusterIP"], "10.96.0.1");
}

/// One example operator that `examples/deploy/` deploys: its Deployment and what proves it
/// does its job. The lead adds an entry per operator.
struct Operator {
    namespace: &'static str,
    deployment: &'static str,
    /// Checks, through the API, that the operator did its job (waiting as long as it needs).
    did_its_job: fn(&Node, &[String]),
    /// Requests its ServiceAccount's RBAC must refuse: (method, path).
    forbidden: &'static [(&'static str, &'static str)],
    /// A request its RBAC must allow (the control for `forbidden`).
    allowed: (&'static str, &'static str),
}

const OPERATORS: &[Operator] = &[
    Operator {
        namespace: "incluster-demo",
        deployment: "heartbeat",
        did_its_job: heartbeat_beats,
        forbidden: &[
            // Its Role grants ConfigMaps get/create/patch only, in its own namespace.
            ("GET", "/api/v1/namespaces/incluster-demo/configmaps"),
            (
                "DELETE",
                "/api/v1/namespaces/incluster-demo/configmaps/incluster-heartbeat",
            ),
            ("GET", "/api/v1/namespaces/incluster-demo/secrets"),
            (
                "GET",
                "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt",
            ),
            ("GET", "/api/v1/namespaces/incluster-demo/pods"),
        ],
        allowed: (
            "GET",
            "/api/v1/namespaces/incluster-demo/configmaps/incluster-heartbeat",
        ),
    },
    Operator {
        namespace: "incluster-mirror",
        deployment: "config-mirror",
        did_its_job: mirror_mirrors_and_fails_over,
        forbidden: &[
            // Its ClusterRole covers ConfigMirrors, ConfigMaps and Events; its Role only Leases.
            ("GET", "/api/v1/namespaces/incluster-mirror/secrets"),
            ("GET", "/api/v1/pods"),
            (
                "DELETE",
                "/apis/mirror.incluster.dev/v1alpha1/namespaces/default/configmirrors/x",
            ),
            (
                "GET",
                "/apis/coordination.k8s.io/v1/namespaces/default/leases",
            ),
        ],
        allowed: ("GET", "/api/v1/configmaps"),
    },
];

/// config-mirror, two replicas on the node: a ConfigMirror gets its copies and Ready, then the
/// leader Pod is deleted and the other replica takes the Lease and keeps mirroring.
fn mirror_mirrors_and_fails_over(node: &Node, pods: &[String]) {
    let admin = node.plane.admin();
    let ns = "mirror-on-node";
    for namespace in [ns, "mirror-on-node-b"] {
        node.apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
                .to_string(),
        );
    }
    node.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns}, "data": {"color": "blue"}})
        .to_string(),
    );
    node.apply(
        &json!({"apiVersion": "mirror.incluster.dev/v1alpha1", "kind": "ConfigMirror",
            "metadata": {"name": "to-b", "namespace": ns},
            "spec": {"source": {"namespace": ns, "name": "settings"}, "targets": ["mirror-on-node-b"]}})
        .to_string(),
    );
    let copy_has = |color: &str| {
        let path = "/api/v1/namespaces/mirror-on-node-b/configmaps/settings";
        let deadline = Instant::now() + POD_LIMIT;
        loop {
            if let Ok((200, cm)) = block_on(admin.raw("GET", path, None)) {
                if cm["data"]["color"] == color {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no copy with color={color} in mirror-on-node-b; operator logs:\n{}",
                pods.iter()
                    .map(|p| node.logs("incluster-mirror", p, "config-mirror"))
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    copy_has("blue");

    // Leader election across the two Pods: delete the holder, the other one takes over.
    let lease_path =
        "/apis/coordination.k8s.io/v1/namespaces/incluster-mirror/leases/config-mirror";
    let holder = |admin: &Admin| -> String {
        block_on(admin.raw("GET", lease_path, None))
            .ok()
            .and_then(|(_, lease)| lease["spec"]["holderIdentity"].as_str().map(String::from))
            .unwrap_or_default()
    };
    let leader = holder(&admin);
    assert!(
        pods.contains(&leader),
        "the Lease holder {leader:?} is not one of {pods:?}"
    );
    node.kubectl_ok(&[
        "-n",
        "incluster-mirror",
        "delete",
        "pod",
        &leader,
        "--wait=false",
    ]);
    let deadline = Instant::now() + POD_LIMIT;
    let successor = loop {
        let now = holder(&admin);
        if !now.is_empty() && now != leader {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "nobody took the Lease over from {leader}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("config-mirror leader {leader} deleted; {successor} leads now");
    // The new leader keeps mirroring.
    node.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": ns}, "data": {"color": "green"}})
        .to_string(),
    );
    copy_has("green");
}

/// The heartbeat ConfigMap names the operator's real Pod (its `POD_NAME` comes from the
/// downward API) and is managed by its field manager.
fn heartbeat_beats(node: &Node, pods: &[String]) {
    let admin = node.plane.admin();
    let path = "/api/v1/namespaces/incluster-demo/configmaps/incluster-heartbeat";
    let deadline = Instant::now() + POD_LIMIT;
    let cm = loop {
        if let Ok((200, cm)) = block_on(admin.raw("GET", path, None)) {
            if pods.iter().any(|p| cm["data"]["pod"] == p.as_str()) {
                break cm;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no heartbeat from {pods:?}; operator log:\n{}",
            String::from_utf8_lossy(
                &node
                    .kubectl(&["-n", "incluster-demo", "logs", "deploy/heartbeat"])
                    .stdout
            )
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let beats: u64 = cm["data"]["beats"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .unwrap_or(0);
    assert!(beats >= 1, "{cm}");
    assert!(
        cm["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["manager"] == "incluster-heartbeat"),
        "{cm}"
    );
}

#[test]
fn kubectl_apply_examples_deploy_runs_the_operators_with_their_rbac() {
    let Some(node) = Node::shared() else { return };
    let deploy = repo_root().join("examples/deploy").display().to_string();
    // kubectl applies a directory's files in name order, so seed-pod.yaml comes before seed.yaml
    // creates the Pod's ServiceAccount, and the ServiceAccount admission plugin refuses the Pod;
    // likewise mirror-deployment.yaml comes before mirror-rbac.yaml creates its namespace.
    // Applying again (as a user would) then succeeds; anything else fails the test.
    let first = node.kubectl(&["apply", "-f", &deploy]);
    if !first.status.success() {
        let stderr = String::from_utf8_lossy(&first.stderr);
        assert!(
            stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .all(|l| l.contains("serviceaccount") || l.contains("namespaces \"")),
            "kubectl apply -f examples/deploy/ failed: {stderr}"
        );
        eprintln!("first apply (ServiceAccount created after its Pod; applying again): {stderr}");
    }
    eprintln!("{}", node.kubectl_ok(&["apply", "-f", &deploy]));

    // seed-pod.yaml: the seed, once, as its own ServiceAccount.
    expect_succeeded(node, "incluster-demo", "seed", &["seed"]);
    check_seed_output(
        &node.logs("incluster-demo", "seed", "seed"),
        "incluster-demo",
    );

    for op in OPERATORS {
        node.kubectl_ok(&[
            "-n",
            op.namespace,
            "rollout",
            "status",
            &format!("deployment/{}", op.deployment),
            &format!("--timeout={}s", POD_LIMIT.as_secs()),
        ]);
        // A field of the operator's Deployment, through kubectl's JSONPath.
        let deployment_field = |path: &str| {
            let jsonpath = format!("jsonpath={{{path}}}");
            node.kubectl_ok(&[
                "-n",
                op.namespace,
                "get",
                "deployment",
                op.deployment,
                "-o",
                &jsonpath,
            ])
        };
        let selector = deployment_field(".spec.selector.matchLabels");
        let labels: serde_json::Map<String, Value> =
            serde_json::from_str(&selector).expect("matchLabels");
        let selector: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        let pods: Vec<String> = node
            .kubectl_ok(&[
                "-n",
                op.namespace,
                "get",
                "pods",
                "-l",
                &selector.join(","),
                "-o",
                "jsonpath={.items[*].metadata.name}",
            ])
            .split_whitespace()
            .map(String::from)
            .collect();
        assert!(!pods.is_empty(), "no Pods for {}", op.deployment);
        (op.did_its_job)(node, &pods);

        // RBAC: the operator's own ServiceAccount token (the one its Pods get), against the API.
        let service_account = deployment_field(".spec.template.spec.serviceAccountName");
        let id = Identity {
            namespace: op.namespace.into(),
            service_account,
        };
        let admin = node.plane.admin();
        let token = block_on(admin.mint_token(&id, None));
        let as_operator = admin.with_token(&token);
        for (method, path) in op.forbidden {
            let (status, body) = block_on(as_operator.raw(method, path, None)).expect("request");
            assert_eq!(status, 403, "{method} {path} as {}: {body}", op.deployment);
        }
        let (method, path) = op.allowed;
        let (status, body) = block_on(as_operator.raw(method, path, None)).expect("request");
        assert_eq!(status, 200, "{method} {path} as {}: {body}", op.deployment);
    }
}

#[test]
fn seed_beside_a_kubectl_proxy_sidecar_uses_config_proxy() {
    let Some(node) = Node::shared() else { return };
    let ns = "seed-with-proxy";
    node.apply(&seed_namespace(ns, "seed").to_string());
    let proxy = ["kubectl", "proxy", "--address=127.0.0.1", "--port=8001"];
    // A native sidecar: started (and probed ready) before the seed, stopped after it.
    let sidecar = json!([{
        "name": "kubectl-proxy", "image": KUBECTL_IMAGE, "imagePullPolicy": "Never",
        "restartPolicy": "Always",
        "command": proxy,
        "startupProbe": {
            "exec": {"command": ["kubectl", "--server=http://127.0.0.1:8001", "get", "--raw=/api"]},
            "periodSeconds": 1, "failureThreshold": 60,
        },
        "securityContext": restricted(),
    }]);
    let env = json!([
        {"name": "INCLUSTER_PROXY", "value": "http://127.0.0.1:8001"},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]);
    let pod = seed_pod(ns, "seed-proxy", env, sidecar);
    node.apply(&pod.to_string());
    expect_succeeded(node, ns, "seed-proxy", &["seed", "kubectl-proxy"]);
    let out = node.logs(ns, "seed-proxy", "seed");
    check_seed_output(&out, ns);
    check_lists_app_settings(&out);
}

/// The seed's own promise, proven with a real kubelet: a Pod whose projected token lives the
/// minimum 600 s keeps calling the API for 11 minutes — past the kubelet's refresh (at 80 % of
/// the lifetime) and past the first token's expiry — and no request fails; the probe sees the
/// token file change under it. Runs beside the other node tests (the harness runs them in
/// parallel), so it adds about 11 minutes of wall time once, not per test.
#[test]
fn a_kubelet_rotated_short_lived_token_loses_no_request() {
    let Some(node) = Node::shared() else { return };
    let ns = "token-rotation";
    node.apply(&seed_namespace(ns, "prober").to_string());
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "prober", "namespace": ns},
        "spec": {
            "serviceAccountName": "prober",
            "automountServiceAccountToken": false,
            "restartPolicy": "Never",
            "containers": [{
                "name": "prober", "image": EXAMPLES_IMAGE, "imagePullPolicy": "Never",
                "command": ["/usr/local/bin/token-rotation-probe", "660", "4"],
                "securityContext": restricted(),
                "volumeMounts": [{"name": "short-lived", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}],
            }],
            "volumes": [{"name": "short-lived", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            ]}}],
        },
    });
    node.apply(&pod.to_string());
    let started = Instant::now();
    let finished = node.wait_pod_finished(ns, "prober", Duration::from_secs(1200));
    let out = node.logs(ns, "prober", "prober");
    let summary: Value = out
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| {
            panic!(
                "no summary from the probe:\n{out}\n{}",
                node.describe(ns, "prober")
            )
        });
    eprintln!(
        "TOKEN-ROTATION {}",
        json!({"summary": summary, "pod_s": started.elapsed().as_secs()})
    );
    assert_eq!(
        summary["failed"], 0,
        "requests failed during rotation: {summary}"
    );
    assert!(
        summary["token_changes"].as_u64().unwrap_or(0) >= 1,
        "the kubelet never replaced the token: {summary}"
    );
    assert_eq!(finished["status"]["phase"], "Succeeded", "{summary}");
}

/// The ownerReference config-mirror writes on a copy in its own namespace is one the real
/// garbage collector (the node's kube-controller-manager) honours: deleting the `ConfigMirror`
/// (here with no operator and no finalizer in the way) deletes that copy, and only that copy —
/// ownerReferences cannot cross namespaces, which is what the operator's finalizer is for.
#[test]
fn a_same_namespace_copy_is_garbage_collected_through_its_owner_reference() {
    use incluster_examples::mirror::{reconcile::desired_copy, types};
    let Some(node) = Node::shared() else { return };
    let crd = repo_root()
        .join("examples/deploy/mirror-crd.yaml")
        .display()
        .to_string();
    node.kubectl_ok(&["apply", "-f", &crd]);
    let admin = node.plane.admin();
    let api = "/apis/mirror.incluster.dev/v1alpha1";
    let (ns, other) = ("mirror-gc", "mirror-gc-other");
    for name in [ns, other] {
        node.apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
                .to_string(),
        );
    }
    let source = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": other}, "data": {"k": "v"}});
    node.apply(&source.to_string());
    // The CRD may take a moment to be served.
    let deadline = Instant::now() + POD_LIMIT;
    let created = loop {
        let body = json!({"apiVersion": "mirror.incluster.dev/v1alpha1", "kind": "ConfigMirror",
            "metadata": {"name": "gc"}, "spec": {"source": {"namespace": other, "name": "settings"}, "targets": [ns, other]}});
        match block_on(admin.raw(
            "POST",
            &format!("{api}/namespaces/{ns}/configmirrors"),
            Some(body),
        )) {
            Ok((201, v)) => break v,
            other_answer => {
                assert!(
                    Instant::now() < deadline,
                    "cannot create the ConfigMirror: {other_answer:?}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    let mirror: types::ConfigMirror = serde_json::from_value(created).expect("a ConfigMirror");
    let source: types::ConfigMap = serde_json::from_value(source).expect("a ConfigMap");
    // Exactly the copy config-mirror writes in the mirror's own namespace.
    let copy = desired_copy(&mirror, &source, ns);
    assert_eq!(copy.metadata.owner_references.len(), 1);
    let copy_json = serde_json::to_value(&copy).unwrap();
    block_on(admin.call(
        "POST",
        &format!("/api/v1/namespaces/{ns}/configmaps"),
        Some(copy_json),
    ));
    let copy_path = format!("/api/v1/namespaces/{ns}/configmaps/settings");
    assert!(matches!(
        block_on(admin.raw("GET", &copy_path, None)),
        Ok((200, _))
    ));

    block_on(admin.call(
        "DELETE",
        &format!("{api}/namespaces/{ns}/configmirrors/gc"),
        None,
    ));
    let deadline = Instant::now() + POD_LIMIT;
    loop {
        match block_on(admin.raw("GET", &copy_path, None)) {
            Ok((404, _)) => break,
            answer => {
                assert!(
                    Instant::now() < deadline,
                    "the garbage collector never removed the copy: {answer:?}"
                );
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
    // The source (another namespace, no ownerReference) stays.
    assert!(matches!(
        block_on(admin.raw(
            "GET",
            &format!("/api/v1/namespaces/{other}/configmaps/settings"),
            None
        )),
        Ok((200, _))
    ));
}
