//! A real single-node Kubernetes cluster for the tests: the examples run as real Pods.
//!
//! [`Node::shared`] starts one per test process, everything inside a network namespace of its
//! own (`incluster-n<pid>`; the node address 10.200.0.10 on a veth pair whose both ends are in
//! it, Pods in 10.244.0.0/24, Services in 10.96.0.0/24 — private addresses never leave it):
//! containerd (with runc and the CNI bridge), the control plane in node mode, the
//! controller-manager, the scheduler, the kubelet and kube-proxy, all built from upstream modules
//! by `scripts/build-node`. It imports the images the tests run (built here, there is no
//! registry): the sandbox image, `incluster-examples:dev` (every `example-*` binary cargo built,
//! as `/usr/local/bin/<name>`) and `incluster-kubectl:dev` (kubectl, for the proxy sidecar).
//! The tests reach the API server on 127.0.0.1 through a forwarder the control plane keeps in
//! this process's namespace; [`Node::plane`] is that control plane, as for every other test.
//!
//! Teardown always happens: a guardian process (`tests/node/teardown`, started first, waiting
//! for this process's end of a pipe to close) kills every process in the node's cgroups,
//! unmounts everything under the state directory, and deletes the cgroups, the network
//! namespace and the state — whether the tests pass, panic or are killed. A node left behind by
//! a crash of the guardian itself is torn down before the next node starts.
//!
//! Where a node cannot be had (not root, no overlayfs) [`Node::shared`] returns `None` after
//! printing why; the tests then skip, saying so.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::controlplane::{built_binary, repo_root, target_dir, ControlPlane};

/// The node's address (inside its network namespace).
pub const NODE_IP: &str = "10.200.0.10";
/// The sandbox ("pause") image, built here from a static pause binary.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10.1";
/// The examples' image: every `example-*` binary as `/usr/local/bin/<name without example->`.
pub const EXAMPLES_IMAGE: &str = "incluster-examples:dev";
/// An image with `/usr/local/bin/kubectl` (the proxy sidecar).
pub const KUBECTL_IMAGE: &str = "incluster-kubectl:dev";

const STATE_ROOT: &str = "/var/lib/incluster-node";
const POD_CIDR: &str = "10.244.0.0/24";

/// A running single-node cluster.
pub struct Node {
    /// The control plane (its `server` is on 127.0.0.1 in the tests' namespace).
    pub plane: ControlPlane,
    /// The Node object's name.
    pub name: String,
    host: Host,
}

/// What the node is made of on this machine: its network namespace, cgroups, state directory,
/// daemons and the guardian that removes all of it.
struct Host {
    /// `n<pid>`: names the namespace `incluster-<id>`, the cgroups and the state directory.
    id: String,
    state: PathBuf,
    /// Where the daemons' logs go: `<target>/node-logs/<id>/`.
    log_dir: PathBuf,
    daemons: Mutex<Vec<(String, Child)>>,
    _guardian: Mutex<(Child, ChildStdin)>,
}

enum Shared {
    Ready(Box<Node>),
    Unavailable(String),
    Failed(String),
}

