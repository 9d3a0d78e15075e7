//! Watch-event decoding throughput: incluster's `WatchStream` (line splitter + envelope decoder,
//! fed 16 KiB chunks) against raw `serde_json` decoding of the same lines into the same
//! `WatchEvent<T>`. Not a test; run in release:
//!
//! `cargo run --release -p incluster-tests --bin watch_decode_bench [events]`
//!
//! Prints events/s of each and the ratio (incluster / raw).

use std::collections::BTreeMap;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use incluster::WatchEvent;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct ConfigMap {
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Meta {
    name: String,
    namespace: String,
    #[serde(rename = "resourceVersion")]
    resource_version: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

fn body(events: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..events {
        let kind = ["ADDED", "MODIFIED", "DELETED"][i % 3];
        let line = serde_json::json!({
            "type": kind,
            "object": {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {
                    "name": format!("cm-{i}"), "namespace": "default", "resourceVersion": (1000 + i).to_string(),
                    "uid": "0b1c5e43-3d2c-4a57-9a36-2d1d0b8c9f10", "creationTimestamp": "2026-01-01T00:00:00Z",
                    "labels": {"app": "web", "tier": "frontend"},
                    "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:key": {}}}}]
                },
                "data": {"key": "x".repeat(512), "other": format!("value {i}")}
            }
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let body = body(events);
    let chunks: Vec<Bytes> = body.chunks(16 * 1024).map(Bytes::copy_from_slice).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let start = Instant::now();
        let mut raw = 0usize;
        for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let event: WatchEvent<ConfigMap> = serde_json::from_slice(line).unwrap();
            std::hint::black_box(&event);
            raw += 1;
        }
        best.0 = best.0.min(start.elapsed().as_secs_f64());
        assert_eq!(raw, events);

        let start = Instant::now();
        let ours = runtime.block_on(async {
            let mut stream =
                incluster::__private::watch_stream_from_chunks::<ConfigMap>(chunks.clone());
            let mut n = 0usize;
            while let Some(event) = stream.next().await {
                std::hint::black_box(&event.unwrap());
                n += 1;
            }
            n
        });
        best.1 = best.1.min(start.elapsed().as_secs_f64());
        assert_eq!(ours, events);
    }
    let (raw, ours) = (events as f64 / best.0, events as f64 / best.1);
    println!(
        "watch decoding, {events} events of {} bytes on average (best of 5):",
        body.len() / events
    );
    println!("  raw serde_json WatchEvent<T> per line: {raw:>12.0} events/s");
    println!("  incluster WatchStream<T> (16 KiB chunks): {ours:>9.0} events/s");
    println!("  ratio incluster / raw: {:.2}", ours / raw);
}
