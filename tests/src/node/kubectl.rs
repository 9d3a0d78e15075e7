//! What the tests do with a running node: the real kubectl as cluster admin, and waiting for Pods.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Node;
use crate::blocking::block_on;

impl Node {
    /// Runs the real kubectl as cluster admin (see [`ControlPlane::kubectl`](crate::controlplane::ControlPlane::kubectl)).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.plane.kubectl(args)
    }

    /// Runs the real kubectl as cluster admin; panics unless it succeeds; returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        self.plane.kubectl_ok(args)
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
