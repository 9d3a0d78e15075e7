//! What the incluster benchmark programs share: `client-incluster` (w1–w4, the workloads
//! measured against the hand-written floor), `client-incluster-watcher` (w4's `Watcher` rows)
//! and `client-incluster-scale` (w7, w7m, w8 against kube-rs and client-go). They are separate
//! binaries so that each carries only its own code: a program's peak RSS counts its whole
//! binary's code, used or not (the kernel maps file pages around each fault, 64 KiB at a time,
//! so nearly every page of a small binary's text is resident), and the floor's binary carries
//! neither a `Watcher`, nor k8s-openapi types, a controller or a metadata watcher.

pub mod scale;

/// The client configuration the harness describes in the environment.
pub fn config() -> incluster::Result<incluster::Config> {
    let server = std::env::var("BENCH_SERVER").expect("BENCH_SERVER");
    if server.starts_with("http://") {
        incluster::Config::proxy(&server)
    } else {
        // KUBERNETES_SERVICE_HOST/PORT_HTTPS come from the harness, as a kubelet sets them.
        incluster::Config::in_cluster_at(std::env::var("BENCH_SA_DIR").expect("BENCH_SA_DIR"))
    }
}
