//! What a careful user declares: the fields the program reads, nothing more.
//! incluster and the hand-written floor decode into exactly these types.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The metadata fields a controller typically reads.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(default)]
    pub namespace: String,
    /// `metadata.uid`.
    #[serde(default)]
    pub uid: String,
    /// `metadata.resourceVersion`.
    #[serde(default)]
    pub resource_version: String,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A ConfigMap.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ConfigMap {
    /// Its metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Its data.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// `metadata` of a list: the continue token.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// The token for the next page, empty on the last one.
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
    /// The list's resourceVersion.
    #[serde(default)]
    pub resource_version: String,
}

/// A ConfigMapList (one page or the whole list).
#[derive(Debug, Default, Deserialize)]
pub struct ConfigMapList {
    /// List metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The items.
    #[serde(default)]
    pub items: Vec<ConfigMap>,
}

/// One line of a watch stream, as plain serde decodes it.
#[derive(Debug, Deserialize)]
pub struct WatchLine {
    /// `ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`, `ERROR`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The object.
    pub object: ConfigMap,
}

/// A checksum a client prints so the harness can check every program saw the same data and so
/// the compiler cannot drop the decoding.
pub fn checksum(cm: &ConfigMap) -> u64 {
    (cm.metadata.name.len()
        + cm.metadata.resource_version.len()
        + cm.data.values().map(String::len).sum::<usize>()) as u64
}

/// The scale workloads (w7, w7m, w8): what every program reads of an object, and the small serde
/// struct incluster's `w7-small` row decodes into.
pub mod scale {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    /// The annotation the harness sets on every update: the run's marker.
    pub const GEN: &str = "bench.incluster/gen";
    /// The annotation the harness sets on every update: when it sent the update (Unix ns).
    pub const SENT: &str = "bench.incluster/sent";

    /// The metadata a watcher of ConfigMaps needs, nothing more.
    #[derive(Debug, Default, Clone, Deserialize)]
    pub struct SmallMeta {
        /// `metadata.name`.
        #[serde(default)]
        pub name: String,
        /// `metadata.namespace`.
        #[serde(default)]
        pub namespace: String,
        /// `metadata.annotations`.
        #[serde(default)]
        pub annotations: BTreeMap<String, String>,
    }

    /// A ConfigMap as a careful user declares it for a watcher + store.
    #[derive(Debug, Default, Clone, Deserialize)]
    pub struct SmallConfigMap {
        /// Its metadata.
        #[serde(default)]
        pub metadata: SmallMeta,
        /// Its data.
        #[serde(default)]
        pub data: BTreeMap<String, String>,
    }

    /// CPU seconds (user + system) this process has used so far.
    pub fn cpu_seconds() -> f64 {
        // SAFETY: getrusage fills a plain-old-data struct for this process.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Milliseconds from the `sent` annotation (Unix ns, written by the harness) to now.
    pub fn latency_ms(sent: Option<&str>) -> Option<f64> {
        let sent: u128 = sent?.parse().ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some((now as f64 - sent as f64) / 1e6)
    }

    /// What a scale program tracks after its first complete view: which updated objects it has
    /// seen with this run's marker, and how long each took to arrive.
    #[derive(Debug)]
    pub struct Progress {
        marker: String,
        updates: usize,
        seen: std::collections::HashSet<String>,
        latencies: Vec<f64>,
    }

    impl Progress {
        /// Waits for `updates` objects annotated with `marker`.
        pub fn new(marker: &str, updates: usize) -> Progress {
            Progress {
                marker: marker.to_string(),
                updates,
                seen: std::collections::HashSet::with_capacity(updates),
                latencies: Vec::with_capacity(updates),
            }
        }

        /// Records an object seen (changed or reconciled); true once every update has been seen.
        pub fn observe(&mut self, name: &str, gen: Option<&str>, sent: Option<&str>) -> bool {
            if gen == Some(self.marker.as_str()) && !self.seen.contains(name) {
                self.seen.insert(name.to_string());
                if let Some(ms) = latency_ms(sent) {
                    self.latencies.push(ms);
                }
            }
            self.is_current()
        }

        /// Every update has been seen.
        pub fn is_current(&self) -> bool {
            self.seen.len() >= self.updates
        }

        /// The `current` line: CPU so far, and the median and 99th percentile write-to-seen latency.
        pub fn current_line(&mut self) -> String {
            self.latencies.sort_by(f64::total_cmp);
            let pick = |q: f64| {
                if self.latencies.is_empty() {
                    f64::NAN
                } else {
                    self.latencies[((self.latencies.len() - 1) as f64 * q).round() as usize]
                }
            };
            format!(
                "current cpu={:.4} p50_ms={:.2} p99_ms={:.2}",
                cpu_seconds(),
                pick(0.5),
                pick(0.99)
            )
        }
    }

    /// Prints one protocol line and flushes (the harness acts on it at once).
    pub fn say(line: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// The arguments of `<program> scale <kind> <namespace> <objects> <updates> <marker>`.
    #[derive(Debug, Clone)]
    pub struct Args {
        /// `watch`, `watch-small`, `metadata`, `controller`.
        pub kind: String,
        /// The namespace holding the objects.
        pub namespace: String,
        /// Objects in the namespace.
        pub objects: usize,
        /// Objects the harness updates once the view is complete.
        pub updates: usize,
        /// The value of the `GEN` annotation those updates set.
        pub marker: String,
    }

    impl Args {
        /// Parses the arguments after `scale`.
        pub fn parse(args: &[String]) -> Result<Args, String> {
            let [kind, namespace, objects, updates, marker] = args else {
                return Err(format!(
                    "usage: scale <kind> <namespace> <objects> <updates> <marker>, got {args:?}"
                ));
            };
            Ok(Args {
                kind: kind.clone(),
                namespace: namespace.clone(),
                objects: objects
                    .parse()
                    .map_err(|e| format!("objects {objects:?}: {e}"))?,
                updates: updates
                    .parse()
                    .map_err(|e| format!("updates {updates:?}: {e}"))?,
                marker: marker.clone(),
            })
        }
    }
}
