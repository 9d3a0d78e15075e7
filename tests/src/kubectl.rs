//! The real kubectl (built with the control plane), as cluster admin of a control plane.

use std::path::Path;
use std::process::{Command, Output};

use crate::controlplane::{built_binary, ControlPlane};

impl ControlPlane {
    /// Runs the real kubectl as cluster admin.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(built_binary("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
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

    /// `kubectl apply -f <manifest>` as cluster admin; panics unless it succeeds; returns its stdout.
    pub fn kubectl_apply(&self, manifest: &Path) -> String {
        self.kubectl_ok(&["apply", "-f", &manifest.display().to_string()])
    }
}
