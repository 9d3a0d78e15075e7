//! The watcher against a real kube-apiserver: no lost events through cut connections, server
//! timeouts and a real `410 Gone` (etcd compaction while the watcher is disconnected); bookmarks;
//! the streaming list, and its fallback to list + watch on a server that refuses it.
//!
//! The control planes here are dedicated ones: ConfigMaps skip the watch cache
//! (`--watch-cache-sizes=configmaps#0`) so that their watches read etcd and meet its compactions
//! (a real 410); Secrets keep the watch cache, which sends bookmarks. A second control plane runs
//! with `--feature-gates=WatchList=false`, as a server that refuses streaming lists.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use incluster::watcher::{Event, Store};
use incluster::{Client, Method, Request, Watcher};
use incluster_tests::controlplane::{Admin, ControlPlane};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use incluster_tests::view::{self, store_view, Object, View};
use serde::Deserialize;
use serde_json::json;

fn plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(|| ControlPlane::dedicated("watcher", &["--watch-cache-sizes=configmaps#0"]))
}

fn refusing_plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(|| {
        ControlPlane::dedicated("watcher-nowatchlist", &["--feature-gates=WatchList=false"])
    })
}

fn pod_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("incluster-watcher-{name}-{}", std::process::id()))
}

/// A simulated Pod allowed to read and watch ConfigMaps and Secrets in `namespace`, talking to
/// the API server on `port` (the relay's, or the server's own).
async fn pod(plane: &ControlPlane, namespace: &str) -> PodFs {
    let admin = plane.admin();
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}]);
    let id = admin.create_identity(namespace, "watcher", rules).await;
    let token = admin.mint_token(&id, None).await;
    PodFs::new(&pod_dir(namespace), &token, &plane.ca_pem, namespace)
}

fn client(pod: &PodFs, port: u16) -> Client {
    let port = port.to_string();
    Client::new(pod.config("127.0.0.1", &port)).unwrap()
}

fn list_request(namespace: &str, resource: &'static str) -> Request {
    let template = match resource {
        "configmaps" => "/api/v1/namespaces/{namespace}/configmaps",
        _ => "/api/v1/namespaces/{namespace}/secrets",
    };
    Request::builder(Method::GET, template)
        .path_param("namespace", namespace)
        .build()
        .unwrap()
}

/// What a consumer of the watcher saw.
#[derive(Default)]
struct Seen {
    view: View,
    inits: usize,
    init_dones: usize,
    vanished: usize,
    errors: Vec<String>,
}

/// Consumes `watcher` in a task: keeps a view exactly as a reconciler would from the events.
fn consume(watcher: Watcher<Object>) -> (Arc<Mutex<Seen>>, tokio::task::JoinHandle<()>) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let shared = seen.clone();
    let task = tokio::spawn({
        async move {
            let mut watcher = watcher;
            let mut building: Option<View> = None;
            while let Some(event) = watcher.next().await {
                let mut seen = shared.lock().unwrap();
                match event {
                    Ok(Event::Init) => {
                        seen.inits += 1;
                        building = Some(View::new());
                    }
                    Ok(Event::InitApply(o)) => {
                        building
                            .as_mut()
                            .expect("InitApply after Init")
                            .insert(o.metadata.name, o.metadata.resource_version);
                    }
                    Ok(Event::InitDone) => {
                        seen.init_dones += 1;
                        seen.view = building.take().expect("InitDone after Init");
                    }
                    Ok(Event::Apply(o)) => {
                        assert!(building.is_none(), "Apply during an initial list");
                        seen.view
                            .insert(o.metadata.name, o.metadata.resource_version);
                    }
                    Ok(Event::Delete(o)) => {
                        seen.view.remove(&o.metadata.name);
                    }
                    Ok(Event::Vanished(gone)) => {
                        // The view built for this re-list does not hold it either.
                        assert!(building.is_some(), "Vanished outside a re-list");
                        assert!(seen.view.contains_key(&gone.name), "{gone} was never seen");
                        seen.vanished += 1;
                    }
                    Err(err) => seen.errors.push(err.to_string()),
                }
            }
        }
    });
    (seen, task)
}

async fn fresh_list(admin: &Admin, namespace: &str, resource: &str) -> View {
    view::fresh_list(admin, &format!("/api/v1/namespaces/{namespace}/{resource}")).await
}

