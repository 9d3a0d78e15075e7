//! Can a node run here? It needs root, overlayfs and cgroup v1.
//!
//! The harness is written for cgroup v1: the kubelet runs with the `cgroupfs` driver and
//! `failCgroupV1: false`, the daemons go into `/sys/fs/cgroup/pids/incluster-<id>-daemons`, the
//! kubelet's root is made in every v1 hierarchy, and `tests/node/teardown` kills and removes them
//! there. A cgroup v2-only host (`/sys/fs/cgroup` is itself a `cgroup2fs` mount) has none of that,
//! so the check says so rather than letting the daemons fail half-way.

use std::process::Command;

/// Why no node can be had here, if none can: it needs root, overlayfs and cgroup v1 (the `pids`
/// hierarchy and the controllers the kubelet uses).
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
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    cgroup_v1_missing(&mounts)
}

/// The cgroup v1 controllers the harness needs a hierarchy for: `pids` holds the daemons; the
/// kubelet's cgroupfs driver needs the others for every Pod.
const NEEDED_CONTROLLERS: [&str; 5] = ["pids", "cpu", "cpuset", "memory", "devices"];

/// Why the cgroups mounted under `/sys/fs/cgroup` (per `mounts`, the text of `/proc/self/mounts`)
/// cannot hold a node, if they cannot: the harness needs cgroup v1.
fn cgroup_v1_missing(mounts: &str) -> Option<String> {
    // Fields: source, mount point, type, options, dump, pass.
    let entries: Vec<Vec<&str>> = mounts
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|fields| fields.len() >= 4)
        .collect();
    let root_type = entries
        .iter()
        .rev()
        .find(|fields| fields[1] == "/sys/fs/cgroup")
        .map(|fields| fields[2]);
    if root_type == Some("cgroup2") {
        return Some(
            "this host has cgroup v2 only (/sys/fs/cgroup is a cgroup2fs mount); the node harness \
             needs cgroup v1 hierarchies (the daemons' pids cgroup, the kubelet's cgroupfs driver \
             and tests/node/teardown use them): boot with systemd.unified_cgroup_hierarchy=0 or \
             run the node tests on a cgroup v1 (or hybrid) host"
                .into(),
        );
    }
    let missing: Vec<&str> = NEEDED_CONTROLLERS
        .into_iter()
        .filter(|controller| {
            !entries.iter().any(|fields| {
                fields[2] == "cgroup"
                    && fields[1].starts_with("/sys/fs/cgroup/")
                    && fields[3].split(',').any(|option| option == *controller)
            })
        })
        .collect();
    if missing.is_empty() {
        return None;
    }
    Some(format!(
        "the node harness needs cgroup v1, with a hierarchy under /sys/fs/cgroup for each of {}; \
         none is mounted for {} (found /sys/fs/cgroup as {})",
        NEEDED_CONTROLLERS.join(", "),
        missing.join(", "),
        root_type.unwrap_or("nothing"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Debian 11-style hybrid: v1 controllers on a tmpfs, v2 beside them.
    const HYBRID: &str = "\
tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/devices cgroup rw,relatime,devices 0 0
cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
";

    #[test]
    fn v1_and_hybrid_hosts_can_hold_a_node() {
        assert_eq!(cgroup_v1_missing(HYBRID), None);
        // Controllers co-mounted in one hierarchy (cpu,cpuacct) count too.
        let comounted = HYBRID.replace(
            "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0",
            "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0",
        );
        assert_eq!(cgroup_v1_missing(&comounted), None);
    }

    #[test]
    fn a_cgroup_v2_only_host_is_named() {
        let v2 = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n";
        let why = cgroup_v1_missing(v2).expect("a v2-only host cannot hold the node");
        assert!(why.contains("cgroup v2 only"), "{why}");
        assert!(why.contains("needs cgroup v1"), "{why}");
    }

    #[test]
    fn a_missing_v1_controller_is_named() {
        let no_pids = HYBRID.replace(
            "cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0\n",
            "",
        );
        let why = cgroup_v1_missing(&no_pids).expect("no pids hierarchy");
        assert!(why.contains("none is mounted for pids"), "{why}");
        let why = cgroup_v1_missing("").expect("no cgroups at all");
        assert!(why.contains("found /sys/fs/cgroup as nothing"), "{why}");
    }
}
