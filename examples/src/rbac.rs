//! The least privilege of each example, from its code: the `RBAC` of every generated client it
//! calls, plus the runtime parts it runs (leader election). `examples/deploy/*.yaml` hold the
//! rendered manifests between `# BEGIN RBAC` and `# END RBAC`;
//! `cargo run -p incluster-examples --bin rbac -- --write` rewrites them and the
//! `deploy_rbac` test fails when they and the code disagree.

use incluster::rbac::{Policy, Rules, EVENTS_RECORDER, LEADER_ELECTION};

use crate::api::{DiscoveryClient, HeartbeatConfigMapClient, OwnConfigMapsClient};
use crate::mirror::clients::{ConfigMapsClient, MirrorsClient};

/// One example program and what it calls.
#[derive(Debug)]
pub struct Example {
    /// The name on the command line: `seed`, `heartbeat`, `config-mirror`.
    pub name: &'static str,
    /// The file under `examples/deploy/` that holds its RBAC.
    pub manifest: &'static str,
    /// Its ServiceAccount.
    pub service_account: &'static str,
    /// The ServiceAccount's (and the Pods') namespace.
    pub namespace: &'static str,
    /// Every client and runtime part it uses.
    pub uses: &'static [&'static Rules],
}

/// The examples, as `examples/deploy/` deploys them.
pub const EXAMPLES: &[Example] = &[
    Example {
        name: "seed",
        manifest: "seed.yaml",
        service_account: "seed",
        namespace: "incluster-demo",
        uses: &[&DiscoveryClient::RBAC, &OwnConfigMapsClient::RBAC],
    },
    Example {
        name: "heartbeat",
        manifest: "heartbeat.yaml",
        service_account: "heartbeat",
        namespace: "incluster-demo",
        uses: &[&HeartbeatConfigMapClient::RBAC],
    },
    Example {
        name: "config-mirror",
        manifest: "mirror-rbac.yaml",
        service_account: "config-mirror",
        namespace: "incluster-mirror",
        uses: &[
            &MirrorsClient::RBAC,
            &ConfigMapsClient::RBAC,
            &EVENTS_RECORDER,
            &LEADER_ELECTION,
        ],
    },
];

/// The example named `name`.
///
/// ```
/// assert!(incluster_examples::rbac::example("seed").is_some());
/// ```
pub fn example(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|e| e.name == name)
}

impl Example {
    /// Its policy: every rule of everything it uses, merged.
    ///
    /// ```
    /// let seed = incluster_examples::rbac::example("seed").unwrap().policy();
    /// assert_eq!(seed.grants().len(), 2); // get /api, list configmaps
    /// ```
    pub fn policy(&self) -> Policy {
        self.uses.iter().fold(
            Policy::new(self.service_account, self.namespace),
            |policy, rules| policy.with(rules),
        )
    }

    /// The generated region of its manifest, markers included.
    pub fn region(&self) -> String {
        format!("{BEGIN}{}{END}\n", self.policy().to_yaml())
    }
}

/// The first line of the generated region.
pub const BEGIN: &str = "# BEGIN RBAC — generated from the code by `cargo run -p incluster-examples --bin rbac -- --write`; do not edit\n";
/// The last line of the generated region.
pub const END: &str = "# END RBAC";

/// `manifest` with its generated region replaced by `region`; an error when it has no region.
///
/// ```
/// use incluster_examples::rbac::{splice, BEGIN, END};
/// let manifest = format!("a: 1\n---\n{BEGIN}old: x\n{END}\n---\nb: 2\n");
/// let spliced = splice(&manifest, &format!("{BEGIN}new: y\n{END}\n")).unwrap();
/// assert_eq!(spliced, format!("a: 1\n---\n{BEGIN}new: y\n{END}\n---\nb: 2\n"));
/// ```
pub fn splice(manifest: &str, region: &str) -> Result<String, String> {
    let start = manifest
        .find(BEGIN)
        .ok_or("no `# BEGIN RBAC` line: add the region markers where the RBAC goes")?;
    let end_marker = manifest[start..]
        .find(END)
        .ok_or("a `# BEGIN RBAC` line without its `# END RBAC`")?
        + start;
    let end = manifest[end_marker..]
        .find('\n')
        .map_or(manifest.len(), |n| end_marker + n + 1);
    Ok(format!(
        "{}{region}{}",
        &manifest[..start],
        &manifest[end..]
    ))
}
