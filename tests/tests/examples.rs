//! The examples' own binaries and manifests against the real control plane: the RBAC in
//! `examples/deploy/*.yaml` applied with the real kubectl, the binaries run in a simulated Pod as
//! those ServiceAccounts.

use incluster_tests::controlplane::{repo_root, ControlPlane, Identity};
use incluster_tests::podfs::PodFs;
use serde_json::json;

async fn pod_as(plane: &ControlPlane, manifest: &str, service_account: &str) -> PodFs {
    // Both manifests create the same Namespace: apply one at a time.
    static APPLY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    {
        let _one_at_a_time = APPLY.lock().unwrap_or_else(|e| e.into_inner());
        plane.kubectl_apply(&repo_root().join("examples/deploy").join(manifest));
    }
    let id = Identity {
        namespace: "incluster-demo".into(),
        service_account: service_account.into(),
    };
    let token = plane.admin().mint_token(&id, None).await;
    let dir = std::env::temp_dir().join(format!(
        "incluster-example-{service_account}-{}",
        std::process::id()
    ));
    PodFs::new(&dir, &token, &plane.ca_pem, "incluster-demo")
}

fn run(plane: &ControlPlane, binary: &str, pod: &PodFs, args: &[&str]) -> (bool, String, String) {
    let output = plane
        .pod_command(binary, pod)
        .args(args)
        .env("POD_NAME", "heartbeat-7d9f")
        .output()
        .expect("run example");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn seed_example_prints_api_versions_and_its_namespace() {
    let plane = ControlPlane::shared();
    let pod = pod_as(plane, "seed.yaml", "seed").await;
    plane
        .admin()
        .call(
            "POST",
            "/api/v1/namespaces/incluster-demo/configmaps",
            Some(json!({"metadata": {"name": "app-settings"}, "data": {"color": "blue"}})),
        )
        .await;
    let (ok, out, err) = run(plane, env!("CARGO_BIN_EXE_example-seed"), &pod, &[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("\"kind\": \"APIVersions\"") && out.contains("serverAddressByClientCIDRs"),
        "{out}"
    );
    assert!(
        out.contains("app-settings") && out.contains("data keys: color"),
        "{out}"
    );
}

#[tokio::test]
async fn heartbeat_operator_applies_its_configmap_with_its_rbac() {
    let plane = ControlPlane::shared();
    let pod = pod_as(plane, "heartbeat.yaml", "heartbeat").await;
    for beat in 1..=2 {
        let (ok, out, err) = run(
            plane,
            env!("CARGO_BIN_EXE_example-heartbeat"),
            &pod,
            &["--once"],
        );
        assert!(
            ok && out.contains(&format!("now at beat {beat}")),
            "{out}{err}"
        );
    }
    let cm = plane
        .admin()
        .call(
            "GET",
            "/api/v1/namespaces/incluster-demo/configmaps/incluster-heartbeat",
            None,
        )
        .await;
    assert_eq!(cm["data"]["beats"], "2");
    assert_eq!(cm["data"]["pod"], "heartbeat-7d9f");
    assert_eq!(
        cm["metadata"]["managedFields"][0]["manager"],
        "incluster-heartbeat"
    );
}
