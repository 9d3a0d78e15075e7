//! End-to-end: generated clients in a simulated Pod against a real kube-apiserver.
//!
//! One control plane serves every test in this file (see `ControlPlane::shared`); each test works
//! in a namespace of its own.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use incluster_tests::certs::TestCa;
use incluster_tests::controlplane::{configmap_rules, ControlPlane, Identity};
use incluster_tests::podfs::PodFs;
use serde_json::json;

fn pod_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("incluster-pod-{name}-{}", std::process::id()))
}

/// Runs `pod_probe <args>` in the simulated Pod `pod` (kubelet env + service-account dir).
fn run_in_pod(plane: &ControlPlane, pod: &PodFs, args: &[&str]) -> Output {
    plane
        .pod_command(env!("CARGO_BIN_EXE_pod_probe"), pod)
        .args(args)
        .output()
        .expect("run pod_probe")
}

fn stdout(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "pod_probe failed:\n{text}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// The probe's observations: one JSON object per line of its output.
fn observations(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"))
        })
        .collect()
}

/// Asserts that the probe observed exactly `expected` (one whole observation).
fn assert_observed(out: &str, expected: serde_json::Value) {
    assert!(
        observations(out).contains(&expected),
        "missing {expected} in:\n{out}"
    );
}

async fn pod_for(plane: &ControlPlane, namespace: &str) -> (Identity, PodFs, String) {
    let admin = plane.admin();
    let id = admin
        .create_identity(namespace, "probe", configmap_rules())
        .await;
    let token = admin.mint_token(&id, None).await;
    let pod = PodFs::new(&pod_dir(namespace), &token, &plane.ca_pem, namespace);
    (id, pod, token)
}

#[tokio::test]
async fn the_seed_request_returns_api_versions() {
    let plane = ControlPlane::shared();
    let (_, pod, _) = pod_for(plane, "e2e-seed").await;
    let out = stdout(&run_in_pod(plane, &pod, &["api"]));
    let versions: serde_json::Value = serde_json::from_str(out.trim()).expect("APIVersions JSON");
    assert_eq!(versions["kind"], "APIVersions");
    assert_eq!(versions["versions"], json!(["v1"]));
    let addresses = versions["serverAddressByClientCIDRs"]
        .as_array()
        .expect("serverAddressByClientCIDRs");
    assert_eq!(
        addresses[0]["serverAddress"],
        format!("127.0.0.1:{}", plane.port)
    );
}

#[tokio::test]
async fn configmap_crud_in_the_service_accounts_namespace() {
    let plane = ControlPlane::shared();
    let (_, pod, token) = pod_for(plane, "e2e-crud").await;
    let output = run_in_pod(plane, &pod, &["crud"]);
    let out = stdout(&output);
    for expected in [
        json!({"created": "crud-a", "namespace": "e2e-crud"}),
        json!({"dry_run_name": "crud-dry"}),
        json!({"got": "crud-a", "greeting": "hello"}),
        json!({"listed": ["crud-a"]}),
        json!({"replaced_greeting": "bonjour"}),
        json!({"stale_replace_conflict": true}),
        json!({"merge_patched": "yes"}),
        json!({"applied": "yes"}),
        json!({"deleted_not_found": true}),
    ] {
        assert_observed(&out, expected);
    }
    // The dry-run create persisted nothing.
    let (status, _) = plane
        .admin()
        .raw(
            "GET",
            "/api/v1/namespaces/e2e-crud/configmaps/crud-dry",
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 404);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains(&token) && !out.contains(&token),
        "the token leaked into the output"
    );
}

#[tokio::test]
async fn a_verb_the_role_does_not_grant_is_forbidden() {
    let plane = ControlPlane::shared();
    let (_, pod, _) = pod_for(plane, "e2e-rbac").await;
    let out = stdout(&run_in_pod(plane, &pod, &["forbidden"]));
    assert_observed(
        &out,
        json!({"forbidden": true, "code": 403, "reason": "Forbidden"}),
    );
}

#[tokio::test]
async fn missing_objects_and_duplicate_names() {
    let plane = ControlPlane::shared();
    let (_, pod, _) = pod_for(plane, "e2e-errors").await;
    let out = stdout(&run_in_pod(plane, &pod, &["errors"]));
    assert_observed(&out, json!({"not_found": true, "code": 404}));
    assert_observed(&out, json!({"conflict": true, "reason": "AlreadyExists"}));
}

