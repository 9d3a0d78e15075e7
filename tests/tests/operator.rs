//! The `config-mirror` example operator against the real kube-apiserver: its own CRD and RBAC
//! from `examples/deploy/mirror-*.yaml` applied with the real kubectl, the binary run as
//! simulated Pods of its ServiceAccount. The control plane has no controller-manager, so
//! ownerReference garbage collection does not run here: the tests check the references are
//! right, and that the finalizer path removes every copy by itself.
//!
//! Each test scopes its operator to its own namespace (`MIRROR_WATCH_NAMESPACE`) and Lease, so
//! the tests run in parallel on the shared control plane. Deadlines are hang guards, never
//! assertions on speed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use incluster_tests::controlplane::{repo_root, Admin, ControlPlane, Identity};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use incluster_tests::wait::eventually;
use serde_json::{json, Value};

const API: &str = "/apis/mirror.incluster.dev/v1alpha1";
const OPERATOR_NS: &str = "incluster-mirror";
const HANG_GUARD: Duration = Duration::from_secs(180);

/// Applies the example's CRD, RBAC and Deployment once, and waits for the CRD to be served.
async fn install(plane: &ControlPlane) {
    static ONCE: Mutex<bool> = Mutex::new(false);
    {
        let mut done = ONCE.lock().unwrap_or_else(|e| e.into_inner());
        if !*done {
            apply_manifests(plane);
            *done = true;
        }
    }
    wait_served(plane).await;
}

fn apply_manifests(plane: &ControlPlane) {
    for manifest in [
        "mirror-crd.yaml",
        "mirror-rbac.yaml",
        "mirror-deployment.yaml",
    ] {
        plane.kubectl_apply(&repo_root().join("examples/deploy").join(manifest));
    }
}

async fn wait_served(plane: &ControlPlane) {
    plane
        .admin()
        .wait_served(&format!("{API}/configmirrors"), HANG_GUARD)
        .await;
}

/// A Pod filesystem with a token of `service_account` in the operator's namespace.
async fn pod(plane: &ControlPlane, service_account: &str, tag: &str) -> PodFs {
    let id = Identity {
        namespace: OPERATOR_NS.into(),
        service_account: service_account.into(),
    };
    let token = plane.admin().mint_token(&id, None).await;
    let dir = std::env::temp_dir().join(format!("incluster-mirror-{tag}-{}", std::process::id()));
    PodFs::new(&dir, &token, &plane.ca_pem, OPERATOR_NS)
}

/// The config-mirror binary: this build's, or `$INCLUSTER_MIRROR_BINARY` (to show that a test
/// fails against another version, e.g. the one before issue 17).
fn mirror_binary() -> std::path::PathBuf {
    std::env::var_os("INCLUSTER_MIRROR_BINARY")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_example-config-mirror").into())
}

/// One operator process and the log lines it printed.
struct Operator {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Operator {
    fn start(
        plane: &ControlPlane,
        pod: &PodFs,
        name: &str,
        lease: &str,
        watch_ns: &str,
    ) -> Operator {
        Operator::start_with(plane, pod, name, lease, watch_ns, &[])
    }

