//! `ListStream` against a real kube-apiserver: 2,000 ConfigMaps read 100 at a time arrive exactly
//! once each, the peak memory of the reading process grows by about a page (not the list), and
//! an expired `continue` token (a real etcd compaction) ends the stream with a 410 error.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use futures::{StreamExt, TryStreamExt};
use incluster::{Client, Method, Request};
use incluster_tests::controlplane::{configmap_rules, Admin, ControlPlane};
use incluster_tests::podfs::PodFs;
use serde_json::json;

/// A control plane whose ConfigMaps skip the watch cache, so that every read of them, `continue`
/// pages included, goes to etcd (and meets its compactions).
fn plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(|| {
        ControlPlane::dedicated("pagination", &["--watch-cache-sizes=configmaps#0"])
    })
}

/// Held by every test that pages through etcd or compacts it: a compaction by one test would
/// otherwise expire another test's `continue` token (the tests of this binary run in parallel on
/// one control plane).
static PAGING_OR_COMPACTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn pod_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("incluster-pages-{name}-{}", std::process::id()))
}

async fn pod(namespace: &str) -> PodFs {
    let admin = plane().admin();
    let id = admin
        .create_identity(namespace, "lister", configmap_rules())
        .await;
    let token = admin.mint_token(&id, None).await;
    PodFs::new(&pod_dir(namespace), &token, &plane().ca_pem, namespace)
}

fn client_in(pod: &PodFs) -> Client {
    let port = plane().port.to_string();
    Client::new(pod.config("127.0.0.1", &port)).unwrap()
}

/// Creates `count` ConfigMaps `cm-00000`… with `bytes` of data each, 16 requests at a time.
async fn create_configmaps(
    admin: &Admin,
    namespace: &str,
    count: usize,
    bytes: usize,
) -> BTreeSet<String> {
    let blob = "x".repeat(bytes);
    let path = format!("/api/v1/namespaces/{namespace}/configmaps");
    futures::stream::iter(0..count)
        .map(|i| {
            let (path, blob) = (&path, &blob);
            async move {
                let name = format!("cm-{i:05}");
                admin
                    .call(
                        "POST",
                        path,
                        Some(json!({"metadata": {"name": name}, "data": {"blob": blob}})),
                    )
                    .await;
                name
            }
        })
        .buffer_unordered(16)
        .collect()
        .await
}

/// Creates the ConfigMap `later` (etcd moves past any earlier list's snapshot), then compacts
/// etcd: a `continue` token of that list is expired from now on.
async fn write_past_the_snapshot_and_compact(admin: &Admin, namespace: &str) {
    admin
        .call(
            "POST",
            &format!("/api/v1/namespaces/{namespace}/configmaps"),
            Some(json!({"metadata": {"name": "later"}})),
        )
        .await;
    plane().compact_etcd().await;
}

struct Listing {
    names: Vec<String>,
    baseline_kib: u64,
    peak_kib: u64,
}

fn list_in_child(pod: &PodFs, namespace: &str, args: &[&str]) -> Listing {
    list_collection_in_child(pod, namespace, None, args)
}

/// [`list_in_child`] of the collection at `collection` (a path template) instead of ConfigMaps.
fn list_collection_in_child(
    pod: &PodFs,
    namespace: &str,
    collection: Option<&str>,
    args: &[&str],
) -> Listing {
    let mut command = plane().pod_command(env!("CARGO_BIN_EXE_list_pages"), pod);
    if let Some(collection) = collection {
        command.env("LIST_PAGES_COLLECTION", collection);
    }
    let output = command
        .arg(namespace)
        .args(args)
        .output()
        .expect("run list_pages");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "list_pages {args:?} failed:\n{}\n--- stderr ---\n{}",
        text.lines().rev().take(5).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in the output"))
    };
    Listing {
        names: text
            .lines()
            .filter_map(|l| l.strip_prefix("item "))
            .map(str::to_string)
            .collect(),
        baseline_kib: value("baseline_kib="),
        peak_kib: value("peak_kib="),
    }
}

