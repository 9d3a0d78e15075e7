//! Writes `macros/src/builtin_resources.rs` from the test control plane's discovery (what
//! `scripts/gen-builtin-resources` runs).

use incluster_tests::builtin_resources::{discover, release, render, TABLE_PATH};
use incluster_tests::controlplane::{repo_root, ControlPlane};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let plane = ControlPlane::shared();
    let admin = plane.admin();
    let table = discover(&admin).await;
    let source = render(&table, &release(&admin).await);
    let path = repo_root().join(TABLE_PATH);
    std::fs::write(&path, source).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
    let resources: usize = table
        .values()
        .flat_map(|v| v.values())
        .map(|r| r.len())
        .sum();
    eprintln!(
        "wrote {} ({} groups, {resources} resources across versions)",
        path.display(),
        table.len()
    );
}
