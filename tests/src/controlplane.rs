//! The real Kubernetes control plane the end-to-end tests run against.
//!
//! [`ControlPlane::shared`] starts one per test process (kube-apiserver + embedded etcd, built
//! from `tests/controlplane` by `scripts/build-controlplane`), waits for `/readyz`, and keeps
//! the child's standard input open: when the test process ends, however it ends, the pipe closes
//! and the control plane exits and removes its state directory.
//!
//! A [`ControlPlane::dedicated`] one can also [crash](ControlPlane::crash) (SIGKILL) and
//! [restart](ControlPlane::restart) on its kept state: the same directory, so the same CA,
//! tokens and etcd data, and the same port when it is still free.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};

use crate::blocking::block_on;
use crate::podfs::PodFs;

/// A running control plane.
pub struct ControlPlane {
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// The secure port.
    pub port: u16,
    /// The CA that signed the serving certificate: a Pod's `ca.crt`.
    pub ca_pem: String,
    /// A kubeconfig with a `system:masters` token (for `kubectl`).
    pub kubeconfig: PathBuf,
    /// The embedded etcd's client URL (`http://127.0.0.1:PORT`, with the v3 JSON gateway).
    pub etcd_url: String,
    /// Everything `cluster.json` says (e.g. `etcdUrl`, and `node` for a node's control plane).
    pub info: Value,
    admin_token: String,
    _process: Mutex<(Child, ChildStdin)>,
    /// How to start it again on its kept state (dedicated control planes only).
    relaunch: Option<Relaunch>,
}

/// What [`ControlPlane::restart`] runs again.
struct Relaunch {
    program: PathBuf,
    args: Vec<OsString>,
    dir: PathBuf,
    log_name: String,
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// The cargo target directory: `CARGO_TARGET_DIR` if set, else `target/` in the repository.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// The binaries `scripts/build-controlplane` builds; every other name is one of the node's
/// (`scripts/build-node`).
const CONTROL_PLANE_BINARIES: [&str; 2] = ["controlplane", "kubectl"];

/// Path of a binary built by `scripts/build-controlplane` (`controlplane`, `kubectl`) or
/// `scripts/build-node` (`kubelet`, `containerd`, `pause`, ...), building it first if needed.
/// The binaries live in the cache outside the clone that the script names.
pub fn built_binary(name: &str) -> PathBuf {
    static CONTROL_PLANE: OnceLock<PathBuf> = OnceLock::new();
    static NODE: OnceLock<PathBuf> = OnceLock::new();
    let dir = if CONTROL_PLANE_BINARIES.contains(&name) {
        CONTROL_PLANE.get_or_init(|| run_build_script("build-controlplane"))
    } else {
        NODE.get_or_init(|| run_build_script("build-node"))
    };
    let path = dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// Runs a build script (progress on our stderr); returns the directory it prints first.
fn run_build_script(script: &str) -> PathBuf {
    let output = Command::new(repo_root().join("scripts").join(script))
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|err| panic!("run scripts/{script}: {err}"));
    assert!(output.status.success(), "scripts/{script} failed");
    let stdout = String::from_utf8(output.stdout).expect("script output");
    let dir = stdout
        .lines()
        .next()
        .unwrap_or_else(|| panic!("scripts/{script} printed no directory"));
    PathBuf::from(dir)
}

impl ControlPlane {
    /// The control plane of this test process, started on first use.
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<ControlPlane> = OnceLock::new();
        SHARED.get_or_init(ControlPlane::start)
    }

    fn start() -> ControlPlane {
        let dir =
            std::env::temp_dir().join(format!("incluster-controlplane-{}", std::process::id()));
        let mut command = Command::new(built_binary("controlplane"));
        command.arg("--dir").arg(&dir).arg("--remove-on-exit");
        ControlPlane::launch(command, &dir, &std::process::id().to_string())
    }

    /// A control plane of its own (not the shared one) whose kube-apiserver gets `apiserver_args`
    /// after the defaults, e.g. `["--watch-cache-sizes=configmaps#0"]`. `name` tells its state
    /// directory and log apart. It stops when the returned value is dropped.
    pub fn dedicated(name: &str, apiserver_args: &[&str]) -> ControlPlane {
        let suffix = format!("{}-{name}", std::process::id());
        let dir = std::env::temp_dir().join(format!("incluster-controlplane-{suffix}"));
        let program = built_binary("controlplane");
        let mut args: Vec<OsString> = vec![
            "--dir".into(),
            dir.clone().into(),
            "--remove-on-exit".into(),
        ];
        args.extend(
            apiserver_args
                .iter()
                .map(|a| format!("--apiserver-arg={a}").into()),
        );
        let mut command = Command::new(&program);
        command.args(&args);
        let mut plane = ControlPlane::launch(command, &dir, &suffix);
        plane.relaunch = Some(Relaunch {
            program,
            args,
            dir,
            log_name: suffix,
        });
        plane
    }