#[tokio::test]
async fn two_thousand_objects_a_hundred_at_a_time_each_exactly_once_in_a_page_of_memory() {
    let _etcd = PAGING_OR_COMPACTING.lock().await;
    let namespace = "pages-2000";
    let pod = pod(namespace).await;
    // 2,000 × 8 KiB: a 16 MiB list, a 800 KiB page.
    let created = create_configmaps(&plane().admin(), namespace, 2000, 8 * 1024).await;

    let paged = list_in_child(&pod, namespace, &["stream", "100"]);
    assert_eq!(paged.names.len(), 2000, "every item once, no more");
    let unique: BTreeSet<String> = paged.names.iter().cloned().collect();
    assert_eq!(unique, created, "exactly the created ConfigMaps");

    let whole = list_in_child(&pod, namespace, &["whole"]);
    assert_eq!(whole.names.len(), 2000);

    let paged_growth = paged.peak_kib.saturating_sub(paged.baseline_kib);
    let whole_growth = whole.peak_kib.saturating_sub(whole.baseline_kib);
    println!(
        "peak RSS growth while listing 2,000 × 8 KiB ConfigMaps: limit=100 stream {paged_growth} KiB \
         (peak {} KiB), one response {whole_growth} KiB (peak {} KiB)",
        paged.peak_kib, whole.peak_kib
    );
    // The list is 16 MiB of data; one page is 800 KiB. Reading it whole costs at least the list,
    // but not the list twice: the body is released block by block as its items are decoded, so
    // the body and the decoded items are never both whole in memory (before, the response's
    // chunks, each holding a read buffer about twice its size, then a copy of them, then the
    // items: 32 MiB and more). The stream costs a few pages (body + decoded page + allocator
    // slack), far below the list.
    assert!(
        whole_growth > 16 * 1024,
        "the whole list should cost at least its size: {whole_growth} KiB"
    );
    assert!(
        whole_growth < 24 * 1024,
        "the whole list should cost about its size, not its body and its objects: {whole_growth} KiB"
    );
    assert!(
        paged_growth < 6 * 1024,
        "a paged list should cost about a page, not the list: {paged_growth} KiB"
    );
}

