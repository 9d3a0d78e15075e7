//! Lists every ConfigMap of a namespace in a simulated Pod and reports its peak memory, for the
//! pagination test: `list_pages <namespace> stream <limit>` reads the list through a
//! `ListStream` (one page's body in memory at a time), `list_pages <namespace> whole` reads it as
//! one response. Prints `item <name>` per ConfigMap, then `baseline_kib=<VmHWM before the list>`
//! and `peak_kib=<VmHWM after>` (Linux `/proc/self/status`). `LIST_PAGES_COLLECTION`, if set, is
//! the path of another collection to list (e.g. custom resources with a `data` map).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use incluster::{Method, Request};
use serde::Deserialize;

#[derive(Deserialize)]
struct ConfigMap {
    metadata: Meta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
}

#[derive(Deserialize)]
struct List {
    items: Vec<ConfigMap>,
}

fn high_water_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (namespace, mode) = (args[0].clone(), args[1].as_str());
    let client = incluster_examples::client_from_env().expect("client");
    let collection = std::env::var("LIST_PAGES_COLLECTION")
        .unwrap_or_else(|_| "/api/v1/namespaces/{namespace}/configmaps".to_string());
    let list =
        || Request::builder(Method::GET, collection.clone()).path_param("namespace", &namespace);
    // Warm up: connection, TLS, allocator.
    let _: serde_json::Value = client
        .json(list().query("limit", &1).build().unwrap())
        .await
        .expect("warm-up list");
    let baseline = high_water_kib();
    let mut bytes = 0usize;
    match mode {
        "stream" => {
            let limit: u32 = args[2].parse().expect("limit");
            let request = list().query("limit", &limit).build().unwrap();
            let mut items = incluster::__private::list_stream::<ConfigMap>(&client, Ok(request))
                .await
                .expect("first page");
            while let Some(cm) = items.try_next().await.expect("next item") {
                bytes += cm.data.values().map(String::len).sum::<usize>();
                println!("item {}", cm.metadata.name);
            }
        }
        "whole" => {
            let all: List = client.json(list().build().unwrap()).await.expect("list");
            for cm in &all.items {
                bytes += cm.data.values().map(String::len).sum::<usize>();
                println!("item {}", cm.metadata.name);
            }
        }
        other => panic!("unknown mode {other}"),
    }
    println!("data_bytes={bytes}");
    println!("baseline_kib={baseline}");
    println!("peak_kib={}", high_water_kib());
}