    /// Kills the control plane's process with SIGKILL, as a crash: nothing is cleaned up, its
    /// state directory (PKI, etcd data) stays for [`ControlPlane::restart`]. Returns once the
    /// process is gone. Only for a [`ControlPlane::dedicated`] one.
    pub fn crash(&mut self) {
        assert!(
            self.relaunch.is_some(),
            "only a dedicated control plane can crash"
        );
        let mut process = self._process.lock().unwrap();
        // Child::kill is SIGKILL on Unix.
        process.0.kill().expect("SIGKILL the control plane");
        process.0.wait().expect("reap the control plane");
    }

    /// Starts the control plane again on its kept state directory after [`ControlPlane::crash`]:
    /// the same CA and tokens (clients and their tokens keep working), the same etcd data, and
    /// the same port if it is still free ([`ControlPlane::port`] and `server` say which; a relay
    /// in front can follow with `Relay::set_target`). Waits until it is ready, like a first start.
    pub fn restart(&mut self) {
        let relaunch = self
            .relaunch
            .take()
            .expect("only a dedicated control plane can restart");
        {
            let mut process = self._process.lock().unwrap();
            assert!(
                matches!(process.0.try_wait(), Ok(Some(_))),
                "restart after crash: the control plane is still running"
            );
        }
        // The new process writes cluster.json when it is up; the old one must not be read.
        let _ = std::fs::remove_file(relaunch.dir.join("cluster.json"));
        let mut command = Command::new(&relaunch.program);
        command
            .args(&relaunch.args)
            .arg(format!("--port={}", self.port));
        let mut plane = ControlPlane::spawn(command, &relaunch.dir, &relaunch.log_name, true);
        plane.relaunch = Some(relaunch);
        *self = plane;
    }

    /// Starts `command` (the control plane, writing into `dir`, emptied first), waits until it is
    /// ready. Its output goes to `<target>/controlplane-logs/<log_name>.log`.
    pub(crate) fn launch(command: Command, dir: &Path, log_name: &str) -> ControlPlane {
        let _ = std::fs::remove_dir_all(dir);
        ControlPlane::spawn(command, dir, log_name, false)
    }

