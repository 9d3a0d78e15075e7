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
//! Where a node cannot be had (not root, no overlayfs, no cgroup v1 hierarchies) [`Node::shared`]
//! returns `None` after printing why; the tests then skip, saying so.
//!
//! One job per file: `availability` (can a node run here?), `guardian` (claiming the state
//! directory, the teardown guardian, leftovers), `host` (the network namespace and cgroups),
//! `configs` (containerd, CNI, kubelet and kube-proxy configuration), `daemons` (starting and
//! watching the daemons, waiting for the node to be Ready), `images` (the images the Pods run)
//! and `kubectl` (what the tests do with the node).

mod availability;
mod configs;
mod daemons;
mod guardian;
mod host;
mod images;
mod kubectl;

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin};
use std::sync::{Mutex, OnceLock};

use crate::blocking::panic_message;
use crate::controlplane::ControlPlane;

pub use crate::blocking::block_on;
pub use availability::unavailable;
pub use images::example_binaries;

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

    /// Where the daemons' logs are: `<target>/node-logs/<id>/<daemon>.log`.
    pub fn log_dir(&self) -> &Path {
        &self.host.log_dir
    }

    /// The last `lines` lines of a daemon's log (`kubelet`, `containerd`, ...).
    pub fn log_tail(&self, daemon: &str, lines: usize) -> String {
        self.host.log_tail(daemon, lines)
    }
}
