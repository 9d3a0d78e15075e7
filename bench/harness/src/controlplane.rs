//! The real kube-apiserver (+ embedded etcd) of the test suite, built by scripts/build-controlplane:
//! started once for the apiserver workload, with 10 small ConfigMaps to read.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;

use crate::fixtures;

/// A running control plane; it exits when this is dropped (its standard input closes).
pub struct ControlPlane {
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// The secure port.
    pub port: u16,
    /// The CA of the serving certificate.
    pub ca_pem: String,
    /// A `system:masters` token.
    pub token: String,
    _process: (Child, ChildStdin),
}

impl ControlPlane {
    /// Starts `binary` with its state under `dir` and waits until it serves.
    pub fn start(binary: &Path, dir: &Path, log: &Path) -> ControlPlane {
        let _ = std::fs::remove_dir_all(dir);
        let log = std::fs::File::create(log).expect("control plane log");
        let mut child = Command::new(binary)
            .arg("--dir")
            .arg(dir)
            .arg("--remove-on-exit")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", binary.display()));
        let stdin = child.stdin.take().expect("stdin");
        let deadline = Instant::now() + Duration::from_secs(180);
        let info: Value = loop {
            if let Ok(text) = std::fs::read_to_string(dir.join("cluster.json")) {
                if let Ok(info) = serde_json::from_str(&text) {
                    break info;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the control plane exited with {status}");
            }
            assert!(Instant::now() < deadline, "no cluster.json within 180 s");
            std::thread::sleep(Duration::from_millis(100));
        };
        let text = |key: &str| info[key].as_str().expect(key).to_string();
        ControlPlane {
            server: text("server"),
            port: info["port"].as_u64().expect("port") as u16,
            ca_pem: std::fs::read_to_string(text("caFile")).expect("ca.crt"),
            token: std::fs::read_to_string(text("adminTokenFile"))
                .expect("admin token")
                .trim()
                .to_string(),
            _process: (child, stdin),
        }
    }

    /// An admin HTTP client (HTTP/2 where negotiated) that trusts the control plane's CA.
    pub fn http(&self) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("CA root");
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .no_proxy()
            .build()
            .expect("admin client")
    }

    /// Waits for `/readyz` and creates `bench-0` … `bench-9` in `default`.
    pub async fn prepare(&self) {
        let http = self.http();
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let ready = http
                .get(format!("{}/readyz", self.server))
                .bearer_auth(&self.token)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "kube-apiserver not ready in 180 s"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for (i, name) in fixtures::small_names().iter().enumerate() {
            let mut body = fixtures::configmap(name, i);
            let meta = body["metadata"].as_object_mut().expect("metadata");
            for key in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "managedFields",
            ] {
                meta.remove(key);
            }
            loop {
                let response = http
                    .post(format!(
                        "{}/api/v1/namespaces/default/configmaps",
                        self.server
                    ))
                    .bearer_auth(&self.token)
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .expect("create ConfigMap");
                match response.status().as_u16() {
                    201 | 409 => break,
                    // The default namespace appears a moment after /readyz on a fresh etcd.
                    404 | 403 | 500 | 503 if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(250)).await
                    }
                    status => panic!(
                        "create {name}: {status} {}",
                        response.text().await.unwrap_or_default()
                    ),
                }
            }
        }
    }
}

/// The control plane binary, from `scripts/build-controlplane` (which builds it when its cache
/// under `${XDG_CACHE_HOME:-~/.cache}/incluster/` is missing or stale, waits for a build already
/// running, and prints the directory). `BENCH_CONTROLPLANE_DIR` names the directory instead.
pub fn locate(repo: &Path) -> Result<PathBuf, String> {
    let dir = match std::env::var_os("BENCH_CONTROLPLANE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let script = repo.join("scripts/build-controlplane");
            let output = Command::new(&script)
                .stderr(Stdio::inherit())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if !output.status.success() {
                return Err(format!(
                    "{} failed ({}); its messages are above",
                    script.display(),
                    output.status
                ));
            }
            let stdout = String::from_utf8_lossy(&output.stdout);
            let dir = stdout.lines().last().unwrap_or_default().trim();
            if dir.is_empty() {
                return Err(format!("{} printed no directory", script.display()));
            }
            PathBuf::from(dir)
        }
    };
    let binary = dir.join("controlplane");
    if !binary.is_file() {
        return Err(format!(
            "{} is missing (from scripts/build-controlplane or BENCH_CONTROLPLANE_DIR)",
            binary.display()
        ));
    }
    Ok(binary)
}