    /// Starts `command` on `dir` as it is, waits until it is ready; its output is appended to
    /// the log if `append`, else replaces it.
    fn spawn(mut command: Command, dir: &Path, log_name: &str, append: bool) -> ControlPlane {
        // The control plane's own log, kept for a look after a failure (target/ is ignored by git).
        let log_dir = target_dir().join("controlplane-logs");
        std::fs::create_dir_all(&log_dir).expect("create the controlplane-logs directory");
        let log_path = log_dir.join(format!("{log_name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&log_path)
            .expect("control plane log file");
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start the control plane: {err}"));
        let stdin = child.stdin.take().expect("control plane stdin");
        let info_path = dir.join("cluster.json");
        let deadline = Instant::now() + Duration::from_secs(120);
        let info: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&info_path) {
                break serde_json::from_str(&text).expect("cluster.json");
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the control plane exited with {status} before writing cluster.json; see {}",
                    log_path.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the control plane did not write cluster.json within 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let text = |key: &str| {
            info[key]
                .as_str()
                .unwrap_or_else(|| panic!("cluster.json lacks {key}"))
                .to_string()
        };
        let ca_pem = std::fs::read_to_string(text("caFile")).expect("read ca.crt");
        let admin_token = std::fs::read_to_string(text("adminTokenFile"))
            .expect("read admin token")
            .trim()
            .to_string();
        let plane = ControlPlane {
            server: text("server"),
            port: info["port"].as_u64().expect("port") as u16,
            ca_pem,
            kubeconfig: PathBuf::from(text("kubeconfig")),
            etcd_url: text("etcdUrl"),
            info,
            admin_token,
            _process: Mutex::new((child, stdin)),
            relaunch: None,
        };
        plane.wait_ready();
        plane
    }

    fn wait_ready(&self) {
        let admin = self.admin();
        block_on(async {
            let deadline = Instant::now() + Duration::from_secs(180);
            loop {
                if let Ok((200, _)) = admin.raw("GET", "/readyz", None).await {
                    // RBAC's bootstrap roles are created by a post-start hook; wait for the one we bind.
                    if let Ok((200, _)) = admin
                        .raw(
                            "GET",
                            "/apis/rbac.authorization.k8s.io/v1/clusterroles/view",
                            None,
                        )
                        .await
                    {
                        return;
                    }
                }
                assert!(
                    Instant::now() < deadline,
                    "kube-apiserver was not ready within 180 s"
                );
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
    }

    pub fn admin(&self) -> Admin {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA root");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .build()
            .expect("admin client");
        Admin {
            http,
            server: self.server.clone(),
            token: self.admin_token.clone(),
        }
    }

    /// The environment the kubelet gives a container, for this control plane.
    pub fn pod_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1".to_string()),
            ("KUBERNETES_SERVICE_PORT_HTTPS", self.port.to_string()),
            ("KUBERNETES_SERVICE_PORT", self.port.to_string()),
        ]
    }

    /// A command that runs `program` as it would run in a Pod of this cluster: the kubelet's
    /// environment, `INCLUSTER_SA_DIR` pointing at `pod`, and no `POD_NAMESPACE` or
    /// `INCLUSTER_PROXY` inherited from the test process.
    pub fn pod_command(&self, program: impl AsRef<std::ffi::OsStr>, pod: &PodFs) -> Command {
        let mut command = Command::new(program);
        command
            .envs(self.pod_env())
            .env("INCLUSTER_SA_DIR", pod.dir())
            .env_remove("POD_NAMESPACE")
            .env_remove("INCLUSTER_PROXY");
        command
    }

    /// Starts the real `kubectl proxy` on a free loopback port; returns it and its URL.
    pub fn kubectl_proxy(&self) -> (KubectlProxy, String) {
        let mut child = Command::new(built_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["proxy", "--address=127.0.0.1", "--port=0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start kubectl proxy");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("kubectl stdout"))
            .read_line(&mut line)
            .expect("read kubectl proxy banner");
        // "Starting to serve on 127.0.0.1:41235"
        let address = line
            .trim()
            .rsplit(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            address.starts_with("127.0.0.1:"),
            "unexpected kubectl proxy banner: {line:?}"
        );
        (KubectlProxy(child), format!("http://{address}"))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // A running one removes its directory when its stdin closes; a crashed one cannot.
        let crashed = matches!(
            self._process.get_mut().map(|p| p.0.try_wait()),
            Ok(Ok(Some(_)))
        );
        if let (true, Some(relaunch)) = (crashed, &self.relaunch) {
            let _ = std::fs::remove_dir_all(&relaunch.dir);
        }
    }
}

impl ControlPlane {
    /// Compacts etcd's history up to its current revision (what kube-apiserver does every 5
    /// minutes), through etcd's v3 JSON gateway. Afterwards a watch or a `continue` token from
    /// before that revision is answered with `410 Gone` by any storage read that reaches etcd.
    /// Returns the revision compacted to.
    pub async fn compact_etcd(&self) -> i64 {
        // Plain http; reqwest still wants a TLS backend.
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .build()
            .expect("etcd client");
        // Any range read returns the store's current revision in its header.
        let range = http
            .post(format!("{}/v3/kv/range", self.etcd_url))
            .body(json!({"key": "AA=="}).to_string())
            .send()
            .await
            .expect("etcd range")
            .bytes()
            .await
            .expect("etcd range body");
        let range: Value = serde_json::from_slice(&range).expect("etcd range JSON");
        let revision: i64 = range["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("no revision in {range}"));
        let response = http
            .post(format!("{}/v3/kv/compaction", self.etcd_url))
            .body(json!({"revision": revision.to_string(), "physical": true}).to_string())
            .send()
            .await
            .expect("etcd compaction");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(
            status.is_success() || text.contains("already been compacted"),
            "etcd compaction answered {status}: {text}"
        );
        revision
    }
}

/// A running `kubectl proxy`; killed when dropped.
pub struct KubectlProxy(Child);

impl Drop for KubectlProxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Cluster-admin operations the tests need to set the stage.
#[derive(Clone)]
pub struct Admin {
    http: reqwest::Client,
    server: String,
    token: String,
}

/// A ServiceAccount set up for a simulated Pod.
pub struct Identity {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub service_account: String,
}

impl Admin {
    /// The same client sending `token` instead of the admin's (e.g. a ServiceAccount's, to see
    /// what its RBAC allows).
    pub fn with_token(&self, token: &str) -> Admin {
        Admin {
            http: self.http.clone(),
            server: self.server.clone(),
            token: token.to_string(),
        }
    }

    /// Sends a request as cluster admin; returns the status and the JSON body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.server))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// The body of a GET of `path` as cluster admin, as the server wrote it (panics unless 2xx).
    pub async fn text(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.server))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert!(status.is_success(), "GET {path} answered {status}: {text}");
        text
    }

    /// Like [`Admin::raw`], panicking unless the answer is 2xx.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self
            .raw(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {value}"
        );
        value
    }

    /// The `items` of the list at `path`, read as cluster admin.
    pub async fn items(&self, path: &str) -> Vec<Value> {
        match self.call("GET", path, None).await {
            Value::Object(mut list) => match list.remove("items") {
                Some(Value::Array(items)) => items,
                other => panic!("GET {path}: no items array: {other:?}"),
            },
            other => panic!("GET {path}: not a list: {other}"),
        }
    }

    /// Creates the namespace `name`, unless it exists.
    pub async fn ensure_namespace(&self, name: &str) {
        let (status, body) = self
            .raw(
                "POST",
                "/api/v1/namespaces",
                Some(json!({"metadata": {"name": name}})),
            )
            .await
            .expect("create a namespace");
        assert!(status == 201 || status == 409, "{status} {body}");
    }

    /// Waits, at most `limit`, until a GET of `path` answers 200 (e.g. a new CRD's resources
    /// being served).
    pub async fn wait_served(&self, path: &str, limit: Duration) {
        crate::wait::eventually(&format!("{path} to be served"), limit, || async {
            matches!(self.raw("GET", path, None).await, Ok((200, _)))
        })
        .await;
    }

    /// Creates a namespace, a ServiceAccount, a Role with `rules` and a RoleBinding.
    pub async fn create_identity(
        &self,
        namespace: &str,
        service_account: &str,
        rules: Value,
    ) -> Identity {
        self.call(
            "POST",
            "/api/v1/namespaces",
            Some(json!({"metadata": {"name": namespace}})),
        )
        .await;
        let ns = format!("/api/v1/namespaces/{namespace}");
        self.call(
            "POST",
            &format!("{ns}/serviceaccounts"),
            Some(json!({"metadata": {"name": service_account}})),
        )
        .await;
        let rbac = format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}");
        self.call(
            "POST",
            &format!("{rbac}/roles"),
            Some(json!({"metadata": {"name": service_account}, "rules": rules})),
        )
        .await;
        self.call(
            "POST",
            &format!("{rbac}/rolebindings"),
            Some(json!({
                "metadata": {"name": service_account},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": service_account},
                "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": namespace}]
            })),
        )
        .await;
        Identity {
            namespace: namespace.into(),
            service_account: service_account.into(),
        }
    }

    /// Mints a token for the ServiceAccount through the TokenRequest API (`expirationSeconds`
    /// 3600), optionally bound to a Secret so that deleting the Secret invalidates it.
    pub async fn mint_token(&self, id: &Identity, bound_secret: Option<&str>) -> String {
        let mut spec = json!({"expirationSeconds": 3600});
        if let Some(secret) = bound_secret {
            let uid = self
                .call(
                    "GET",
                    &format!("/api/v1/namespaces/{}/secrets/{secret}", id.namespace),
                    None,
                )
                .await["metadata"]["uid"]
                .as_str()
                .expect("secret uid")
                .to_string();
            spec["boundObjectRef"] =
                json!({"kind": "Secret", "apiVersion": "v1", "name": secret, "uid": uid});
        }
        let path = format!(
            "/api/v1/namespaces/{}/serviceaccounts/{}/token",
            id.namespace, id.service_account
        );
        let answer = self.call("POST", &path, Some(json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}))).await;
        answer["status"]["token"]
            .as_str()
            .expect("token in TokenRequest status")
            .to_string()
    }

    /// Creates an empty Secret (something to bind a token to).
    pub async fn create_secret(&self, namespace: &str, name: &str) {
        self.call(
            "POST",
            &format!("/api/v1/namespaces/{namespace}/secrets"),
            Some(json!({"metadata": {"name": name}})),
        )
        .await;
    }

    /// Deletes a Secret.
    pub async fn delete_secret(&self, namespace: &str, name: &str) {
        self.call(
            "DELETE",
            &format!("/api/v1/namespaces/{namespace}/secrets/{name}"),
            None,
        )
        .await;
    }
}

/// The rules the tests' Role grants: ConfigMaps get/list/watch/create/update/patch/delete, nothing else.
pub fn configmap_rules() -> Value {
    json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}])
}
