//! The images the Pods run, built here (there is no registry) and imported into containerd.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

use super::{Host, EXAMPLES_IMAGE, KUBECTL_IMAGE, PAUSE_IMAGE};
use crate::controlplane::built_binary;

impl Host {
    /// `ctr` against the node's containerd, in the `k8s.io` namespace (the kubelet's).
    pub(super) fn ctr(&self, args: &[&str]) -> Output {
        Command::new(built_binary("ctr"))
            .arg("--address")
            .arg(self.containerd_socket())
            .args(["--namespace", "k8s.io"])
            .args(args)
            .output()
            .expect("run ctr")
    }

    pub(super) fn import_images(&self, pause: &Path, kubectl: &Path) {
        let dir = self.state.join("images");
        let examples = example_binaries();
        assert!(
            !examples.is_empty(),
            "no example-* binaries beside {}: build them (cargo build -p incluster-tests --bins)",
            std::env::current_exe().expect("current exe").display()
        );
        // No CA bundle in the image: in a Pod the only roots are the projected ca.crt, and the
        // proxy sidecar variant talks plain http to loopback, which needs none.
        let example_files: Vec<(PathBuf, String)> = examples
            .iter()
            .map(|(name, path)| (path.clone(), format!("usr/local/bin/{name}")))
            .collect();
        let images = [
            build_image(
                &dir,
                PAUSE_IMAGE,
                &[(pause.to_path_buf(), "pause".into())],
                &["/pause"],
            ),
            build_image(&dir, EXAMPLES_IMAGE, &example_files, &[]),
            build_image(
                &dir,
                KUBECTL_IMAGE,
                &[(kubectl.to_path_buf(), "usr/local/bin/kubectl".into())],
                &["/usr/local/bin/kubectl"],
            ),
        ];
        for tarball in images {
            let output = self.ctr(&["images", "import", &tarball.display().to_string()]);
            assert!(
                output.status.success(),
                "ctr images import {}: {}",
                tarball.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The `example-*` binaries cargo built beside this executable (`target/<profile>/`), as
/// (name without `example-`, path).
pub fn example_binaries() -> Vec<(String, PathBuf)> {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let short = name.strip_prefix("example-")?;
                    (!short.contains('.') && e.path().is_file())
                        .then(|| (short.to_string(), e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Writes a docker-archive image (one layer: `files`, each binary stripped of debug info and
/// with the shared libraries it links) named `name`; returns the tarball.
fn build_image(
    dir: &Path,
    name: &str,
    files: &[(PathBuf, String)],
    entrypoint: &[&str],
) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let work = dir.join(&slug);
    let rootfs = work.join("rootfs");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&rootfs).expect("image rootfs");
    let mut libraries = std::collections::BTreeSet::new();
    for (source, dest) in files {
        let target = rootfs.join(dest);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("image dir");
        let stripped = Command::new("strip")
            .stderr(Stdio::null())
            .arg("--strip-debug")
            .arg("-o")
            .arg(&target)
            .arg(source)
            .status()
            .is_ok_and(|s| s.success());
        if !stripped {
            std::fs::copy(source, &target).expect("copy into the image");
        }
        libraries.extend(shared_libraries(source));
    }
    for library in libraries {
        let target = rootfs.join(library.strip_prefix("/").expect("absolute library path"));
        std::fs::create_dir_all(target.parent().expect("parent")).expect("image lib dir");
        std::fs::copy(&library, &target).expect("copy a shared library into the image");
    }
    let tar = |args: &[&str], cwd: &Path| {
        let status = Command::new("tar")
            .args(args)
            .current_dir(cwd)
            .status()
            .expect("run tar");
        assert!(status.success(), "tar {args:?} failed");
    };
    tar(
        &[
            "--sort=name",
            "--owner=0",
            "--group=0",
            "--numeric-owner",
            "--mtime=@0",
            "-cf",
            "../layer.tar",
            ".",
        ],
        &rootfs,
    );
    let layer_digest = sha256_file(&work.join("layer.tar"));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let config = json!({
        "architecture": arch,
        "os": "linux",
        "config": {
            "Entrypoint": if entrypoint.is_empty() { Value::Null } else { json!(entrypoint) },
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    });
    std::fs::write(work.join("config.json"), config.to_string()).expect("image config");
    let manifest = json!([{
        "Config": "config.json",
        "RepoTags": [name],
        "Layers": ["layer.tar"],
    }]);
    std::fs::write(work.join("manifest.json"), manifest.to_string()).expect("image manifest");
    let tarball = dir.join(format!("{slug}.tar"));
    tar(
        &[
            "-cf",
            &tarball.display().to_string(),
            "manifest.json",
            "config.json",
            "layer.tar",
        ],
        &work,
    );
    let _ = std::fs::remove_dir_all(&work);
    tarball
}

/// The shared libraries a dynamically linked binary loads (its interpreter included), per ldd.
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd").arg(binary).output().expect("run ldd");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

fn sha256_file(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum output")
        .to_string()
}
