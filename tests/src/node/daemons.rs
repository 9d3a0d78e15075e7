//! Starting the node's daemons in order, watching them, and waiting until the node is Ready.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::configs::kube_proxy_config;
use super::{Host, Node, NODE_IP};
use crate::blocking::block_on;
use crate::controlplane::{built_binary, ControlPlane};

impl Node {
    /// Builds (cached) and starts every daemon, then waits for the node to be Ready.
    pub(super) fn start() -> Node {
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

        let host = Host::claim();
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

        // The controller-manager and the scheduler: one kubeconfig each, for the API and to
        // authenticate and authorize their own endpoints.
        let kubeconfigs = |component: &str| {
            let kc = kubeconfig(component);
            ["", "authentication-", "authorization-"].map(|use_| format!("--{use_}kubeconfig={kc}"))
        };
        host.spawn(
            "kube-controller-manager",
            Command::new(bin_dir.join("kube-controller-manager"))
                .args(kubeconfigs("kube-controller-manager"))
                .args([
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
        host.spawn(
            "kube-scheduler",
            Command::new(bin_dir.join("kube-scheduler"))
                .args(kubeconfigs("kube-scheduler"))
                .args(["--leader-elect=false", "--bind-address=127.0.0.1", "--v=1"]),
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

    pub(super) fn wait_ready(&self) {
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
}

impl Host {
    /// Starts a daemon inside the node (see `Host::in_node`); its output goes to `<name>.log`.
    pub(super) fn spawn(&self, name: &str, command: &mut Command) {
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
    pub(super) fn check_daemons(&self) {
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
    pub(super) fn log_tail(&self, daemon: &str, lines: usize) -> String {
        let text =
            std::fs::read_to_string(self.log_dir.join(format!("{daemon}.log"))).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Polls `ready` every 250 ms until it holds; panics (with the daemons' state) after `limit`.
    pub(super) fn wait_for(&self, what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
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
}
