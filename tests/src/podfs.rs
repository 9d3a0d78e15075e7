//! A simulated Pod filesystem, laid out the way the kubelet lays out a projected
//! service-account volume: `token`, `ca.crt` and `namespace` are symlinks into `..data`, itself a
//! symlink to a timestamped directory that is swapped atomically on rotation.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A Pod's service-account directory and the environment the kubelet would give the container.
pub struct PodFs {
    dir: PathBuf,
    generation: AtomicUsize,
    ca_pem: String,
    namespace: String,
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
        };
        pod.write_generation(token);
        for name in ["token", "ca.crt", "namespace"] {
            symlink(Path::new("..data").join(name), dir.join(name)).expect("symlink");
        }
        pod
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
