//! What the two incluster benchmark programs share: `client-incluster` (w1–w4, the workloads
//! measured against the hand-written floor) and `client-incluster-scale` (w7, w7m, w8 against
//! kube-rs and client-go). They are two binaries so that each carries only its own code: the
//! scale workloads' k8s-openapi types, controller and metadata watcher would otherwise sit in
//! the w1–w4 binary and count in its peak RSS (its touched code pages), which the floor's
//! binary does not carry.

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
