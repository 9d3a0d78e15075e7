//! Where the node lives on this machine: its network namespace and its cgroups (cgroup v1:
//! the daemons in the `pids` hierarchy, the kubelet's root in every hierarchy).

use std::path::Path;
use std::process::{Command, Output};

use super::{Host, NODE_IP};

impl Host {
    /// `program` run inside the node's network namespace, in the node's daemon cgroup (so that
    /// teardown finds it and everything it starts).
    pub(super) fn in_node(&self, program: &Path) -> Command {
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

    pub(super) fn run(&self, what: &str, command: &mut Command) -> Output {
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

    pub(super) fn create_network(&self) {
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
    pub(super) fn create_cgroups(&self) {
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
}
