//! The data the local server answers with: ConfigMaps shaped as kube-apiserver returns them
//! (metadata with uid, resourceVersion, labels and managedFields), generated deterministically.

use serde_json::{json, Value};

/// The ConfigMap number `i`, named `name`.
pub fn configmap(name: &str, i: usize) -> Value {
    json!({
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": format!("5c8e{i:04x}-1f2a-4b6c-9d0e-{:012x}", i * 7919),
            "resourceVersion": (1000 + i).to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "bench", "tier": format!("t{}", i % 4)},
            "managedFields": [{
                "manager": "bench",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:data": {".": {}, "f:config.yaml": {}, "f:mode": {}},
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:tier": {}}}
                }
            }]
        },
        "data": {
            "config.yaml": format!("replicas: {}\nlevel: info\nendpoint: http://svc-{i}.default:8080\n", i % 7),
            "mode": if i.is_multiple_of(2) { "fast" } else { "safe" }
        }
    })
}

/// The ConfigMaps the GET workloads read: `bench-0` … `bench-9`.
pub fn small_names() -> Vec<String> {
    (0..10).map(|i| format!("bench-{i}")).collect()
}

/// A ConfigMapList of `items` (already serialized) with an optional continue token.
pub fn list_body(items: &[String], continue_token: Option<&str>) -> Vec<u8> {
    let mut body = String::from(
        r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"99999""#,
    );
    if let Some(token) = continue_token {
        body.push_str(&format!(r#","continue":"{token}""#));
    }
    body.push_str(r#"},"items":["#);
    body.push_str(&items.join(","));
    body.push_str("]}");
    body.into_bytes()
}

/// `events` watch lines (ADDED, then MODIFIED), newline-delimited, as a watch response body.
pub fn watch_stream(events: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(events * 900);
    for i in 0..events {
        let kind = if i < events / 10 { "ADDED" } else { "MODIFIED" };
        // `type` first, as kube-apiserver writes it (`json!` would sort `object` before it).
        out.extend_from_slice(format!(r#"{{"type":"{kind}","object":"#).as_bytes());
        let object = configmap(&format!("cm-{:05}", i % 5000), i);
        serde_json::to_writer(&mut out, &object).expect("serialize event");
        out.extend_from_slice(b"}\n");
    }
    out
}
