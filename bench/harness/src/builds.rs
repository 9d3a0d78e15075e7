//! Workloads 5 and 6: build cost. Cold `cargo build --release` of a minimal reader and cold
//! `cargo check` of a 100-endpoint crate, each in a fresh target directory (registry sources are
//! already downloaded, so no network time is counted), CPU from the rusage of cargo, which waits
//! for every rustc it starts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::measure::{self, Cost};

/// One Rust crate of the bench workspace to build.
pub struct Crate {
    /// The row label.
    pub label: &'static str,
    /// The package name.
    pub package: &'static str,
    /// `--features` to build it with (empty for none).
    pub features: &'static str,
}

impl Crate {
    /// `-p <package>` and its `--features`.
    fn args(&self) -> Vec<&'static str> {
        let mut args = vec!["-p", self.package];
        if !self.features.is_empty() {
            args.extend(["--features", self.features]);
        }
        args
    }

    /// A directory name for this crate and its features.
    fn slug(&self) -> String {
        if self.features.is_empty() {
            self.package.to_string()
        } else {
            format!("{}-{}", self.package, self.features)
        }
    }
}

fn cargo(bench: &Path, args: &[&str], target: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(bench)
        .args(args)
        .arg("--locked")
        .arg("--quiet")
        .arg("--target-dir")
        .arg(target)
        // Nothing from the caller's environment changes what is built.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_INCREMENTAL");
    command
}

/// A cold `cargo build --release -p <package>`: the cost and the stripped size of the binary (MB).
pub fn cold_release(bench: &Path, scratch: &Path, krate: &Crate) -> (Cost, f64) {
    let target = scratch.join(format!("cold-release-{}", krate.slug()));
    let _ = std::fs::remove_dir_all(&target);
    let mut args = vec!["build", "--release"];
    args.extend(krate.args());
    let (cost, _) = measure::run(&mut cargo(bench, &args, &target));
    let binary = target.join("release").join(krate.package);
    let size = stripped_size(&binary);
    let _ = std::fs::remove_dir_all(&target);
    (cost, size)
}

/// Size in MB (10^6 bytes) of `binary` once `strip`ped (a copy is stripped).
pub fn stripped_size(binary: &Path) -> f64 {
    let copy = binary.with_extension("stripped");
    std::fs::copy(binary, &copy).unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
    let status = Command::new("strip")
        .arg(&copy)
        .status()
        .expect("run strip");
    assert!(status.success(), "strip {}", copy.display());
    let size = std::fs::metadata(&copy).expect("stripped size").len() as f64 / 1e6;
    let _ = std::fs::remove_file(&copy);
    size
}

/// The target directory the macro-cost checks of `krate` use.
pub fn check_target(scratch: &Path, krate: &Crate) -> PathBuf {
    scratch.join(format!("check-{}", krate.slug()))
}

/// A cold `cargo check -p <package>` in a fresh target directory (kept for [`check_crate_only`]).
pub fn cold_check(bench: &Path, scratch: &Path, krate: &Crate) -> Cost {
    let target = check_target(scratch, krate);
    let _ = std::fs::remove_dir_all(&target);
    let mut args = vec!["check"];
    args.extend(krate.args());
    measure::run(&mut cargo(bench, &args, &target)).0
}

/// `cargo check -p <package>` of the crate alone (its dependencies already checked, no
/// incremental cache): what every edit of the crate costs.
pub fn check_crate_only(bench: &Path, scratch: &Path, krate: &Crate) -> Cost {
    let target = check_target(scratch, krate);
    let lib = bench.join(krate.package).join("src/lib.rs");
    let text = std::fs::read(&lib).expect("read lib.rs");
    std::fs::write(&lib, text).expect("touch lib.rs");
    let mut args = vec!["check"];
    args.extend(krate.args());
    let mut command = cargo(bench, &args, &target);
    command.env("CARGO_INCREMENTAL", "0");
    measure::run(&mut command).0
}