#[tokio::test]
async fn token_rotation_loses_no_request() {
    let plane = ControlPlane::shared();
    let admin = plane.admin();
    let id = admin
        .create_identity("e2e-rotation", "probe", configmap_rules())
        .await;
    admin
        .call(
            "POST",
            "/api/v1/namespaces/e2e-rotation/configmaps",
            Some(json!({"metadata": {"name": "probe"}})),
        )
        .await;
    admin
        .create_secret("e2e-rotation", "first-token-binding")
        .await;
    let first = admin.mint_token(&id, Some("first-token-binding")).await;
    let second = admin.mint_token(&id, None).await;
    let pod = PodFs::new(
        &pod_dir("e2e-rotation"),
        &first,
        &plane.ca_pem,
        "e2e-rotation",
    );

    let child = plane
        .pod_command(env!("CARGO_BIN_EXE_pod_probe"), &pod)
        .args(["loop", "25", "probe"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    tokio::time::sleep(Duration::from_secs(3)).await;
    pod.rotate_token(&second); // the kubelet's atomic ..data swap
    tokio::time::sleep(Duration::from_secs(1)).await;
    admin
        .delete_secret("e2e-rotation", "first-token-binding")
        .await; // the first token is now invalid
                // Prove the first token really is rejected now.
    let old = PodFs::temp(&first, &plane.ca_pem, "e2e-rotation");
    let probe = incluster::Client::new(old.config("127.0.0.1", &plane.port.to_string())).unwrap();
    // kube-apiserver caches a successful token authentication for 10 s, so allow 20 s.
    let mut rejected = false;
    for _ in 0..200 {
        let request = incluster::Request::builder(
            incluster::Method::GET,
            "/api/v1/namespaces/e2e-rotation/configmaps/probe",
        )
        .build()
        .unwrap();
        match probe.send_ignoring_body(request).await {
            Err(err) if err.is_unauthorized() => {
                rejected = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(
        rejected,
        "the first token was still accepted after its Secret was deleted"
    );

    let output = child.wait_with_output().unwrap();
    let out = stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = observations(&out)
        .into_iter()
        .find(|o| o.get("failed").is_some())
        .expect("the loop's summary");
    assert_eq!(
        summary["failed"], 0,
        "requests failed during rotation:\n{out}"
    );
    assert!(summary["ok"].as_u64().unwrap() > 0, "{out}");
    assert!(
        summary["token_rereads"].as_u64().unwrap() > 0,
        "the 401 retry path was not exercised:\n{out}\n{stderr}"
    );
    assert!(
        !stderr.contains(&first) && !stderr.contains(&second),
        "a token leaked into the logs"
    );
}

#[tokio::test]
async fn a_ca_crt_from_another_ca_is_refused_before_any_request() {
    let plane = ControlPlane::shared();
    let admin = plane.admin();
    let id = admin
        .create_identity("e2e-tls", "probe", configmap_rules())
        .await;
    let token = admin.mint_token(&id, None).await;
    let foreign = TestCa::new("some-other-cluster");
    let pod = PodFs::new(&pod_dir("e2e-tls"), &token, &foreign.cert_pem, "e2e-tls");
    let out = stdout(&run_in_pod(plane, &pod, &["tls"]));
    let tls = &observations(&out)[0]["tls_error"];
    assert_eq!(
        tls["server"],
        format!("https://127.0.0.1:{}", plane.port),
        "{out}"
    );
    assert_eq!(tls["unknown_issuer"], true, "{out}");
    assert!(tls["message"].as_str().unwrap().contains("ca.crt"), "{out}");
}

#[tokio::test]
async fn the_same_client_through_a_real_kubectl_proxy() {
    let plane = ControlPlane::shared();
    plane
        .admin()
        .call(
            "POST",
            "/api/v1/namespaces",
            Some(json!({"metadata": {"name": "e2e-proxy"}})),
        )
        .await;
    let (_proxy, url) = plane.kubectl_proxy();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_pod_probe"))
            .args(args)
            .env("INCLUSTER_PROXY", &url)
            .env("POD_NAMESPACE", "e2e-proxy")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap()
    };
    let out = stdout(&run(&["api"]));
    assert_eq!(observations(&out)[0]["kind"], "APIVersions");
    let out = stdout(&run(&["crud"]));
    assert_observed(&out, json!({"created": "crud-a", "namespace": "e2e-proxy"}));
    assert_observed(&out, json!({"deleted_not_found": true}));
}

#[tokio::test]
async fn a_watch_streams_added_modified_deleted() {
    let plane = ControlPlane::shared();
    let (_, pod, _) = pod_for(plane, "e2e-watch").await;
    let out = stdout(&run_in_pod(plane, &pod, &["watch"]));
    assert_eq!(
        observations(&out),
        [
            json!({"event": "ADDED", "name": "watched", "v": "1"}),
            json!({"event": "MODIFIED", "name": "watched", "v": "2"}),
            json!({"event": "DELETED", "name": "watched", "v": "2"}),
        ],
        "{out}"
    );
}
