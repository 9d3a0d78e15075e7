//! The daemons' configuration files: containerd, the CNI bridge, the kubelet and kube-proxy.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Host, NODE_IP, PAUSE_IMAGE, POD_CIDR};

impl Host {
    pub(super) fn write_configs(&self, bin_dir: &Path) {
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

    pub(super) fn containerd_socket(&self) -> PathBuf {
        self.state.join("containerd/containerd.sock")
    }
}

pub(super) fn kube_proxy_config(kubeconfig: &str, node: &str) -> String {
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

fn which(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} is not installed (scripts/build-node installs it)"))
}