    /// [`Operator::start`] with extra environment (e.g. a relay's port, timeouts).
    fn start_with(
        plane: &ControlPlane,
        pod: &PodFs,
        name: &str,
        lease: &str,
        watch_ns: &str,
        env: &[(&str, String)],
    ) -> Operator {
        let mut child = plane
            .pod_command(mirror_binary(), pod)
            .env("POD_NAME", name)
            .env("MIRROR_LEASE_NAME", lease)
            .env("MIRROR_WATCH_NAMESPACE", watch_ns)
            .env("MIRROR_HEALTH_ADDR", "127.0.0.1:0")
            .env("MIRROR_LEASE_SECONDS", "4")
            .env("MIRROR_RENEW_SECONDS", "3")
            // Not shorter: a renewal in flight when SIGTERM arrives can make the runtime's
            // release answer 409 and leave the lease held (reported to the toolkit owner).
            .env("MIRROR_RETRY_MILLIS", "1000")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start config-mirror");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (out, sink, tag) = (
            child.stdout.take().unwrap(),
            lines.clone(),
            name.to_string(),
        );
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                sink.lock().unwrap().push(line);
            }
        });
        Operator {
            name: name.into(),
            child,
            lines,
        }
    }

    fn logged(&self, text: &str) -> bool {
        self.lines.lock().unwrap().iter().any(|l| l.contains(text))
    }

    async fn wait_logged(&self, text: &str) {
        let what = format!("{} to log {text:?}", self.name);
        eventually(&what, HANG_GUARD, || async { self.logged(text) }).await;
    }

    /// The port its health endpoints listen on (from its log).
    fn health_port(&self) -> u16 {
        let lines = self.lines.lock().unwrap();
        let line = lines
            .iter()
            .find(|l| l.contains("serving /healthz"))
            .expect("health line");
        let addr = line
            .split("addr=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn signal(&self, name: &str) {
        let ok = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    /// Peak resident set size (`VmHWM`) in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    async fn exit_code(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(started.elapsed() < HANG_GUARD, "{} did not exit", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn configmap(admin: &Admin, ns: &str, name: &str, data: Value) {
    admin
        .call(
            "POST",
            &format!("/api/v1/namespaces/{ns}/configmaps"),
            Some(json!({"metadata": {"name": name}, "data": data})),
        )
        .await;
}

async fn mirror(admin: &Admin, ns: &str, name: &str, source: (&str, &str), targets: &[&str]) {
    admin
        .call(
            "POST",
            &format!("{API}/namespaces/{ns}/configmirrors"),
            Some(json!({
                "apiVersion": "mirror.incluster.dev/v1alpha1", "kind": "ConfigMirror",
                "metadata": {"name": name},
                "spec": {"source": {"namespace": source.0, "name": source.1}, "targets": targets},
            })),
        )
        .await;
}

async fn get(admin: &Admin, path: &str) -> Option<Value> {
    match admin.raw("GET", path, None).await.unwrap() {
        (200, v) => Some(v),
        (404, _) => None,
        (s, v) => panic!("GET {path}: {s} {v}"),
    }
}

/// A JSON merge patch, applied as a read-modify-write `PUT` (the admin helper sends JSON only).
async fn merge(admin: &Admin, path: &str, patch: Value) {
    fn apply(target: &mut Value, patch: &Value) {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        apply(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
            (t, p) => *t = p.clone(),
        }
    }
    for _ in 0..20 {
        let mut object = get(admin, path)
            .await
            .unwrap_or_else(|| panic!("{path} is gone"));
        apply(&mut object, &patch);
        match admin.raw("PUT", path, Some(object)).await.unwrap() {
            (200, _) => return,
            (409, _) => continue,
            (status, body) => panic!("PUT {path}: {status} {body}"),
        }
    }
    panic!("PUT {path}: conflicts all along");
}

fn ready_condition(mirror: &Value) -> Option<&Value> {
    mirror["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

/// Waits until the mirror's Ready condition has `status` and `reason` for its current generation.
async fn wait_ready(admin: &Admin, ns: &str, name: &str, status: &str, reason: &str) -> Value {
    let path = format!("{API}/namespaces/{ns}/configmirrors/{name}");
    let mut last = Value::Null;
    let started = Instant::now();
    loop {
        if let Some(m) = get(admin, &path).await {
            let generation = &m["metadata"]["generation"];
            if let Some(c) = ready_condition(&m) {
                if c["status"] == status
                    && c["reason"] == reason
                    && &m["status"]["observedGeneration"] == generation
                    && &c["observedGeneration"] == generation
                {
                    return m;
                }
            }
            last = m;
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "{ns}/{name} never {status}/{reason}: {last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_copy(admin: &Admin, ns: &str, name: &str, data: &Value) -> Value {
    let path = format!("/api/v1/namespaces/{ns}/configmaps/{name}");
    let mut last = None;
    let started = Instant::now();
    loop {
        last = get(admin, &path).await.or(last);
        if let Some(cm) = &last {
            if &cm["data"] == data {
                return cm.clone();
            }
        }
        assert!(
            started.elapsed() < HANG_GUARD,
            "copy {ns}/{name} never had {data}: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_gone(admin: &Admin, path: &str) {
    eventually(&format!("{path} to be gone"), HANG_GUARD, || async {
        get(admin, path).await.is_none()
    })
    .await;
}

async fn events(admin: &Admin, ns: &str) -> Vec<Value> {
    admin
        .call(
            "GET",
            &format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
            None,
        )
        .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn mirrors_follow_edits_are_repaired_and_finalized_with_the_examples_rbac() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mlc", "mlc-src", "mlc-a", "mlc-b"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(
        &admin,
        "mlc-src",
        "settings",
        json!({"color": "blue", "size": "L"}),
    )
    .await;
    let pod = pod(plane, "config-mirror", "lifecycle").await;
    let op = Operator::start(plane, &pod, "mirror-lc-0", "mirror-lc", "mlc");

    // Create → copies everywhere, Ready for this generation, ownerReferences only in-namespace.
    mirror(
        &admin,
        "mlc",
        "settings",
        ("mlc-src", "settings"),
        &["mlc", "mlc-a", "mlc-b"],
    )
    .await;
    let data = json!({"color": "blue", "size": "L"});
    for ns in ["mlc", "mlc-a", "mlc-b"] {
        let copy = wait_copy(&admin, ns, "settings", &data).await;
        assert_eq!(
            copy["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "config-mirror"
        );
        assert_eq!(
            copy["metadata"]["annotations"]["mirror.incluster.dev/owner"],
            "mlc/settings"
        );
    }
    let m = wait_ready(&admin, "mlc", "settings", "True", "Mirrored").await;
    assert_eq!(m["status"]["copies"], 3);
    assert_eq!(
        m["metadata"]["finalizers"],
        json!(["mirror.incluster.dev/copies"])
    );
    let local = get(&admin, "/api/v1/namespaces/mlc/configmaps/settings")
        .await
        .unwrap();
    let owners = &local["metadata"]["ownerReferences"];
    assert_eq!(owners.as_array().map(Vec::len), Some(1), "{owners}");
    assert_eq!(owners[0]["kind"], "ConfigMirror");
    assert_eq!(owners[0]["apiVersion"], "mirror.incluster.dev/v1alpha1");
    assert_eq!(owners[0]["uid"], m["metadata"]["uid"]);
    assert_eq!(owners[0]["controller"], true);
    let remote = get(&admin, "/api/v1/namespaces/mlc-a/configmaps/settings")
        .await
        .unwrap();
    assert!(
        remote["metadata"]["ownerReferences"].is_null(),
        "no cross-namespace owner: {remote}"
    );

    // Edit the source → copies follow.
    merge(
        &admin,
        "/api/v1/namespaces/mlc-src/configmaps/settings",
        json!({"data": {"color": "green"}}),
    )
    .await;
    let data = json!({"color": "green", "size": "L"});
    for ns in ["mlc", "mlc-a", "mlc-b"] {
        wait_copy(&admin, ns, "settings", &data).await;
    }

    // Edit a copy by hand (a changed value and an extra key) → repaired; delete one → back.
    merge(
        &admin,
        "/api/v1/namespaces/mlc-a/configmaps/settings",
        json!({"data": {"color": "red", "extra": "x"}}),
    )
    .await;
    wait_copy(&admin, "mlc-a", "settings", &data).await;
    admin
        .call(
            "DELETE",
            "/api/v1/namespaces/mlc-b/configmaps/settings",
            None,
        )
        .await;
    wait_copy(&admin, "mlc-b", "settings", &data).await;

    // Remove a target → that copy goes; the status follows the new generation.
    merge(
        &admin,
        &format!("{API}/namespaces/mlc/configmirrors/settings"),
        json!({"spec": {"targets": ["mlc", "mlc-a"]}}),
    )
    .await;
    wait_gone(&admin, "/api/v1/namespaces/mlc-b/configmaps/settings").await;
    let m = wait_ready(&admin, "mlc", "settings", "True", "Mirrored").await;
    assert_eq!(m["metadata"]["generation"], 2);
    assert_eq!(m["status"]["copies"], 2);
    let mirrored = events(&admin, "mlc").await;
    assert!(
        mirrored.iter().any(|e| e["reason"] == "Mirrored"
            && e["type"] == "Normal"
            && e["regarding"]["name"] == "settings"
            && e["reportingController"] == "mirror.incluster.dev/config-mirror"),
        "{mirrored:?}"
    );

    // A source that does not exist → Ready=False, SourceNotFound, and a Warning Event.
    mirror(&admin, "mlc", "ghost", ("mlc-src", "nope"), &["mlc-a"]).await;
    let m = wait_ready(&admin, "mlc", "ghost", "False", "SourceNotFound").await;
    let message = ready_condition(&m).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("mlc-src/nope") && message.contains("does not exist"),
        "{message}"
    );
    eventually("a SourceNotFound Event", HANG_GUARD, || async {
        events(&admin, "mlc").await.iter().any(|e| {
            e["reason"] == "SourceNotFound"
                && e["type"] == "Warning"
                && e["regarding"]["name"] == "ghost"
        })
    })
    .await;
    // …and once it appears, the mirror catches up (the source watcher queues it).
    configmap(&admin, "mlc-src", "nope", json!({"now": "here"})).await;
    wait_copy(&admin, "mlc-a", "nope", &json!({"now": "here"})).await;
    wait_ready(&admin, "mlc", "ghost", "True", "Mirrored").await;

    // Probes.
    let port = op.health_port();
    assert!(http_get(port, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(http_get(port, "/readyz").await.starts_with("HTTP/1.1 200"));
    assert!(http_get(port, "/other").await.starts_with("HTTP/1.1 404"));

    // Delete → the finalizer removes every copy, then the object goes.
    admin
        .call(
            "DELETE",
            &format!("{API}/namespaces/mlc/configmirrors/settings"),
            None,
        )
        .await;
    wait_gone(
        &admin,
        &format!("{API}/namespaces/mlc/configmirrors/settings"),
    )
    .await;
    for ns in ["mlc", "mlc-a"] {
        assert!(get(
            &admin,
            &format!("/api/v1/namespaces/{ns}/configmaps/settings")
        )
        .await
        .is_none());
    }
    assert!(
        get(&admin, "/api/v1/namespaces/mlc-src/configmaps/settings")
            .await
            .is_some(),
        "the source stays"
    );

    // SIGTERM → releases the lease and exits 0.
    let mut op = op;
    op.signal("TERM");
    assert_eq!(op.exit_code().await, Some(0));
    assert!(op.logged("released the lease"));
    let lease = admin
        .call(
            "GET",
            &format!("/apis/coordination.k8s.io/v1/namespaces/{OPERATOR_NS}/leases/mirror-lc"),
            None,
        )
        .await;
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{lease}"
    );
}

/// resourceVersion of every copy and mirror in the given namespaces.
async fn versions(admin: &Admin, mirror_ns: &str, targets: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut paths = vec![format!("{API}/namespaces/{mirror_ns}/configmirrors")];
    paths.extend(targets.iter().map(|t| {
        format!("/api/v1/namespaces/{t}/configmaps?labelSelector=app.kubernetes.io/managed-by%3Dconfig-mirror")
    }));
    for path in paths {
        for item in admin.call("GET", &path, None).await["items"]
            .as_array()
            .unwrap()
        {
            let meta = &item["metadata"];
            out.push((
                format!(
                    "{}/{}",
                    meta["namespace"].as_str().unwrap(),
                    meta["name"].as_str().unwrap()
                ),
                meta["resourceVersion"].as_str().unwrap().to_string(),
            ));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn two_replicas_one_leader_failover_without_double_writes() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    let targets = ["mha-a", "mha-b"];
    for ns in ["mha", "mha-src", "mha-a", "mha-b"] {
        admin.ensure_namespace(ns).await;
    }
    let pod = pod(plane, "config-mirror", "ha").await;
    let a = Operator::start(plane, &pod, "mirror-ha-a", "mirror-ha", "mha");
    let b = Operator::start(plane, &pod, "mirror-ha-b", "mirror-ha", "mha");
    eventually("a leader", HANG_GUARD, || async {
        a.logged("leading") || b.logged("leading")
    })
    .await;
    let (mut leader, standby) = if a.logged("leading") { (a, b) } else { (b, a) };
    for i in 0..5 {
        let name = format!("cm{i}");
        configmap(&admin, "mha-src", &name, json!({"i": i.to_string()})).await;
        mirror(&admin, "mha", &name, ("mha-src", &name), &targets).await;
    }
    for i in 0..5 {
        wait_ready(&admin, "mha", &format!("cm{i}"), "True", "Mirrored").await;
    }
    assert!(!standby.logged("leading"), "only one replica leads");
    assert!(!standby.logged("mirrored"), "the standby never writes");

    // A quiet period: nothing changes, nothing is written.
    let before = versions(&admin, "mha", &targets).await;
    assert_eq!(before.len(), 5 + 10);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        versions(&admin, "mha", &targets).await,
        before,
        "writes in a quiet period"
    );

    // Kill the leader: the standby takes over, re-reconciles everything, and writes nothing.
    leader.signal("KILL");
    leader.exit_code().await;
    standby.wait_logged("leading").await;
    standby.wait_logged("caches synced").await;
    // Give its first pass over all five keys a chance to (wrongly) write, then prove it works.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        versions(&admin, "mha", &targets).await,
        before,
        "the new leader rewrote converged objects"
    );
    merge(
        &admin,
        "/api/v1/namespaces/mha-src/configmaps/cm0",
        json!({"data": {"i": "changed"}}),
    )
    .await;
    for t in targets {
        let copy = wait_copy(&admin, t, "cm0", &json!({"i": "changed"})).await;
        // One writer: config-mirror alone, applying. (It creates a copy with a POST, which
        // fails if anything exists under that name — an apply would merge into someone
        // else's ConfigMap created a moment before — so its create shows as an `Update` entry.)
        let managers = copy["metadata"]["managedFields"].as_array().unwrap();
        assert!(
            managers.iter().all(|m| m["manager"] == "config-mirror"),
            "{managers:?}"
        );
        assert!(
            managers.iter().any(|m| m["operation"] == "Apply"),
            "{managers:?}"
        );
    }
    let after = versions(&admin, "mha", &targets).await;
    let changed: Vec<_> = after
        .iter()
        .filter(|v| !before.contains(v))
        .map(|v| v.0.clone())
        .collect();
    let mut expected = vec!["mha-a/cm0".to_string(), "mha-b/cm0".to_string()];
    // cm0's own status does not change (still Ready, same generation): only the two copies.
    expected.sort();
    assert_eq!(
        changed, expected,
        "exactly the two copies of the edited source were written"
    );
}

#[tokio::test]
async fn without_the_lease_permission_it_says_so() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    // Same ClusterRole as the example, but no Role for the Lease.
    let sa = "config-mirror-nolease";
    admin
        .call(
            "POST",
            &format!("/api/v1/namespaces/{OPERATOR_NS}/serviceaccounts"),
            Some(json!({"metadata": {"name": sa}})),
        )
        .await;
    admin
        .call(
            "POST",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            Some(json!({
                "metadata": {"name": sa},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "config-mirror"},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": OPERATOR_NS}],
            })),
        )
        .await;
    let pod = pod(plane, sa, "nolease").await;
    let mut op = Operator::start(plane, &pod, "mirror-nolease", "mirror-nolease", "mnl");
    assert_eq!(op.exit_code().await, Some(3));
    let log = op.lines.lock().unwrap().join("\n");
    assert!(
        log.contains("RBAC forbids leader election")
            && log.contains("leases")
            && log.contains("mirror-rbac.yaml"),
        "{log}"
    );
}

#[tokio::test]
async fn two_hundred_mirrors_times_three_targets_converge() {
    scale("msc", 200).await;
}

/// The scale figure (not an assertion): `cargo test --release -p incluster-tests --test operator
/// -- --ignored --nocapture one_thousand`.
#[tokio::test]
#[ignore = "a figure for the README, several minutes: run it on purpose"]
async fn one_thousand_mirrors_times_three_targets_converge() {
    scale("mk", 1000).await;
}

/// Sums the samples of `metric` (any labels) in a Prometheus text exposition.
fn metric_sum(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `n` mirrors × 3 targets converge; prints the time, the operator's peak RSS and the requests
/// it sent, and checks `/metrics` showed the reconcile count and the queue depth moving.
async fn scale(tag: &str, n: usize) {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    let (mirror_ns, source_ns) = (tag.to_string(), format!("{tag}-src"));
    let targets: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|t| format!("{tag}-{t}"))
        .collect();
    for ns in [&mirror_ns, &source_ns].into_iter().chain(&targets) {
        admin.ensure_namespace(ns).await;
    }
    let pod = pod(plane, "config-mirror", tag).await;
    let op = Operator::start(
        plane,
        &pod,
        &format!("mirror-{tag}"),
        &format!("mirror-{tag}"),
        tag,
    );
    op.wait_logged("caches synced").await;
    let port = op.health_port();
    // Scrape /metrics all along.
    let scrapes: Arc<Mutex<Vec<(f64, f64)>>> = Arc::default();
    let scraper = tokio::spawn({
        let scrapes = scrapes.clone();
        async move {
            loop {
                let text = http_get(port, "/metrics").await;
                let reconciles = metric_sum(&text, "incluster_reconcile_total");
                let depth = metric_sum(&text, "incluster_workqueue_depth");
                scrapes.lock().unwrap().push((reconciles, depth));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    // Each mirror copies its own source (so 3 n distinct copies).
    for chunk in (0..n).collect::<Vec<_>>().chunks(20) {
        let creates = chunk.iter().map(|i| {
            let (admin, source_ns, mirror_ns, targets) =
                (&admin, &source_ns, &mirror_ns, &target_refs);
            async move {
                let name = format!("m{i:04}");
                configmap(admin, source_ns, &name, json!({"n": i.to_string()})).await;
                mirror(admin, mirror_ns, &name, (source_ns, &name), targets).await;
            }
        });
        futures::future::join_all(creates).await;
    }
    eventually(&format!("{n} mirrors Ready and {} copies", 3 * n), HANG_GUARD, || async {
        let mirrors = admin.call("GET", &format!("{API}/namespaces/{mirror_ns}/configmirrors"), None).await;
        let ready = mirrors["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                ready_condition(m).is_some_and(|c| c["status"] == "True")
                    && m["status"]["observedGeneration"] == m["metadata"]["generation"]
            })
            .count();
        if ready < n {
            return false;
        }
        let mut copies = 0;
        for t in &targets {
            copies += admin
                .call("GET", &format!("/api/v1/namespaces/{t}/configmaps?labelSelector=app.kubernetes.io/managed-by%3Dconfig-mirror"), None)
                .await["items"]
                .as_array()
                .unwrap()
                .len();
        }
        copies == n * targets.len()
    })
    .await;
    let elapsed = started.elapsed();
    let rss = op.peak_rss_kib();
    let text = http_get(port, "/metrics").await;
    scraper.abort();
    let requests = metric_sum(&text, "incluster_requests_total");
    println!(
        "config-mirror: {n} ConfigMirrors x {} targets converged in {:.1} s (from the first create); operator peak RSS (VmHWM) {} KiB; {requests} API requests sent",
        targets.len(),
        elapsed.as_secs_f64(),
        rss
    );
    eprintln!(
        "config-mirror scale figures: converged in {:.1} s, peak RSS {rss} KiB, {requests} requests",
        elapsed.as_secs_f64()
    );
    let scrapes = scrapes.lock().unwrap().clone();
    let reconciles: Vec<f64> = scrapes.iter().map(|s| s.0).collect();
    assert!(
        reconciles.first() < reconciles.last() && *reconciles.last().unwrap() >= n as f64,
        "the reconcile count did not move: {reconciles:?}"
    );
    assert!(
        scrapes.iter().any(|s| s.1 > 0.0),
        "the queue depth never showed work waiting: {scrapes:?}"
    );
    assert!(requests > 0.0);
    // Paths are templates: no namespace or name of this test in any request label.
    let request_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("incluster_request"))
        .collect();
    assert!(
        request_lines
            .iter()
            .any(|l| l.contains("path=\"/api/v1/namespaces/{namespace}/configmaps/{name}\"")),
        "{request_lines:?}"
    );
    assert!(
        !request_lines
            .iter()
            .any(|l| l.contains(&source_ns) || l.contains("/m0")),
        "a filled URL in a label: {request_lines:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The bugs of the config-mirror before it was rebuilt on incluster::controller (issue 17): each
// test below fails against that version.

fn copy_path(ns: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps/{name}")
}

#[tokio::test]
async fn a_foreign_configmap_in_a_target_keeps_its_data_labels_and_annotations_and_survives_the_mirror(
) {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mfo", "mfo-src", "mfo-a", "mfo-b", "mfo-c"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mfo-src", "settings", json!({"color": "blue"})).await;
    // mfo-b: a user's ConfigMap of the same name. mfo-c: one that even carries the copy label
    // and an owner annotation naming the mirror (copied from a copy), but not its UID.
    let foreign = |ns: &str, labels: Value, annotations: Value| {
        json!({"metadata": {"name": "settings", "namespace": ns, "labels": labels, "annotations": annotations},
               "data": {"mine": "yes", "color": "red"}})
    };
    let planted = [
        (
            "mfo-b",
            foreign("mfo-b", json!({"team": "b"}), json!({"note": "hands off"})),
        ),
        (
            "mfo-c",
            foreign(
                "mfo-c",
                json!({"app.kubernetes.io/managed-by": "config-mirror"}),
                json!({"mirror.incluster.dev/owner": "mfo/settings"}),
            ),
        ),
    ];
    let mut before = Vec::new();
    for (ns, body) in &planted {
        let created = admin
            .call(
                "POST",
                &format!("/api/v1/namespaces/{ns}/configmaps"),
                Some(body.clone()),
            )
            .await;
        before.push((ns.to_string(), created));
    }
    let pod = pod(plane, "config-mirror", "foreign").await;
    let _op = Operator::start(plane, &pod, "mirror-foreign", "mirror-foreign", "mfo");
    mirror(
        &admin,
        "mfo",
        "settings",
        ("mfo-src", "settings"),
        &["mfo-a", "mfo-b", "mfo-c"],
    )
    .await;

    let m = wait_ready(&admin, "mfo", "settings", "False", "TargetConflict").await;
    wait_copy(&admin, "mfo-a", "settings", &json!({"color": "blue"})).await;
    let message = ready_condition(&m).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("mfo-b/settings") && message.contains("mfo-c/settings"),
        "{message}"
    );
    eventually("a TargetConflict Warning Event", HANG_GUARD, || async {
        events(&admin, "mfo").await.iter().any(|e| {
            e["reason"] == "TargetConflict"
                && e["type"] == "Warning"
                && e["regarding"]["name"] == "settings"
        })
    })
    .await;
    let unchanged = |was: &Value, now: &Value| {
        assert_eq!(now["data"], was["data"], "{now}");
        assert_eq!(
            now["metadata"]["labels"], was["metadata"]["labels"],
            "{now}"
        );
        assert_eq!(
            now["metadata"]["annotations"], was["metadata"]["annotations"],
            "{now}"
        );
        assert_eq!(
            now["metadata"]["resourceVersion"], was["metadata"]["resourceVersion"],
            "{now}"
        );
    };
    for (ns, was) in &before {
        let now = get(&admin, &copy_path(ns, "settings")).await.unwrap();
        unchanged(was, &now);
    }

    // Deleting the mirror removes its own copy and nothing else.
    admin
        .call(
            "DELETE",
            &format!("{API}/namespaces/mfo/configmirrors/settings"),
            None,
        )
        .await;
    wait_gone(
        &admin,
        &format!("{API}/namespaces/mfo/configmirrors/settings"),
    )
    .await;
    wait_gone(&admin, &copy_path("mfo-a", "settings")).await;
    for (ns, was) in &before {
        let now = get(&admin, &copy_path(ns, "settings"))
            .await
            .unwrap_or_else(|| panic!("the user's ConfigMap in {ns} was deleted"));
        unchanged(was, &now);
    }
}

#[tokio::test]
async fn two_mirrors_on_one_target_resolve_to_the_lowest_name_whatever_the_order() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mtw", "mtw-src1", "mtw-src2", "mtw-t"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mtw-src1", "shared", json!({"from": "one"})).await;
    configmap(&admin, "mtw-src2", "shared", json!({"from": "two"})).await;
    let pod = pod(plane, "config-mirror", "two").await;
    let _op = Operator::start(plane, &pod, "mirror-two", "mirror-two", "mtw");
    // "zeta" first: it makes the copy; then "alpha", which sorts first, takes the target over.
    mirror(&admin, "mtw", "zeta", ("mtw-src2", "shared"), &["mtw-t"]).await;
    wait_copy(&admin, "mtw-t", "shared", &json!({"from": "two"})).await;
    mirror(&admin, "mtw", "alpha", ("mtw-src1", "shared"), &["mtw-t"]).await;
    wait_ready(&admin, "mtw", "alpha", "True", "Mirrored").await;
    wait_ready(&admin, "mtw", "zeta", "False", "TargetConflict").await;
    let copy = wait_copy(&admin, "mtw-t", "shared", &json!({"from": "one"})).await;
    assert_eq!(
        copy["metadata"]["annotations"]["mirror.incluster.dev/owner"],
        "mtw/alpha"
    );
    // Stable: no flapping between the two.
    let version = copy["metadata"]["resourceVersion"].clone();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = get(&admin, &copy_path("mtw-t", "shared")).await.unwrap();
    assert_eq!(later["metadata"]["resourceVersion"], version, "{later}");
    // The winner goes: the other takes the target.
    admin
        .call(
            "DELETE",
            &format!("{API}/namespaces/mtw/configmirrors/alpha"),
            None,
        )
        .await;
    wait_copy(&admin, "mtw-t", "shared", &json!({"from": "two"})).await;
    wait_ready(&admin, "mtw", "zeta", "True", "Mirrored").await;
}

#[tokio::test]
async fn a_source_edit_made_while_the_watch_was_away_reaches_the_copies_after_a_relist() {
    // No watch cache for ConfigMaps: resuming after the compaction reaches etcd and gets 410,
    // so the watcher relists.
    let plane = ControlPlane::dedicated("mirror-relist", &["--watch-cache-sizes=configmaps#0"]);
    apply_manifests(&plane);
    wait_served(&plane).await;
    let admin = plane.admin();
    for ns in ["mrl", "mrl-src", "mrl-a"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mrl-src", "settings", json!({"v": "1"})).await;
    let relay = Relay::start(plane.port).await;
    let pod = pod(&plane, "config-mirror", "relist").await;
    let env = [
        ("KUBERNETES_SERVICE_PORT_HTTPS", relay.port.to_string()),
        ("KUBERNETES_SERVICE_PORT", relay.port.to_string()),
    ];
    let op = Operator::start_with(&plane, &pod, "mirror-relist", "mirror-relist", "mrl", &env);
    mirror(
        &admin,
        "mrl",
        "settings",
        ("mrl-src", "settings"),
        &["mrl-a"],
    )
    .await;
    wait_copy(&admin, "mrl-a", "settings", &json!({"v": "1"})).await;
    wait_ready(&admin, "mrl", "settings", "True", "Mirrored").await;

    relay.set_mode(Mode::Close).await; // the watches go away
    let path = copy_path("mrl-src", "settings");
    merge(&admin, &path, json!({"data": {"v": "2"}})).await;
    configmap(&admin, "mrl-src", "unrelated", json!({})).await;
    plane.compact_etcd().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    relay.set_mode(Mode::Forward).await;
    wait_copy(&admin, "mrl-a", "settings", &json!({"v": "2"})).await;
    drop(op);
}

#[tokio::test]
async fn a_black_holed_call_times_out_and_the_mirror_converges_afterwards() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mbh", "mbh-src", "mbh-a"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mbh-src", "settings", json!({"v": "1"})).await;
    let relay = Relay::start(plane.port).await;
    let pod = pod(plane, "config-mirror", "blackhole").await;
    let env = [
        ("KUBERNETES_SERVICE_PORT_HTTPS", relay.port.to_string()),
        ("KUBERNETES_SERVICE_PORT", relay.port.to_string()),
        // No client-side request timeout to speak of: only the reconcile timeout can end a call.
        ("MIRROR_REQUEST_TIMEOUT_SECS", "3600".to_string()),
        ("MIRROR_RECONCILE_TIMEOUT_SECS", "2".to_string()),
        ("MIRROR_RESYNC_SECS", "3".to_string()),
        // The lease outlives the black hole (a leader that cannot renew must stop).
        ("MIRROR_LEASE_SECONDS", "60".to_string()),
        ("MIRROR_RENEW_SECONDS", "50".to_string()),
    ];
    let op = Operator::start_with(plane, &pod, "mirror-bh", "mirror-bh", "mbh", &env);
    mirror(
        &admin,
        "mbh",
        "settings",
        ("mbh-src", "settings"),
        &["mbh-a"],
    )
    .await;
    wait_copy(&admin, "mbh-a", "settings", &json!({"v": "1"})).await;

    // The open connections are cut and every new one is accepted and never answered; the
    // source changes meanwhile.
    relay.set_mode(Mode::BlackHole).await;
    relay.close_all();
    merge(
        &admin,
        &copy_path("mbh-src", "settings"),
        json!({"data": {"v": "2"}}),
    )
    .await;
    // Resyncs start reconciles whose calls hang until the reconcile timeout cancels them.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let port = op.health_port();
    assert!(
        http_get(port, "/healthz").await.starts_with("HTTP/1.1 200"),
        "cancelled, not wedged"
    );
    // Forward again and cut the black-holed connections.
    relay.set_mode(Mode::Forward).await;
    relay.close_all();
    wait_copy(&admin, "mbh-a", "settings", &json!({"v": "2"})).await;
    let metrics = http_get(port, "/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("incluster_reconcile_total") && l.contains("result=\"timeout\"")),
        "no timed-out reconcile counted: {metrics}"
    );
}

#[tokio::test]
async fn a_note_with_multi_byte_text_at_the_cut_does_not_crash_the_operator() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mmb", "mmb-src"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mmb-src", "settings", json!({"v": "1"})).await;
    let pod = pod(plane, "config-mirror", "multibyte").await;
    let mut op = Operator::start(plane, &pod, "mirror-mb", "mirror-mb", "mmb");
    // Targets that do not exist, named in 3-byte characters: the CopyFailed note lists each
    // with the server's "namespaces \"…\" not found", far over 1 KiB. Padding the first target
    // with 1 or 2 ASCII bytes moves the 1 KiB cut inside a character.
    let targets_of = |pad: usize| -> Vec<String> {
        let mut targets = vec![format!("{}{}0", "a".repeat(pad), "日".repeat(18))];
        targets.extend((1..20).map(|i| format!("{}{i}", "日".repeat(18))));
        targets
    };
    let expected_note = |targets: &[String]| {
        let mut sorted = targets.to_vec();
        sorted.sort();
        let entries: Vec<String> = sorted
            .iter()
            .map(|t| {
                format!("{t}: the API server answered 404 NotFound: namespaces \"{t}\" not found")
            })
            .collect();
        format!("some copies failed: {}", entries.join("; "))
    };
    assert!(
        (0..3).any(|pad| !expected_note(&targets_of(pad)).is_char_boundary(1024)),
        "the test no longer puts the cut inside a character"
    );
    for pad in 0..3 {
        let targets = targets_of(pad);
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        mirror(
            &admin,
            "mmb",
            &format!("m{pad}"),
            ("mmb-src", "settings"),
            &targets,
        )
        .await;
    }
    for pad in 0..3 {
        wait_ready(&admin, "mmb", &format!("m{pad}"), "False", "CopyFailed").await;
    }
    eventually("three CopyFailed Events", HANG_GUARD, || async {
        events(&admin, "mmb")
            .await
            .iter()
            .filter(|e| e["reason"] == "CopyFailed")
            .count()
            >= 3
    })
    .await;
    for event in events(&admin, "mmb").await {
        let note = event["note"].as_str().unwrap_or_default();
        assert!(note.len() <= 1024, "{}", note.len());
    }
    assert!(op.child.try_wait().unwrap().is_none(), "the operator died");
}