/// A list of custom resources has its keys sorted, `items` before `metadata` (the apiserver
/// writes unstructured lists so): its pages are still read item by item, each item exactly once.
#[tokio::test]
async fn custom_resources_listed_items_first_arrive_each_exactly_once_in_a_page_of_memory() {
    let _etcd = PAGING_OR_COMPACTING.lock().await;
    let admin = plane().admin();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "blobs.pages.incluster.dev"},
        "spec": {
            "group": "pages.incluster.dev",
            "scope": "Namespaced",
            "names": {"plural": "blobs", "singular": "blob", "kind": "Blob", "listKind": "BlobList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    });
    let (status, body) = admin
        .raw(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            Some(crd),
        )
        .await
        .expect("create the CRD");
    assert!(status == 201 || status == 409, "{status} {body}");
    let namespace = "pages-crd";
    let rules =
        json!([{"apiGroups": ["pages.incluster.dev"], "resources": ["blobs"], "verbs": ["list"]}]);
    let id = admin.create_identity(namespace, "lister", rules).await;
    let token = admin.mint_token(&id, None).await;
    let pod = PodFs::new(&pod_dir(namespace), &token, &plane().ca_pem, namespace);
    let collection = "/apis/pages.incluster.dev/v1/namespaces/{namespace}/blobs";
    let path = collection.replace("{namespace}", namespace);
    admin
        .wait_served(&path, std::time::Duration::from_secs(60))
        .await;
    let blob = "x".repeat(8 * 1024);
    let created: BTreeSet<String> = futures::stream::iter(0..1000)
        .map(|i| {
            let (admin, path, blob) = (&admin, &path, &blob);
            async move {
                let name = format!("blob-{i:05}");
                let object = json!({"apiVersion": "pages.incluster.dev/v1", "kind": "Blob", "metadata": {"name": name}, "data": {"blob": blob}});
                admin.call("POST", path, Some(object)).await;
                name
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;

    // The order on the wire: `items` first.
    let page = admin.text(&format!("{path}?limit=2")).await;
    let (items_at, metadata_at) = (
        page.find(r#""items":"#),
        page.find(r#""metadata":{"continue""#),
    );
    assert!(
        matches!((items_at, metadata_at), (Some(i), Some(m)) if i < m),
        "expected items before the list's metadata: {}",
        &page[..page.len().min(300)]
    );

    let paged = list_collection_in_child(&pod, namespace, Some(collection), &["stream", "100"]);
    assert_eq!(paged.names.len(), 1000, "every item once, no more");
    let unique: BTreeSet<String> = paged.names.iter().cloned().collect();
    assert_eq!(unique, created, "exactly the created objects");
    let whole = list_collection_in_child(&pod, namespace, Some(collection), &["whole"]);
    let paged_growth = paged.peak_kib.saturating_sub(paged.baseline_kib);
    let whole_growth = whole.peak_kib.saturating_sub(whole.baseline_kib);
    println!(
        "peak RSS growth while listing 1,000 × 8 KiB custom resources: limit=100 stream \
         {paged_growth} KiB, one response {whole_growth} KiB"
    );
    assert!(
        paged_growth < whole_growth / 2,
        "a paged list should cost about a page, not the list: {paged_growth} KiB (whole: {whole_growth} KiB)"
    );
}

#[tokio::test]
async fn an_expired_continue_token_ends_the_stream_with_a_gone_error() {
    let _etcd = PAGING_OR_COMPACTING.lock().await;
    let namespace = "pages-gone";
    let pod = pod(namespace).await;
    create_configmaps(&plane().admin(), namespace, 30, 16).await;
    let client = client_in(&pod);
    let request = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", namespace)
        .query("limit", &10)
        .build()
        .unwrap();
    let mut items = client
        .list_stream::<serde_json::Value>(request)
        .await
        .unwrap();
    assert!(!items.resource_version().is_empty());
    for _ in 0..10 {
        items.try_next().await.unwrap().expect("first page item");
    }
    // A write moves etcd past the list's snapshot; compacting then expires the token.
    write_past_the_snapshot_and_compact(&plane().admin(), namespace).await;
    let err = items.next().await.expect("an item").unwrap_err();
    assert!(err.is_gone(), "{err:?}");
    assert!(err.to_string().contains("410"), "{err}");
    assert!(
        items.next().await.is_none(),
        "the stream ends after the 410"
    );
}

#[tokio::test]
async fn a_list_the_service_account_may_not_read_fails_at_the_call() {
    let pod = pod("pages-forbidden").await;
    let request = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/secrets")
        .path_param("namespace", "pages-forbidden")
        .build()
        .unwrap();
    let err = client_in(&pod)
        .list_stream::<serde_json::Value>(request)
        .await
        .unwrap_err();
    assert!(err.is_forbidden(), "{err}");
}

#[tokio::test]
async fn an_empty_list_is_an_empty_stream() {
    let pod = pod("pages-empty").await;
    let request = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", "pages-empty")
        .build()
        .unwrap();
    let items: Vec<serde_json::Value> = client_in(&pod)
        .list_stream(request)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    // kube-root-ca.crt is published by a controller this control plane does not run.
    assert!(items.is_empty(), "{items:?}");
}

/// A Watcher's consumer slower than the compaction window: the watcher reads every page of its
/// list before handing out the first item, so a compaction while the consumer dawdles cannot
/// expire the list's `continue` token; the consumer gets the whole list and no re-list happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_consumer_slower_than_a_compaction_still_gets_the_whole_list() {
    let _etcd = PAGING_OR_COMPACTING.lock().await;
    use incluster::watcher::Event;
    let namespace = "pages-slow-consumer";
    let pod = pod(namespace).await;
    let admin = plane().admin();
    let names = create_configmaps(&admin, namespace, 60, 16).await;
    let request = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", namespace)
        .build()
        .unwrap();
    let mut watcher = incluster::Watcher::<serde_json::Value>::new(client_in(&pod), request)
        .streaming_list(false)
        .page_size(5);
    let stats = watcher.stats();
    assert!(matches!(watcher.next().await, Some(Ok(Event::Init))));
    let mut seen = BTreeSet::new();
    let mut compacted = false;
    loop {
        match watcher.next().await.expect("never ends").unwrap() {
            Event::InitApply(cm) => {
                seen.insert(cm["metadata"]["name"].as_str().unwrap().to_string());
                if !compacted {
                    // The consumer is slow: meanwhile the collection changes and etcd compacts.
                    write_past_the_snapshot_and_compact(&admin, namespace).await;
                    compacted = true;
                }
            }
            Event::InitDone => break,
            other => panic!("{other:?}"),
        }
    }
    let counts = stats.get();
    assert_eq!(seen, names, "the whole list, as of its snapshot");
    assert_eq!((counts.relists, counts.gone), (0, 0), "{counts:?}");
    assert_eq!(counts.list_pages, 12, "60 items in pages of 5: {counts:?}");
}
