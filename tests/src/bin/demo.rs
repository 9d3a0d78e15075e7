//! The demo (README's first command): starts the real control plane, sets up the seed example's
//! ServiceAccount from `examples/deploy/seed.yaml`, and runs the seed example inside a simulated
//! Pod — then once more beside a real `kubectl proxy`, the seed's sidecar pattern.

use std::process::Command;

use incluster_tests::controlplane::{repo_root, ControlPlane, Identity};
use incluster_tests::podfs::PodFs;
use serde_json::json;

#[tokio::main]
async fn main() {
    let seed = std::env::current_exe()
        .expect("current exe")
        .with_file_name("example-seed");
    assert!(
        seed.exists(),
        "{} is missing: run `cargo build -p incluster-tests --bins` (scripts/demo does)",
        seed.display()
    );

    println!("==> starting kube-apiserver + etcd on 127.0.0.1 (tests/controlplane)");
    let plane = ControlPlane::shared();
    println!("    API server: {}", plane.server);

    println!("==> kubectl apply -f examples/deploy/seed.yaml (Namespace, ServiceAccount and the RBAC derived from the seed's code)");
    print!(
        "{}",
        indent(&plane.kubectl_apply(&repo_root().join("examples/deploy/seed.yaml")))
    );
    let admin = plane.admin();
    for (name, data) in [
        ("app-settings", json!({"color": "blue", "replicas": "3"})),
        ("feature-flags", json!({"new-ui": "on"})),
    ] {
        admin
            .call(
                "POST",
                "/api/v1/namespaces/incluster-demo/configmaps",
                Some(json!({"metadata": {"name": name}, "data": data})),
            )
            .await;
    }

    println!("==> minting the ServiceAccount's token (TokenRequest API) into a kubelet-style Pod directory");
    let id = Identity {
        namespace: "incluster-demo".into(),
        service_account: "seed".into(),
    };
    let token = admin.mint_token(&id, None).await;
    let pod = PodFs::new(
        &std::env::temp_dir().join(format!("incluster-demo-pod-{}", std::process::id())),
        &token,
        &plane.ca_pem,
        "incluster-demo",
    );
    println!("    {}/{{token,ca.crt,namespace}}", pod.dir().display());
    for (name, value) in plane.pod_env() {
        println!("    {name}={value}");
    }

    println!("==> running the seed example inside the simulated Pod\n");
    let status = plane
        .pod_command(&seed, &pod)
        .status()
        .expect("run the seed example");
    assert!(status.success(), "the seed example failed");

    println!("\n==> the same program beside a real `kubectl proxy` (the seed's sidecar pattern)");
    let (_proxy, url) = plane.kubectl_proxy();
    println!("    INCLUSTER_PROXY={url}\n");
    let status = Command::new(&seed)
        .env("INCLUSTER_PROXY", &url)
        .env("POD_NAMESPACE", "incluster-demo")
        .status()
        .expect("run the seed example");
    assert!(
        status.success(),
        "the seed example failed through kubectl proxy"
    );
    println!("\n==> done; the control plane stops with this process");
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}