/// Waits until the consumer's view and the store equal a fresh list (the watch may lag the
/// last writes by a moment); a generous deadline only turns a hang into a failure.
async fn converge(
    admin: &Admin,
    namespace: &str,
    resource: &str,
    seen: &Mutex<Seen>,
    store: &Store<Object>,
) -> View {
    let mut last = (View::new(), View::new(), View::new());
    for _ in 0..600 {
        let expected = fresh_list(admin, namespace, resource).await;
        let view = seen.lock().unwrap().view.clone();
        let stored = store_view(store);
        if view == expected && stored == expected {
            return expected;
        }
        last = (expected, view, stored);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (expected, view, stored) = last;
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| view.get(*k) != Some(v))
        .collect();
    let extra: Vec<_> = view
        .iter()
        .filter(|(k, v)| expected.get(*k) != Some(v))
        .collect();
    panic!(
        "{resource}: the watcher's view never matched a fresh list: {} expected, {} seen, {} stored; \
         missing or stale {missing:?}; extra {extra:?}",
        expected.len(),
        view.len(),
        stored.len()
    );
}

/// One of 1,000 mutations on a pool of 60 names: create if absent, else update or delete.
async fn mutate(
    admin: &Admin,
    namespace: &str,
    resource: &str,
    step: usize,
    live: &mut BTreeMap<String, bool>,
) {
    let name = format!("obj-{:02}", (step * 7919) % 60);
    let base = format!("/api/v1/namespaces/{namespace}/{resource}");
    let exists = live.get(&name).copied().unwrap_or(false);
    // Secrets take base64 in `data`; `stringData` takes text.
    let field = if resource == "secrets" {
        "stringData"
    } else {
        "data"
    };
    let data = json!({"step": step.to_string()});
    if !exists {
        admin
            .call(
                "POST",
                &base,
                Some(json!({"metadata": {"name": name}, field: data})),
            )
            .await;
        live.insert(name, true);
    } else if step.is_multiple_of(3) {
        admin.call("DELETE", &format!("{base}/{name}"), None).await;
        live.insert(name, false);
    } else {
        admin
            .call(
                "PUT",
                &format!("{base}/{name}"),
                Some(json!({"metadata": {"name": name}, field: data})),
            )
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_mutations_through_cut_connections_and_a_real_410_lose_nothing() {
    let plane = plane();
    let namespace = "watch-1000";
    let pod = pod(plane, namespace).await;
    let admin = plane.admin();
    let relay = Relay::start(plane.port).await;
    let client = client(&pod, relay.port);

    // ConfigMaps: read from etcd (compaction → 410). Secrets: through the watch cache (bookmarks).
    // Short server timeouts (5 s, 8 s), so watches also end and resume on their own.
    let configmaps = Watcher::<Object>::new(client.clone(), list_request(namespace, "configmaps"))
        .server_timeout(Duration::from_secs(5))
        .page_size(10);
    let cm_store = configmaps.store();
    let cm_stats = configmaps.stats();
    let secrets = Watcher::<Object>::new(client.clone(), list_request(namespace, "secrets"))
        .server_timeout(Duration::from_secs(8))
        .page_size(10);
    let secret_store = secrets.store();
    let secret_stats = secrets.stats();
    let (cm_seen, cm_task) = consume(configmaps);
    let (secret_seen, secret_task) = consume(secrets);
    cm_store.wait_ready().await;
    secret_store.wait_ready().await;

    let (mut live_cm, mut live_secret) = (BTreeMap::new(), BTreeMap::new());
    let (mut compactions, mut cuts) = (0, 0);
    for step in 0..1000 {
        mutate(&admin, namespace, "configmaps", step, &mut live_cm).await;
        if step.is_multiple_of(2) {
            mutate(&admin, namespace, "secrets", step, &mut live_secret).await;
        }
        if step % 97 == 50 {
            // A dropped connection: every watch and list in flight dies mid-stream.
            relay.close_all();
            cuts += 1;
        }
        if step == 300 || step == 700 {
            // The watcher is away while objects change and etcd compacts its history: when it
            // comes back, its resourceVersion is gone (410) and it must re-list.
            relay.set_mode(Mode::Close).await;
            for extra in 0..20 {
                mutate(
                    &admin,
                    namespace,
                    "configmaps",
                    5000 + step + extra,
                    &mut live_cm,
                )
                .await;
            }
            plane.compact_etcd().await;
            compactions += 1;
            relay.set_mode(Mode::Forward).await;
        }
        if step == 250 || step == 650 {
            // A quiet spell longer than the server timeouts: the watches end and resume, and
            // the Secrets watch (8 s) gets the bookmark the watch cache sends 2 s before its
            // deadline, and resumes from the bookmark's version.
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    }

    let cms = converge(&admin, namespace, "configmaps", &cm_seen, &cm_store).await;
    let secrets = converge(&admin, namespace, "secrets", &secret_seen, &secret_store).await;
    cm_task.abort();
    secret_task.abort();

    let cm = cm_seen.lock().unwrap();
    let secret = secret_seen.lock().unwrap();
    let (cm_counts, secret_counts) = (cm_stats.get(), secret_stats.get());
    eprintln!(
        "WATCHER {}",
        json!({
            "configmaps": cms.len(), "configmap_inits": cm.inits, "configmap_errors": cm.errors.len(),
            "configmap_vanished": cm.vanished,
            "secrets": secrets.len(), "secret_inits": secret.inits, "cuts": cuts, "compactions": compactions,
            "configmap_watcher": format!("{cm_counts:?}"), "secret_watcher": format!("{secret_counts:?}"),
        })
    );
    assert!(!cms.is_empty() && !secrets.is_empty());
    assert!(
        cm.inits >= 2 && cm_counts.relists >= 1,
        "a real 410 must have made the ConfigMap watcher re-list: {} inits, {cm_counts:?}",
        cm.inits
    );
    assert!(cm_counts.gone >= 1, "no 410 counted: {cm_counts:?}");
    // Bookmarks: each streaming (re)list ends with the `k8s.io/initial-events-end` bookmark the
    // watcher resumes from; the watch cache's periodic bookmarks depend on timing.
    // (A cut during a streaming list's initial events makes the next list a paginated one.)
    assert!(
        cm_counts.lists_completed >= 2
            && cm_counts.streaming_lists_completed >= 1
            && secret_counts.streaming_lists_completed >= 1,
        "initial-events-end bookmarks not seen: {cm_counts:?} {secret_counts:?}"
    );
    assert!(
        cm_counts.watches + secret_counts.watches >= 1,
        "no watch resumed after a server-side timeout: {cm_counts:?} {secret_counts:?}"
    );
    // Cut connections are reported as errors (then retried), never silently lost.
    assert!(
        cm.errors.iter().all(|e| !e.contains("410")),
        "a 410 is handled, not yielded: {:?}",
        cm.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streaming_list_against_the_real_server() {
    let plane = plane();
    let namespace = "watch-streaming";
    let pod = pod(plane, namespace).await;
    let admin = plane.admin();
    let mut live = BTreeMap::new();
    for step in 0..25 {
        mutate(&admin, namespace, "secrets", step, &mut live).await;
    }
    let client = client(&pod, plane.port);
    let watcher = Watcher::<Object>::new(client, list_request(namespace, "secrets"));
    let store = watcher.store();
    let stats = watcher.stats();
    let (seen, task) = consume(watcher);
    store.wait_ready().await;
    for step in 25..60 {
        mutate(&admin, namespace, "secrets", step, &mut live).await;
    }
    converge(&admin, namespace, "secrets", &seen, &store).await;
    task.abort();
    let counts = stats.get();
    assert_eq!(counts.streaming_lists_completed, 1, "{counts:?}");
    assert_eq!(
        counts.list_pages, 0,
        "no paginated list was needed: {counts:?}"
    );
    assert_eq!(counts.streaming_list_refusals, 0, "{counts:?}");
    assert_eq!(seen.lock().unwrap().inits, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_refuses_streaming_lists_gets_list_and_watch() {
    let plane = refusing_plane();
    let namespace = "watch-fallback";
    let pod = pod(plane, namespace).await;
    let admin = plane.admin();
    let mut live = BTreeMap::new();
    for step in 0..40 {
        mutate(&admin, namespace, "configmaps", step, &mut live).await;
    }
    let client = client(&pod, plane.port);
    let watcher =
        Watcher::<Object>::new(client, list_request(namespace, "configmaps")).page_size(7);
    let store = watcher.store();
    let stats = watcher.stats();
    let (seen, task) = consume(watcher);
    store.wait_ready().await;
    for step in 40..80 {
        mutate(&admin, namespace, "configmaps", step, &mut live).await;
    }
    converge(&admin, namespace, "configmaps", &seen, &store).await;
    task.abort();
    let counts = stats.get();
    assert_eq!(counts.streaming_list_refusals, 1, "{counts:?}");
    assert!(counts.list_pages >= 3, "pages of 7: {counts:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.inits, 1);
    assert!(
        seen.errors.is_empty(),
        "the refusal is handled, not yielded: {:?}",
        seen.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_watch_is_yielded_as_a_clear_error_and_retried() {
    let plane = plane();
    let namespace = "watch-forbidden";
    let pod = pod(plane, namespace).await;
    let client = client(&pod, plane.port);
    let list = Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/pods")
        .path_param("namespace", namespace)
        .build()
        .unwrap();
    let mut watcher = Watcher::<Object>::new(client, list);
    for _ in 0..2 {
        let err = watcher.next().await.expect("never ends").unwrap_err();
        assert!(err.is_forbidden(), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_that_does_not_decode_is_an_error_and_the_watch_goes_on() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        data: BTreeMap<String, u32>,
    }
    let plane = plane();
    let namespace = "watch-decode";
    let pod = pod(plane, namespace).await;
    let admin = plane.admin();
    let base = format!("/api/v1/namespaces/{namespace}/configmaps");
    admin
        .call(
            "POST",
            &base,
            Some(json!({"metadata": {"name": "good"}, "data": {"n": "1"}})),
        )
        .await;
    let client = client(&pod, plane.port);
    let mut watcher = Watcher::<Strict>::new(client, list_request(namespace, "configmaps"));
    assert!(matches!(watcher.next().await, Some(Ok(Event::Init))));
    let err = watcher.next().await.unwrap().unwrap_err();
    assert!(matches!(err, incluster::Error::Decode { .. }), "{err}");
    assert!(matches!(watcher.next().await, Some(Ok(Event::InitDone))));
}

/// The first `Apply`/`InitApply` object of `watcher` named `name` (after `InitDone` if `after_init`).
async fn first_object(
    watcher: &mut Watcher<serde_json::Value>,
    name: &str,
    after_init: bool,
) -> serde_json::Value {
    let mut listed = false;
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = watcher.next().await {
            match event {
                Ok(Event::InitDone) => listed = true,
                Ok(Event::InitApply(o)) if !after_init && o["metadata"]["name"] == name => {
                    return o
                }
                Ok(Event::Apply(o)) if after_init && listed && o["metadata"]["name"] == name => {
                    return o
                }
                Ok(_) => {}
                Err(err) => panic!("watcher error: {err}"),
            }
        }
        panic!("the watcher ended")
    })
    .await;
    found.expect("the object within 30 s")
}

/// The watcher skips `metadata.managedFields` by default, in every way it reads objects (a
/// streaming list, a paginated list, a watch), and keeps them when asked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_fields_are_skipped_unless_kept() {
    // Secrets on `plane()` keep the watch cache (a streaming list); ConfigMaps on the refusing
    // plane get a paginated list.
    for (plane, namespace, resource, field, streaming) in [
        (plane(), "watch-managed", "secrets", "stringData", true),
        (
            refusing_plane(),
            "watch-managed-paged",
            "configmaps",
            "data",
            false,
        ),
    ] {
        let pod = pod(plane, namespace).await;
        let admin = plane.admin();
        let base = format!("/api/v1/namespaces/{namespace}/{resource}");
        let create = |name: &str| json!({"metadata": {"name": name, "labels": {"a": "b"}}, field: {"k": "v"}});
        admin.call("POST", &base, Some(create("listed"))).await;
        let fresh = admin.call("GET", &format!("{base}/listed"), None).await;
        assert!(
            fresh["metadata"]["managedFields"].is_array(),
            "the server records managed fields: {fresh}"
        );
        for keep in [false, true] {
            let client = client(&pod, plane.port);
            let mut watcher =
                Watcher::<serde_json::Value>::new(client, list_request(namespace, resource))
                    .keep_managed_fields(keep);
            let stats = watcher.stats();
            let listed = first_object(&mut watcher, "listed", false).await;
            let name = format!("watched-{keep}");
            admin.call("POST", &base, Some(create(&name))).await;
            let watched = first_object(&mut watcher, &name, true).await;
            for object in [&listed, &watched] {
                let managed = &object["metadata"]["managedFields"];
                assert_eq!(
                    managed.is_array(),
                    keep,
                    "keep={keep} on {namespace}: {object}"
                );
                // Everything else is there.
                assert!(object["data"]["k"].is_string(), "{object}");
                assert!(object["metadata"]["uid"].is_string(), "{object}");
                assert_eq!(object["metadata"]["labels"]["a"], "b", "{object}");
            }
            let counts = stats.get();
            assert_eq!(
                counts.streaming_lists_completed == 1,
                streaming,
                "{counts:?}"
            );
        }
    }
}