#[tokio::test]
async fn a_new_source_name_replaces_the_old_copies_and_a_dropped_target_loses_its_copy() {
    let plane = ControlPlane::shared();
    install(plane).await;
    let admin = plane.admin();
    for ns in ["mrn", "mrn-src", "mrn-a", "mrn-b"] {
        admin.ensure_namespace(ns).await;
    }
    configmap(&admin, "mrn-src", "old", json!({"v": "old"})).await;
    configmap(&admin, "mrn-src", "new", json!({"v": "new"})).await;
    let pod = pod(plane, "config-mirror", "rename").await;
    let _op = Operator::start(plane, &pod, "mirror-rename", "mirror-rename", "mrn");
    mirror(&admin, "mrn", "m", ("mrn-src", "old"), &["mrn-a", "mrn-b"]).await;
    wait_copy(&admin, "mrn-a", "old", &json!({"v": "old"})).await;
    wait_copy(&admin, "mrn-b", "old", &json!({"v": "old"})).await;
    merge(
        &admin,
        &format!("{API}/namespaces/mrn/configmirrors/m"),
        json!({"spec": {"source": {"namespace": "mrn-src", "name": "new"}, "targets": ["mrn-a"]}}),
    )
    .await;
    wait_copy(&admin, "mrn-a", "new", &json!({"v": "new"})).await;
    wait_gone(&admin, &copy_path("mrn-a", "old")).await;
    wait_gone(&admin, &copy_path("mrn-b", "old")).await;
    assert!(get(&admin, &copy_path("mrn-b", "new")).await.is_none());
    assert!(
        get(&admin, &copy_path("mrn-src", "old")).await.is_some(),
        "the old source stays"
    );
    wait_ready(&admin, "mrn", "m", "True", "Mirrored").await;
}
