//! `./scripts/demo --node`: the seed example in a real Pod on a real node (see
//! `incluster_tests::node`). It starts the node, applies `examples/deploy/seed.yaml` and
//! `seed-pod.yaml` with the real kubectl, and prints the Pod's output as `kubectl logs` shows it.
//! The node is torn down when this process exits.

use std::time::Duration;

use incluster_tests::controlplane::repo_root;
use incluster_tests::node::{block_on, Node};
use serde_json::json;

fn main() {
    println!(
        "==> starting a real node: containerd + runc, kube-apiserver + etcd, controller-manager,"
    );
    println!("    scheduler, kubelet, kube-proxy (network namespace incluster-n{}; first run builds them)", std::process::id());
    let Some(node) = Node::shared() else {
        eprintln!("no node can be had here (see above); `./scripts/demo` without --node runs the seed beside a real kube-apiserver instead");
        std::process::exit(1);
    };
    println!(
        "    API server: {} (forwarded from the node's namespace); node {} Ready",
        node.plane.server, node.name
    );

    let deploy = repo_root().join("examples/deploy");
    println!("==> kubectl apply -f examples/deploy/seed.yaml");
    print!(
        "{}",
        indent(&node.plane.kubectl_apply(&deploy.join("seed.yaml")))
    );
    let admin = node.plane.admin();
    for (name, data) in [
        ("app-settings", json!({"color": "blue", "replicas": "3"})),
        ("feature-flags", json!({"new-ui": "on"})),
    ] {
        let path = format!("/api/v1/namespaces/incluster-demo/configmaps/{name}");
        let _ = block_on(admin.raw("DELETE", &path, None));
        block_on(admin.call(
            "POST",
            "/api/v1/namespaces/incluster-demo/configmaps",
            Some(json!({"metadata": {"name": name}, "data": data})),
        ));
    }
    node.kubectl_ok(&[
        "-n",
        "incluster-demo",
        "delete",
        "pod",
        "seed",
        "--ignore-not-found",
    ]);
    println!("==> kubectl apply -f examples/deploy/seed-pod.yaml (image incluster-examples:dev, imported into containerd)");
    print!(
        "{}",
        indent(&node.plane.kubectl_apply(&deploy.join("seed-pod.yaml")))
    );
    let pod = node.wait_pod_finished("incluster-demo", "seed", Duration::from_secs(300));
    println!(
        "    phase: {}",
        pod["status"]["phase"].as_str().unwrap_or("?")
    );
    println!("==> kubectl -n incluster-demo logs seed\n");
    print!("{}", node.logs("incluster-demo", "seed", "seed"));
    let service = block_on(admin.call(
        "GET",
        "/api/v1/namespaces/default/services/kubernetes",
        None,
    ));
    println!("\n==> what the kubelet gave the container");
    println!(
        "    KUBERNETES_SERVICE_HOST={} (the `kubernetes` Service's ClusterIP; kube-proxy routes it to the apiserver)",
        service["spec"]["clusterIP"].as_str().unwrap_or("?")
    );
    println!("    /var/run/secrets/kubernetes.io/serviceaccount/{{token,ca.crt,namespace}} (projected volume)");
    println!(
        "\n==> done; the node is torn down when this process exits (logs: {})",
        node.log_dir().display()
    );
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