impl Node {
    /// The node of this test process, started on first use (a cold `scripts/build-node` takes
    /// about 20 minutes; then a start takes well under a minute). `None`, after printing the
    /// reason, where no node can be had here.
    pub fn shared() -> Option<&'static Node> {
        static SHARED: OnceLock<Shared> = OnceLock::new();
        let shared = SHARED.get_or_init(|| {
            if let Some(reason) = unavailable() {
                return Shared::Unavailable(reason);
            }
            match std::panic::catch_unwind(Node::start) {
                Ok(node) => Shared::Ready(Box::new(node)),
                Err(panic) => Shared::Failed(panic_message(&panic)),
            }
        });
        match shared {
            Shared::Ready(node) => Some(node),
            Shared::Unavailable(reason) => {
                eprintln!(
                    "SKIPPED: this test needs a real node, and none can be had here: {reason}"
                );
                None
            }
            Shared::Failed(message) => panic!("the node failed to start: {message}"),
        }
    }

    fn start() -> Node {
        // Build first (cached): nothing is set up while a cold build runs.
        let binaries: Vec<PathBuf> = [
            "kubelet",
            "kube-proxy",
            "kube-scheduler",
            "kube-controller-manager",
            "containerd",
            "containerd-shim-runc-v2",
            "ctr",
            "bridge",
            "host-local",
            "loopback",
            "pause",
        ]
        .iter()
        .map(|name| built_binary(name))
        .collect();
        let bin_dir = binaries[0]
            .parent()
            .expect("binary directory")
            .to_path_buf();
        let controlplane = built_binary("controlplane");
        let kubectl = built_binary("kubectl");
        let started = Instant::now();

        remove_leftovers();
        let id = format!("n{}", std::process::id());
        let state = Path::new(STATE_ROOT).join(&id);
        let log_dir = target_dir().join("node-logs").join(&id);
        let _ = std::fs::remove_dir_all(&log_dir);
        std::fs::create_dir_all(&log_dir).expect("create the node log directory");
        // The state directory appears with its owner already recorded (a node starting in another
        // test process must never take it for a leftover).
        let fresh = Path::new(STATE_ROOT).join(format!(".{id}.new"));
        let _ = std::fs::remove_dir_all(&fresh);
        std::fs::create_dir_all(&fresh).expect("create the node state directory");
        let owner = owner_stamp(std::process::id()).expect("this process's start time");
        std::fs::write(fresh.join("owner"), owner).expect("write owner");
        std::fs::rename(&fresh, &state).expect("place the node state directory");
        let guardian = start_guardian(&state, &log_dir);
        let host = Host {
            id,
            state,
            log_dir,
            daemons: Mutex::new(Vec::new()),
            _guardian: Mutex::new(guardian),
        };
        host.create_network();
        host.create_cgroups();
        host.write_configs(&bin_dir);

        host.spawn(
            "containerd",
            Command::new(bin_dir.join("containerd"))
                .arg("--config")
                .arg(host.state.join("containerd.toml")),
        );
        host.wait_for("containerd to answer", Duration::from_secs(60), || {
            host.ctr(&["version"]).status.success()
        });
        // Build and import the images while the control plane starts.
        let plane = std::thread::scope(|scope| {
            let images = scope.spawn(|| host.import_images(&bin_dir.join("pause"), &kubectl));
            let mut command = host.in_node(&controlplane);
            command
                .arg("--dir")
                .arg(host.state.join("controlplane"))
                .arg("--node-ip")
                .arg(NODE_IP)
                .arg(format!("--host-netns=/proc/{}/ns/net", std::process::id()));
            let plane = ControlPlane::launch(
                command,
                &host.state.join("controlplane"),
                &format!("node-{}", host.id),
            );
            if let Err(panic) = images.join() {
                std::panic::resume_unwind(panic);
            }
            plane
        });
        let info = plane.info["node"].clone();
        let name = info["name"].as_str().expect("node name").to_string();
        let kubeconfig = |component: &str| {
            info["kubeconfigs"][component]
                .as_str()
                .unwrap_or_else(|| panic!("no kubeconfig for {component}"))
                .to_string()
        };
        let ca = host.state.join("controlplane/ca.crt");

        let kc = kubeconfig("kube-controller-manager");
        host.spawn(
            "kube-controller-manager",
            Command::new(bin_dir.join("kube-controller-manager")).args([
                format!("--kubeconfig={kc}"),
                format!("--authentication-kubeconfig={kc}"),
                format!("--authorization-kubeconfig={kc}"),
                // Each controller acts as its own ServiceAccount (as in kubeadm clusters).
                "--use-service-account-credentials=true".into(),
                format!(
                    "--service-account-private-key-file={}",
                    info["serviceAccountKeyFile"].as_str().expect("SA key")
                ),
                // Published in every namespace as the `kube-root-ca.crt` ConfigMap: a Pod's ca.crt.
                format!("--root-ca-file={}", ca.display()),
                "--cluster-name=incluster".into(),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--v=1".into(),
            ]),
        );
        let sc = kubeconfig("kube-scheduler");
        host.spawn(
            "kube-scheduler",
            Command::new(bin_dir.join("kube-scheduler")).args([
                format!("--kubeconfig={sc}"),
                format!("--authentication-kubeconfig={sc}"),
                format!("--authorization-kubeconfig={sc}"),
                "--leader-elect=false".into(),
                "--bind-address=127.0.0.1".into(),
                "--v=1".into(),
            ]),
        );
        host.spawn(
            "kubelet",
            Command::new(bin_dir.join("kubelet")).args([
                format!("--config={}", host.state.join("kubelet.yaml").display()),
                format!("--kubeconfig={}", kubeconfig("kubelet")),
                format!("--root-dir={}", host.state.join("kubelet").display()),
                format!("--hostname-override={name}"),
                format!("--node-ip={NODE_IP}"),
                "--v=1".into(),
            ]),
        );
        std::fs::write(
            host.state.join("kube-proxy.yaml"),
            kube_proxy_config(&kubeconfig("kube-proxy"), &name),
        )
        .expect("write kube-proxy.yaml");
        host.spawn(
            "kube-proxy",
            Command::new(bin_dir.join("kube-proxy")).arg(format!(
                "--config={}",
                host.state.join("kube-proxy.yaml").display()
            )),
        );

        let node = Node { plane, name, host };
        node.wait_ready();
        eprintln!(
            "node {} ({}) ready {:.0?} after the binaries were found; logs in {}",
            node.name,
            node.host.id,
            started.elapsed(),
            node.host.log_dir.display()
        );
        node
    }

    /// Where the daemons' logs are: `<target>/node-logs/<id>/<daemon>.log`.
    pub fn log_dir(&self) -> &Path {
        &self.host.log_dir
    }

    /// The last `lines` lines of a daemon's log (`kubelet`, `containerd`, ...).
    pub fn log_tail(&self, daemon: &str, lines: usize) -> String {
        self.host.log_tail(daemon, lines)
    }
}

