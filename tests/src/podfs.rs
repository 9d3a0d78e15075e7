//! A simulated Pod filesystem, laid out the way the kubelet lays out a projected
//! service-account volume: `token`, `ca.crt` and `namespace` are symlinks into `..data`, itself a
//! symlink to a timestamped directory that is swapped atomically on rotation.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use incluster::{Client, Config, InClusterOptions};

use crate::testserver::TestServer;

/// A Pod's service-account directory and the environment the kubelet would give the container.
pub struct PodFs {
    dir: PathBuf,
    generation: AtomicUsize,
    ca_pem: String,
    namespace: String,
    _temp: Option<tempfile::TempDir>,
}

impl PodFs {
    /// Creates the directory `dir` with `token`, `ca.crt` and `namespace`.
    pub fn new(dir: &Path, token: &str, ca_pem: &str, namespace: &str) -> PodFs {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create pod dir");
        let pod = PodFs {
            dir: dir.to_path_buf(),
            generation: AtomicUsize::new(0),
            ca_pem: ca_pem.into(),
            namespace: namespace.into(),
            _temp: None,
        };
        pod.write_generation(token);
        for name in ["token", "ca.crt", "namespace"] {
            symlink(Path::new("..data").join(name), dir.join(name)).expect("symlink");
        }
        pod
    }

    /// A Pod directory in a fresh temporary directory, removed on drop.
    pub fn temp(token: &str, ca_pem: &str, namespace: &str) -> PodFs {
        let temp = tempfile::Builder::new()
            .prefix("incluster-pod-")
            .tempdir()
            .expect("temporary directory");
        let mut pod = PodFs::new(&temp.path().join("sa"), token, ca_pem, namespace);
        pod._temp = Some(temp);
        pod
    }

    /// The in-cluster configuration a container of this Pod would discover, with the service at
    /// `host`:`port` (what the kubelet puts in `KUBERNETES_SERVICE_HOST`/`_PORT_HTTPS`).
    pub fn config(&self, host: &str, port: &str) -> Config {
        Config::in_cluster_with(self.options(host, port)).expect("discover the simulated Pod")
    }

    /// What [`PodFs::config`] discovers from, for tests that expect discovery to fail.
    pub fn options(&self, host: &str, port: &str) -> InClusterOptions {
        let (host, port) = (host.to_string(), port.to_string());
        InClusterOptions::new()
            .dir(&self.dir)
            .env(move |name| match name {
                "KUBERNETES_SERVICE_HOST" => Some(host.clone()),
                "KUBERNETES_SERVICE_PORT_HTTPS" => Some(port.clone()),
                _ => None,
            })
    }

    /// A client for a test server on 127.0.0.1, with the default settings.
    pub fn client(&self, server: &TestServer) -> Client {
        Client::new(self.config("127.0.0.1", &server.port())).expect("client")
    }

    /// Replaces one file of the current generation with a FIFO (a hostile or broken mount: an
    /// `open()` for reading would block until a writer comes).
    pub fn replace_with_fifo(&self, name: &str) {
        let path = self.dir.join("..data").join(name);
        std::fs::remove_file(&path).expect("remove file");
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(status.success(), "mkfifo {}", path.display());
    }

    /// Overwrites one file of the current generation in place (not the kubelet's atomic way):
    /// for garbage, partial writes and odd files.
    pub fn write_file(&self, name: &str, contents: impl AsRef<[u8]>) {
        std::fs::write(self.dir.join(name), contents).expect("write file");
    }

    /// The directory to pass to `Config::in_cluster_at`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Rotates the token as the kubelet does: new timestamped directory, then an atomic rename of
    /// the `..data` symlink.
    pub fn rotate_token(&self, token: &str) {
        let old = std::fs::read_link(self.dir.join("..data")).ok();
        self.write_generation(token);
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(self.dir.join(old));
        }
    }

    /// Replaces `ca.crt` (with an atomic swap, like a token rotation).
    pub fn rotate_ca(&mut self, ca_pem: &str) {
        self.ca_pem = ca_pem.into();
        let token = std::fs::read_to_string(self.dir.join("token")).expect("read token");
        self.rotate_token(&token);
    }

    fn write_generation(&self, token: &str) {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst);
        let name = format!("..2026_11_28_00_00_{generation:02}.{}", std::process::id());
        let data = self.dir.join(&name);
        std::fs::create_dir_all(&data).expect("create data dir");
        std::fs::write(data.join("token"), token).expect("write token");
        std::fs::write(data.join("ca.crt"), &self.ca_pem).expect("write ca.crt");
        std::fs::write(data.join("namespace"), &self.namespace).expect("write namespace");
        let tmp = self.dir.join("..data_tmp");
        let _ = std::fs::remove_file(&tmp);
        symlink(&name, &tmp).expect("symlink ..data_tmp");
        std::fs::rename(&tmp, self.dir.join("..data")).expect("swap ..data");
    }
}

impl Drop for PodFs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