impl Host {
    /// `program` run inside the node's network namespace, in the node's daemon cgroup (so that
    /// teardown finds it and everything it starts).
    fn in_node(&self, program: &Path) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#"echo 0 > "$0" && exec "$@""#)
            .arg(format!(
                "/sys/fs/cgroup/pids/incluster-{}-daemons/cgroup.procs",
                self.id
            ))
            .arg("nsenter")
            .arg(format!("--net=/var/run/netns/incluster-{}", self.id))
            .arg("--")
            .arg(program);
        command
    }

    /// Starts a daemon inside the node (see [`Node::in_node`]); its output goes to `<name>.log`.
    fn spawn(&self, name: &str, command: &mut Command) {
        let program = PathBuf::from(command.get_program());
        let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
        let log = std::fs::File::create(self.log_dir.join(format!("{name}.log"))).expect("log");
        let child = self
            .in_node(&program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        self.daemons
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_string(), child));
    }

    /// Panics (with the end of its log) if a daemon has exited.
    fn check_daemons(&self) {
        let mut daemons = self.daemons.lock().unwrap_or_else(|e| e.into_inner());
        for (name, child) in daemons.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{name} exited with {status}; the end of its log:\n{}",
                    self.log_tail(name, 30)
                );
            }
        }
    }

    /// The last `lines` lines of a daemon's log.
    pub fn log_tail(&self, daemon: &str, lines: usize) -> String {
        let text =
            std::fs::read_to_string(self.log_dir.join(format!("{daemon}.log"))).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn run(&self, what: &str, command: &mut Command) -> Output {
        let output = command
            .output()
            .unwrap_or_else(|err| panic!("cannot run {what}: {err}"));
        assert!(
            output.status.success(),
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn create_network(&self) {
        let ns = format!("incluster-{}", self.id);
        let ip = |args: &[&str]| {
            self.run(
                &format!("ip {}", args.join(" ")),
                Command::new("ip").args(args),
            );
        };
        ip(&["netns", "add", &ns]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        // Both ends inside the namespace: the node address and its default route live here, and
        // nothing is routed to the machine's own network.
        ip(&[
            "-n", &ns, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        ip(&[
            "-n",
            &ns,
            "addr",
            "add",
            &format!("{NODE_IP}/24"),
            "dev",
            "veth0",
        ]);
        ip(&["-n", &ns, "link", "set", "veth0", "up"]);
        ip(&["-n", &ns, "link", "set", "veth1", "up"]);
        ip(&["-n", &ns, "route", "add", "default", "dev", "veth0"]);
        self.run(
            "sysctl net.ipv4.ip_forward=1",
            Command::new("nsenter")
                .arg(format!("--net=/var/run/netns/{ns}"))
                .args(["sysctl", "-qw", "net.ipv4.ip_forward=1"]),
        );
    }

    /// The daemons' cgroup (pids hierarchy) and the kubelet's cgroup root in every hierarchy.
    fn create_cgroups(&self) {
        std::fs::create_dir_all(format!("/sys/fs/cgroup/pids/incluster-{}-daemons", self.id))
            .expect("create the daemons' cgroup");
        for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
            .expect("/sys/fs/cgroup")
            .flatten()
        {
            let root = hierarchy.path().join(format!("incluster-{}", self.id));
            if std::fs::create_dir_all(&root).is_err() {
                continue;
            }
            // A new cpuset cgroup starts with no CPUs and no memory nodes: give it the parent's.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(value) = std::fs::read_to_string(hierarchy.path().join(file)) {
                    let _ = std::fs::write(root.join(file), value.trim());
                }
            }
        }
    }

    fn write_configs(&self, bin_dir: &Path) {
        let s = |p: &str| self.state.join(p).display().to_string();
        for dir in ["cni/conf", "cni/ipam", "pod-logs", "kubelet"] {
            std::fs::create_dir_all(self.state.join(dir)).expect("create state directories");
        }
        let runc = which("runc");
        let containerd = format!(
            r#"version = 3
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.nri.v1.nri"]

[grpc]
  address = "{sock}"

[ttrpc]
  address = "{sock}.ttrpc"

[plugins.'io.containerd.internal.v1.opt']
  path = "{opt}"

[plugins.'io.containerd.grpc.v1.cri']
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "{pause}"

[plugins.'io.containerd.cri.v1.runtime']
  # This VM lacks CAP_SYS_RESOURCE: runc cannot lower the pause container's oom_score_adj
  # below containerd's own, so clamp it there.
  restrict_oom_score_adj = true
  # Sandbox network namespaces under the state directory, not /var/run/netns.
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["{bin}"]
    conf_dir = "{cni_conf}"
    max_conf_num = 1
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "{runc}"
        SystemdCgroup = false
"#,
            root = s("containerd/root"),
            state = s("containerd/state"),
            sock = self.containerd_socket().display(),
            opt = s("containerd/opt"),
            pause = PAUSE_IMAGE,
            bin = bin_dir.display(),
            cni_conf = s("cni/conf"),
            runc = runc.display(),
        );
        std::fs::write(self.state.join("containerd.toml"), containerd).expect("containerd.toml");

        let cni = json!({
            "cniVersion": "1.0.0",
            "name": format!("incluster-{}", self.id),
            "plugins": [{
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": s("cni/ipam"),
                },
            }],
        });
        std::fs::write(
            self.state.join("cni/conf/10-incluster.conflist"),
            serde_json::to_string_pretty(&cni).expect("CNI config"),
        )
        .expect("write the CNI config");

        let kubelet = format!(
            r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {NODE_IP}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: true}}
  x509: {{clientCAFile: "{ca}"}}
authorization: {{mode: Webhook}}
# The host has cgroup v1 and no systemd managing it.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /incluster-{id}
failSwapOn: false
containerRuntimeEndpoint: unix://{sock}
podLogsDir: "{logs}"
clusterDomain: cluster.local
podCIDR: {POD_CIDR}
maxPods: 30
serializeImagePulls: false
# The images exist nowhere else: never collect them, and evict only when really out of room.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}}
"#,
            ca = s("controlplane/ca.crt"),
            id = self.id,
            sock = self.containerd_socket().display(),
            logs = s("pod-logs"),
        );
        std::fs::write(self.state.join("kubelet.yaml"), kubelet).expect("kubelet.yaml");
    }

    fn containerd_socket(&self) -> PathBuf {
        self.state.join("containerd/containerd.sock")
    }

    /// Polls `ready` every 250 ms until it holds; panics (with the daemons' state) after `limit`.
    fn wait_for(&self, what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            if ready() {
                return;
            }
            self.check_daemons();
            if Instant::now() > deadline {
                panic!(
                    "gave up waiting for {what} after {limit:?}; logs in {}\nkubelet:\n{}",
                    self.log_dir.display(),
                    self.log_tail("kubelet", 20)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `ctr` against the node's containerd, in the `k8s.io` namespace (the kubelet's).
    fn ctr(&self, args: &[&str]) -> Output {
        Command::new(built_binary("ctr"))
            .arg("--address")
            .arg(self.containerd_socket())
            .args(["--namespace", "k8s.io"])
            .args(args)
            .output()
            .expect("run ctr")
    }

    fn import_images(&self, pause: &Path, kubectl: &Path) {
        let dir = self.state.join("images");
        let examples = example_binaries();
        assert!(
            !examples.is_empty(),
            "no example-* binaries beside {}: build them (cargo build -p incluster-tests --bins)",
            std::env::current_exe().expect("current exe").display()
        );
        // No CA bundle in the image: in a Pod the only roots are the projected ca.crt, and the
        // proxy sidecar variant talks plain http to loopback, which needs none.
        let example_files: Vec<(PathBuf, String)> = examples
            .iter()
            .map(|(name, path)| (path.clone(), format!("usr/local/bin/{name}")))
            .collect();
        let images = [
            build_image(
                &dir,
                PAUSE_IMAGE,
                &[(pause.to_path_buf(), "pause".into())],
                &["/pause"],
            ),
            build_image(&dir, EXAMPLES_IMAGE, &example_files, &[]),
            build_image(
                &dir,
                KUBECTL_IMAGE,
                &[(kubectl.to_path_buf(), "usr/local/bin/kubectl".into())],
                &["/usr/local/bin/kubectl"],
            ),
        ];
        for tarball in images {
            let output = self.ctr(&["images", "import", &tarball.display().to_string()]);
            assert!(
                output.status.success(),
                "ctr images import {}: {}",
                tarball.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

impl Node {
    fn wait_ready(&self) {
        let host = &self.host;
        let admin = self.plane.admin();
        let node_path = format!("/api/v1/nodes/{}", self.name);
        host.wait_for("the node to be Ready", Duration::from_secs(300), || {
            let (status, node) = block_on(admin.raw("GET", &node_path, None)).unwrap_or_default();
            status == 200
                && node["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        for (what, path) in [
            (
                "the default ServiceAccount",
                "/api/v1/namespaces/default/serviceaccounts/default",
            ),
            (
                "the kube-root-ca.crt ConfigMap",
                "/api/v1/namespaces/default/configmaps/kube-root-ca.crt",
            ),
        ] {
            host.wait_for(what, Duration::from_secs(120), || {
                matches!(block_on(admin.raw("GET", path, None)), Ok((200, _)))
            });
        }
        host.wait_for(
            "kube-proxy's rules for the kubernetes Service",
            Duration::from_secs(120),
            || {
                let output = Command::new("nsenter")
                    .arg(format!("--net=/var/run/netns/incluster-{}", host.id))
                    .args(["iptables-save", "-t", "nat"])
                    .output()
                    .expect("run iptables-save");
                String::from_utf8_lossy(&output.stdout).contains("default/kubernetes:https")
            },
        );
    }

    /// Runs the real kubectl as cluster admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(built_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.plane.kubeconfig)
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// Runs the real kubectl as cluster admin; panics unless it succeeds; returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Creates (kubectl apply) what `manifest` describes, given as YAML or JSON text.
    pub fn apply(&self, manifest: &str) -> String {
        let file = self.host.state.join(format!(
            "manifest-{}.yaml",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::write(&file, manifest).expect("write manifest");
        let out = self.kubectl_ok(&["apply", "-f", &file.display().to_string()]);
        let _ = std::fs::remove_file(file);
        out
    }

    /// Waits until the Pod's phase is `Succeeded` or `Failed` (or `limit` passes, a failure);
    /// returns the Pod.
    pub fn wait_pod_finished(&self, namespace: &str, pod: &str, limit: Duration) -> Value {
        let admin = self.plane.admin();
        let path = format!("/api/v1/namespaces/{namespace}/pods/{pod}");
        let mut last = Value::Null;
        let deadline = Instant::now() + limit;
        loop {
            if let Ok((200, value)) = block_on(admin.raw("GET", &path, None)) {
                if matches!(
                    value["status"]["phase"].as_str(),
                    Some("Succeeded" | "Failed")
                ) {
                    return value;
                }
                last = value;
            }
            self.host.check_daemons();
            assert!(
                Instant::now() < deadline,
                "Pod {namespace}/{pod} did not finish within {limit:?}; last seen: {}\n{}",
                last["status"],
                self.describe(namespace, pod)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `kubectl describe pod` (for failure messages).
    pub fn describe(&self, namespace: &str, pod: &str) -> String {
        let output = self.kubectl(&["-n", namespace, "describe", "pod", pod]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A container's output, through `kubectl logs` (apiserver → kubelet).
    pub fn logs(&self, namespace: &str, pod: &str, container: &str) -> String {
        self.kubectl_ok(&["-n", namespace, "logs", pod, "-c", container])
    }
}

/// Why no node can be had here, if none can: it needs root and overlayfs.
pub fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("?");
    if uid != "0" {
        return Some(format!(
            "not root (effective uid {uid}): network namespaces, cgroups and mounts need root"
        ));
    }
    let has_overlay = || {
        std::fs::read_to_string("/proc/filesystems")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split_whitespace().last() == Some("overlay"))
    };
    if !has_overlay() {
        let _ = Command::new("modprobe").arg("overlay").output();
        if !has_overlay() {
            return Some("the kernel has no overlayfs (containerd's snapshotter needs it)".into());
        }
    }
    None
}

/// `<pid> <start time>`: identifies a process even after its PID is reused.
fn owner_stamp(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command (which may contain spaces) in parentheses; start time is 22nd.
    let after = &stat[stat.rfind(')')? + 2..];
    let start = after.split_whitespace().nth(19)?;
    Some(format!("{pid} {start}"))
}

/// Tears down the nodes of test processes that are gone (normally their guardians did).
fn remove_leftovers() {
    let Ok(entries) = std::fs::read_dir(STATE_ROOT) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with('n') && name[1..].chars().all(|c| c.is_ascii_digit())) {
            continue;
        }
        let recorded = std::fs::read_to_string(entry.path().join("owner")).unwrap_or_default();
        let pid: Option<u32> = recorded
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|pid| owner_stamp(pid).as_deref() == Some(recorded.trim()));
        if !alive {
            eprintln!("removing a node left behind: {}", entry.path().display());
            let _ = Command::new(repo_root().join("tests/node/teardown"))
                .arg(entry.path())
                .status();
        }
    }
}

/// The guardian: waits (in a session of its own, so a Ctrl-C of the tests does not reach it)
/// until this process's end of its stdin closes, then tears the node down.
fn start_guardian(state: &Path, log_dir: &Path) -> (Child, ChildStdin) {
    let log = std::fs::File::create(log_dir.join("teardown.log")).expect("teardown log");
    let mut child = Command::new("setsid")
        .args(["sh", "-c", r#"cat > /dev/null; exec "$0" "$1""#])
        .arg(repo_root().join("tests/node/teardown"))
        .arg(state)
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start the teardown guardian");
    let stdin = child.stdin.take().expect("guardian stdin");
    (child, stdin)
}

fn kube_proxy_config(kubeconfig: &str, node: &str) -> String {
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: "{kubeconfig}"}}
hostnameOverride: {node}
mode: iptables
clusterCIDR: {POD_CIDR}
bindAddress: {NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# kube-proxy cannot set the conntrack sysctls here (they are not per network namespace):
# zero means leave them as they are.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"#
    )
}

/// The `example-*` binaries cargo built beside this executable (`target/<profile>/`), as
/// (name without `example-`, path).
pub fn example_binaries() -> Vec<(String, PathBuf)> {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let short = name.strip_prefix("example-")?;
                    (!short.contains('.') && e.path().is_file())
                        .then(|| (short.to_string(), e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Writes a docker-archive image (one layer: `files`, each binary stripped of debug info and
/// with the shared libraries it links) named `name`; returns the tarball.
fn build_image(
    dir: &Path,
    name: &str,
    files: &[(PathBuf, String)],
    entrypoint: &[&str],
) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let work = dir.join(&slug);
    let rootfs = work.join("rootfs");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&rootfs).expect("image rootfs");
    let mut libraries = std::collections::BTreeSet::new();
    for (source, dest) in files {
        let target = rootfs.join(dest);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("image dir");
        let stripped = Command::new("strip")
            .stderr(Stdio::null())
            .arg("--strip-debug")
            .arg("-o")
            .arg(&target)
            .arg(source)
            .status()
            .is_ok_and(|s| s.success());
        if !stripped {
            std::fs::copy(source, &target).expect("copy into the image");
        }
        libraries.extend(shared_libraries(source));
    }
    for library in libraries {
        let target = rootfs.join(library.strip_prefix("/").expect("absolute library path"));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("image lib dir");
        std::fs::copy(&library, &target).expect("copy a shared library into the image");
    }
    let tar = |args: &[&str], cwd: &Path| {
        let status = Command::new("tar")
            .args(args)
            .current_dir(cwd)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar {args:?} failed");
    };
    tar(
        &[
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "-cf",
            "../layer.tar",
            ".",
        ],
        &rootfs,
    );
    let layer_digest = sha256_file(&work.join("layer.tar"));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {
            "Entrypoint": if entrypoint.is_empty() { Value::Null } else { json!(entrypoint) },
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    });
    std::fs::write(work.join("config.json"), config.to_string()).expect("image config");
    let manifest = json!([{
        "Config": "config.json",
        "RepoTags": [name],
        "Layers": ["layer.tar"],
    }]);
    std::fs::write(work.join("manifest.json"), manifest.to_string()).expect("image manifest");
    let tarball = dir.join(format!("{slug}.tar"));
    tar(
        &[
            "-cf",
            &tarball.display().to_string(),
            "manifest.json",
            "config.json",
            "layer.tar",
        ],
        &work,
    );
    let _ = std::fs::remove_dir_all(&work);
    tarball
}

/// The shared libraries a dynamically linked binary loads (its interpreter included), per ldd.
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd").arg(binary).output().expect("run ldd");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn sha256_file(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed (scripts/build-node installs it)"))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

/// Runs a future to completion on a fresh current-thread runtime in a scoped thread (callable
/// from inside another runtime).
pub fn block_on<F: Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(future)
            })
            .join()
            .expect("block_on")
    })
}
