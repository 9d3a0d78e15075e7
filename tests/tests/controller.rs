//! `incluster::controller` against the real kube-apiserver: the queue and triggers (primary,
//! owned through ownerReferences, metadata-only), relists after etcd compaction (edits and
//! deletions made while the watch was away), resync, the reconcile timeout with a black-holed
//! call, shutdown semantics, leader-only reconciling, the Events recorder (series, the
//! `default` namespace, multi-byte notes), the finalizer helper, and server-side apply with a
//! client-wide field manager.
//!
//! Faults come from the shared relay (`incluster_tests::relay`) in front of the API server.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use incluster::controller::{
    finalizer, metadata_watcher, Action, Controller, Event, EventType, FinalizerError, Object,
    ObjectMeta, ObjectRef, Recorder, Reference, Step, Stopped,
};
use incluster::{Client, Method, Patch, Request, Watcher};
use incluster_tests::controlplane::{Admin, ControlPlane};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use serde::Deserialize;
use serde_json::{json, Value};

const HANG_GUARD: Duration = Duration::from_secs(120);

fn plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    // No watch cache for ConfigMaps: a resume after compaction reaches etcd and gets 410.
    PLANE.get_or_init(|| {
        ControlPlane::dedicated("controller", &["--watch-cache-sizes=configmaps#0"])
    })
}

#[derive(Debug, Clone, Deserialize)]
struct Cm {
    metadata: ObjectMeta,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl Object for Cm {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// A namespace and a Pod identity in it allowed everything the tests do there.
async fn pod(namespace: &str) -> PodFs {
    let admin = plane().admin();
    let rules = json!([
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ]);
    let id = admin.create_identity(namespace, "controller", rules).await;
    let token = admin.mint_token(&id, None).await;
    let dir = std::env::temp_dir().join(format!(
        "incluster-controller-{namespace}-{}",
        std::process::id()
    ));
    PodFs::new(&dir, &token, &plane().ca_pem, namespace)
}

fn client(pod: &PodFs, port: u16) -> Client {
    Client::new(pod.config("127.0.0.1", &port.to_string())).unwrap()
}

fn configmaps(namespace: &str, selector: &str) -> Request {
    Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", namespace)
        .query("labelSelector", selector)
        .build()
        .unwrap()
}

async fn put_cm(admin: &Admin, ns: &str, name: &str, labels: Value, data: Value) -> Value {
    let path = format!("/api/v1/namespaces/{ns}/configmaps/{name}");
    let body = json!({"metadata": {"name": name, "namespace": ns, "labels": labels}, "data": data});
    match admin.raw("GET", &path, None).await {
        Ok((200, _)) => admin.call("PUT", &path, Some(body)).await,
        _ => {
            admin
                .call(
                    "POST",
                    &format!("/api/v1/namespaces/{ns}/configmaps"),
                    Some(body),
                )
                .await
        }
    }
}

/// A read-modify-write `PUT` (the admin helper sends JSON only).
async fn update(admin: &Admin, path: &str, change: impl Fn(&mut Value)) {
    let mut object = admin.call("GET", path, None).await;
    change(&mut object);
    admin.call("PUT", path, Some(object)).await;
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < HANG_GUARD,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What reconciles saw: per key, the data value `v` of each call, and the most calls of one
/// key running at once.
#[derive(Default)]
struct Seen {
    calls: Mutex<Vec<(ObjectRef, Option<String>)>>,
    running: Mutex<HashSet<ObjectRef>>,
    overlap: AtomicBool,
}

impl Seen {
    fn values(&self, name: &str) -> Vec<Option<String>> {
        let calls = self.calls.lock().unwrap();
        calls
            .iter()
            .filter(|(k, _)| k.name == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn count(&self, name: &str) -> usize {
        self.values(name).len()
    }
}

/// A reconcile that records what it saw and takes `delay`.
fn recording(
    seen: Arc<Seen>,
    delay: Duration,
) -> impl Fn(
    ObjectRef,
    Option<Arc<Cm>>,
) -> futures::future::BoxFuture<'static, Result<Action, std::io::Error>>
       + Send
       + Sync
       + 'static {
    move |key, object| {
        let seen = seen.clone();
        Box::pin(async move {
            if !seen.running.lock().unwrap().insert(key.clone()) {
                seen.overlap.store(true, Ordering::SeqCst);
            }
            tokio::time::sleep(delay).await;
            let value = object.and_then(|o| o.data.get("v").cloned());
            seen.calls.lock().unwrap().push((key.clone(), value));
            seen.running.lock().unwrap().remove(&key);
            Ok(Action::Done)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_deduplicated_never_run_twice_at_once_and_every_edit_is_seen() {
    let ns = "ctl-queue";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let client = client(&pod, plane().port);
    for i in 0..5 {
        put_cm(
            &admin,
            ns,
            &format!("cm{i}"),
            json!({"ctl": "q"}),
            json!({"v": "0"}),
        )
        .await;
    }
    let seen = Arc::new(Seen::default());
    let controller = Controller::new("queue", Watcher::<Cm>::new(client, configmaps(ns, "ctl=q")))
        .concurrency(3);
    let health = controller.health();
    let queue = controller.queue();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(controller.run(
        recording(seen.clone(), Duration::from_millis(200)),
        async {
            let _ = stopped.await;
        },
    ));
    wait_for("caches synced", || health.is_ready()).await;
    wait_for("every object reconciled", || {
        (0..5).all(|i| seen.count(&format!("cm{i}")) >= 1)
    })
    .await;
    // A burst of edits of one object while it is being reconciled: never two at once, and the
    // last value is seen.
    for v in 1..=10 {
        put_cm(
            &admin,
            ns,
            "cm0",
            json!({"ctl": "q"}),
            json!({"v": v.to_string()}),
        )
        .await;
    }
    wait_for("the last edit reconciled", || {
        seen.values("cm0").last() == Some(&Some("10".to_string()))
    })
    .await;
    assert!(
        !seen.overlap.load(Ordering::SeqCst),
        "one key ran twice at once"
    );
    assert!(
        seen.count("cm0") < 11,
        "edits were not deduplicated: {}",
        seen.count("cm0")
    );
    // A deleted object is reconciled with no object.
    admin
        .call(
            "DELETE",
            &format!("/api/v1/namespaces/{ns}/configmaps/cm1"),
            None,
        )
        .await;
    wait_for("the deletion reconciled", || {
        seen.values("cm1").last() == Some(&None)
    })
    .await;
    assert!(health.is_healthy());
    assert_eq!(queue.in_progress(), 0);
    stop.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(HANG_GUARD, run)
            .await
            .unwrap()
            .unwrap(),
        Stopped::Shutdown
    );
    assert!(!health.is_healthy(), "a stopped controller is not healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_deletions_made_while_the_watch_was_away_are_reconciled_after_the_relist() {
    let ns = "ctl-relist";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let relay = Relay::start(plane().port).await;
    let client = client(&pod, relay.port);
    put_cm(
        &admin,
        ns,
        "edited",
        json!({"ctl": "r"}),
        json!({"v": "before"}),
    )
    .await;
    put_cm(
        &admin,
        ns,
        "deleted",
        json!({"ctl": "r"}),
        json!({"v": "x"}),
    )
    .await;
    let seen = Arc::new(Seen::default());
    let controller = Controller::new(
        "relist",
        Watcher::<Cm>::new(client, configmaps(ns, "ctl=r")),
    )
    .backoff(Duration::from_millis(50), Duration::from_millis(500));
    let health = controller.health();
    let run = tokio::spawn(controller.run(
        recording(seen.clone(), Duration::ZERO),
        std::future::pending(),
    ));
    wait_for("both reconciled", || {
        seen.count("edited") >= 1 && seen.count("deleted") >= 1
    })
    .await;
    assert!(health.is_ready());

    // The watch goes away (its connection cut, new ones closed at once); meanwhile one object is
    // edited, one deleted, and etcd compacted.
    relay.set_mode(Mode::Close).await;
    put_cm(
        &admin,
        ns,
        "edited",
        json!({"ctl": "r"}),
        json!({"v": "after"}),
    )
    .await;
    admin
        .call(
            "DELETE",
            &format!("/api/v1/namespaces/{ns}/configmaps/deleted"),
            None,
        )
        .await;
    put_cm(
        &admin,
        ns,
        "created",
        json!({"ctl": "r"}),
        json!({"v": "new"}),
    )
    .await;
    // Enough unrelated writes that the compaction covers the watcher's resourceVersion.
    put_cm(&admin, ns, "unrelated", json!({"other": "x"}), json!({})).await;
    plane().compact_etcd().await;
    relay.set_mode(Mode::Forward).await;

    wait_for("the edit made while away reconciled", || {
        seen.values("edited").last() == Some(&Some("after".to_string()))
    })
    .await;
    // Reconciled with its state (the store has it by then), never as if it were gone.
    wait_for("the object created while away reconciled", || {
        seen.values("created").last() == Some(&Some("new".to_string()))
    })
    .await;
    assert!(
        seen.values("created").iter().all(Option::is_some),
        "{:?}",
        seen.values("created")
    );
    wait_for("the deletion made while away reconciled", || {
        seen.values("deleted").last() == Some(&None)
    })
    .await;
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_metadata_only_objects_queue_their_owner_and_resync_requeues_everything() {
    let ns = "ctl-owned";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let client = client(&pod, plane().port);
    let owner = put_cm(
        &admin,
        ns,
        "owner",
        json!({"ctl": "owner"}),
        json!({"v": "1"}),
    )
    .await;
    let uid = owner["metadata"]["uid"].as_str().unwrap().to_string();
    let child_path = format!("/api/v1/namespaces/{ns}/configmaps");
    admin
        .call(
            "POST",
            &child_path,
            Some(json!({"metadata": {"name": "child", "labels": {"ctl": "child"}, "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "controller": true}
            ]}, "data": {"big": "x".repeat(10_000)}})),
        )
        .await;
    let owned = metadata_watcher(client.clone(), configmaps(ns, "ctl=child"));
    let owned_store = owned.store();
    let seen = Arc::new(Seen::default());
    let controller = Controller::new(
        "owned",
        Watcher::<Cm>::new(client, configmaps(ns, "ctl=owner")),
    )
    .owns(owned, "v1", "ConfigMap")
    .resync(Duration::from_secs(2));
    let health = controller.health();
    let run = tokio::spawn(controller.run(
        recording(seen.clone(), Duration::ZERO),
        std::future::pending(),
    ));
    wait_for("the owner reconciled", || seen.count("owner") >= 1).await;
    wait_for("caches synced", || health.is_ready()).await;
    // The owned watch holds metadata only (the server honoured the Accept header).
    let child = owned_store
        .get(ns, "child")
        .expect("the child in the metadata store");
    assert_eq!(child.metadata.owner_references[0].uid, uid);
    assert_eq!(child.kind, "PartialObjectMetadata");

    // Editing the child reconciles its owner.
    let before = seen.count("owner");
    update(
        &admin,
        &format!("/api/v1/namespaces/{ns}/configmaps/child"),
        |cm| {
            cm["metadata"]["labels"]["touched"] = json!("yes");
        },
    )
    .await;
    wait_for("the owner reconciled after its child changed", || {
        seen.count("owner") > before
    })
    .await;
    assert_eq!(seen.count("child"), 0, "the child is not a primary key");

    // Resync: with no event at all, the owner comes again.
    let before = seen.count("owner");
    wait_for("a resync", || seen.count("owner") >= before + 2).await;
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_call_times_out_the_reconcile_and_the_key_converges_afterwards() {
    let ns = "ctl-timeout";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let relay = Relay::start(plane().port).await;
    put_cm(&admin, ns, "target", json!({"ctl": "t"}), json!({"v": "1"})).await;
    // Watches go straight to the server; the reconcile's own calls go through the relay,
    // with no client timeout at all: only the reconcile timeout can end them.
    let watch_client = client(&pod, plane().port);
    let call_client = client(&pod, relay.port);
    // No connection is open yet: every one is accepted and never answered.
    relay.set_mode(Mode::BlackHole).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let (a, d) = (attempts.clone(), done.clone());
    let reconcile = move |key: ObjectRef, _object: Option<Arc<Cm>>| {
        let (client, attempts, done) = (call_client.clone(), a.clone(), d.clone());
        async move {
            attempts.fetch_add(1, Ordering::SeqCst);
            let get = Request::builder(
                Method::GET,
                "/api/v1/namespaces/{namespace}/configmaps/{name}",
            )
            .path_param("namespace", key.namespace.as_deref().unwrap_or_default())
            .path_param("name", &key.name)
            .build()?;
            let _: Value = client.json(get).await?;
            done.store(true, Ordering::SeqCst);
            Ok::<_, incluster::Error>(Action::Done)
        }
    };
    let controller = Controller::new(
        "timeout",
        Watcher::<Cm>::new(watch_client, configmaps(ns, "ctl=t")),
    )
    .reconcile_timeout(Duration::from_millis(500))
    .backoff(Duration::from_millis(100), Duration::from_millis(400));
    let health = controller.health();
    let run = tokio::spawn(controller.run(reconcile, std::future::pending()));
    wait_for("two timed-out attempts", || {
        attempts.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(!done.load(Ordering::SeqCst));
    assert!(
        health.is_healthy(),
        "a timed-out reconcile is cancelled, not wedged"
    );
    // Forward again and cut the black-holed connections (whatever the client still holds).
    relay.set_mode(Mode::Forward).await;
    relay.close_all();
    wait_for("the key converged once the call answers", || {
        done.load(Ordering::SeqCst)
    })
    .await;
    run.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_reconciles_finish_within_the_grace_then_cancels_them() {
    let ns = "ctl-shutdown";
    let pod = pod(ns).await;
    let admin = plane().admin();
    put_cm(&admin, ns, "quick", json!({"ctl": "s"}), json!({})).await;
    put_cm(&admin, ns, "slow", json!({"ctl": "s"}), json!({})).await;
    let started = Arc::new(Mutex::new(HashSet::new()));
    let finished = Arc::new(Mutex::new(HashSet::new()));
    let cancelled = Arc::new(AtomicBool::new(false));
    struct Guard(Arc<AtomicBool>, bool);
    impl Drop for Guard {
        fn drop(&mut self) {
            if !self.1 {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }
    let (s, f, c) = (started.clone(), finished.clone(), cancelled.clone());
    let reconcile = move |key: ObjectRef, _: Option<Arc<Cm>>| {
        let (started, finished, cancelled) = (s.clone(), f.clone(), c.clone());
        async move {
            started.lock().unwrap().insert(key.name.clone());
            let mut guard = Guard(cancelled, false);
            let delay = if key.name == "slow" { 3600 } else { 1 };
            tokio::time::sleep(Duration::from_secs(delay)).await;
            guard.1 = true;
            finished.lock().unwrap().insert(key.name.clone());
            Ok::<_, std::io::Error>(Action::Done)
        }
    };
    let controller = Controller::new(
        "shutdown",
        Watcher::<Cm>::new(client(&pod, plane().port), configmaps(ns, "ctl=s")),
    )
    .concurrency(2)
    .shutdown_grace(Duration::from_secs(3));
    let queue = controller.queue();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(controller.run(reconcile, async {
        let _ = stopped.await;
    }));
    wait_for("both started", || started.lock().unwrap().len() == 2).await;
    stop.send(()).unwrap();
    // No new work is taken after the shutdown began.
    queue.add(ObjectRef::new(Some(ns), "late"));
    let outcome = tokio::time::timeout(HANG_GUARD, run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Stopped::Shutdown);
    assert!(
        finished.lock().unwrap().contains("quick"),
        "in-flight work finishes within the grace"
    );
    assert!(!finished.lock().unwrap().contains("slow"));
    assert!(
        cancelled.load(Ordering::SeqCst),
        "work past the grace is cancelled (dropped)"
    );
    assert!(!started.lock().unwrap().contains("late"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_reconciles_and_a_standby_takes_over_at_release() {
    use incluster::leader::{LeaderElection, LeaseSettings};
    let ns = "ctl-leader";
    let pod = pod(ns).await;
    let admin = plane().admin();
    put_cm(&admin, ns, "work", json!({"ctl": "l"}), json!({})).await;
    let by: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let candidate = |name: &'static str| {
        let client = client(&pod, plane().port);
        let lease = LeaseSettings::new(ns, "ctl-leader", name)
            .lease_duration(Duration::from_secs(4))
            .renew_deadline(Duration::from_secs(3))
            .retry_period(Duration::from_millis(500));
        let controller = Controller::new(
            name,
            Watcher::<Cm>::new(client.clone(), configmaps(ns, "ctl=l")),
        )
        .leader_election(LeaderElection::new(client, lease))
        .resync(Duration::from_millis(300));
        let by = by.clone();
        let health = controller.health();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(controller.run(
            move |_key: ObjectRef, _: Option<Arc<Cm>>| {
                let by = by.clone();
                async move {
                    *by.lock().unwrap().entry(name.to_string()).or_default() += 1;
                    Ok::<_, std::io::Error>(Action::Done)
                }
            },
            async {
                let _ = stopped.await;
            },
        ));
        (health, stop, run)
    };
    let (first_health, first_stop, first_run) = candidate("first");
    wait_for("the first leads", || first_health.is_leading()).await;
    let (second_health, second_stop, second_run) = candidate("second");
    wait_for("the standby's caches synced", || second_health.is_ready()).await;
    wait_for("the leader reconciled a few times", || {
        by.lock().unwrap().get("first").copied().unwrap_or(0) >= 3
    })
    .await;
    assert!(!second_health.is_leading());
    assert_eq!(
        by.lock().unwrap().get("second"),
        None,
        "a standby reconciled"
    );

    first_stop.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(HANG_GUARD, first_run)
            .await
            .unwrap()
            .unwrap(),
        Stopped::Shutdown
    );
    wait_for("the standby took over and reconciled", || {
        by.lock().unwrap().get("second").copied().unwrap_or(0) >= 1
    })
    .await;
    second_stop.send(()).unwrap();
    assert_eq!(
        tokio::time::timeout(HANG_GUARD, second_run)
            .await
            .unwrap()
            .unwrap(),
        Stopped::Shutdown
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorder_writes_valid_events_and_folds_repeats_into_a_series() {
    let ns = "ctl-events";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let cm = put_cm(&admin, ns, "subject", json!({}), json!({})).await;
    let meta: ObjectMeta = serde_json::from_value(cm["metadata"].clone()).unwrap();
    let recorder = Recorder::new(client(&pod, plane().port), "example.com/ctl", "test-pod");
    let regarding = Reference::of("v1", "ConfigMap", &meta);
    // A note with a 3-byte character across the 1 KiB cut.
    let note = format!("a{}", "日".repeat(500));
    let event = Event::new(EventType::Warning, "Tested", "Test", &note);
    for _ in 0..3 {
        recorder.publish(&regarding, &event).await.unwrap();
    }
    recorder
        .publish(
            &regarding,
            &Event::new(EventType::Normal, "Other", "Test", "different"),
        )
        .await
        .unwrap();
    let list = admin
        .call(
            "GET",
            &format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
            None,
        )
        .await;
    let events = list["items"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{list}");
    let tested = events.iter().find(|e| e["reason"] == "Tested").unwrap();
    assert_eq!(tested["series"]["count"], 3, "{tested}");
    assert!(tested["series"]["lastObservedTime"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    let note = tested["note"].as_str().unwrap();
    assert!(note.len() <= 1024 && note.len() > 1000, "{}", note.len());
    assert_eq!(tested["type"], "Warning");
    assert_eq!(tested["regarding"]["uid"], meta.uid);
    assert_eq!(tested["reportingController"], "example.com/ctl");
    let name = tested["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("subject."), "{name}");
    let event_time = tested["eventTime"].as_str().unwrap();
    assert_eq!(
        event_time.len(),
        "2024-01-01T00:00:00.000000Z".len(),
        "{event_time}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_about_cluster_scoped_objects_go_to_the_default_namespace() {
    let pod = pod("ctl-cluster").await;
    let admin = plane().admin();
    // The identity may also record Events in `default`.
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    admin
        .call("POST", &format!("{rbac}/roles"), Some(json!({"metadata": {"name": "ctl-cluster-events"},
            "rules": [{"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]}]})))
        .await;
    admin
        .call("POST", &format!("{rbac}/rolebindings"), Some(json!({"metadata": {"name": "ctl-cluster-events"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "ctl-cluster-events"},
            "subjects": [{"kind": "ServiceAccount", "name": "controller", "namespace": "ctl-cluster"}]})))
        .await;
    let recorder = Recorder::new(client(&pod, plane().port), "example.com/ctl", "test-pod");
    let node = ObjectMeta {
        name: format!("ctl-node-{}", std::process::id()),
        uid: "0000-1111".into(),
        ..ObjectMeta::default()
    };
    let regarding = Reference::of("v1", "Node", &node);
    // (Until the new RoleBinding reaches the authorizer's cache, a 403.)
    let started = Instant::now();
    while let Err(err) = recorder
        .publish(
            &regarding,
            &Event::new(EventType::Normal, "Seen", "Look", "cluster-scoped"),
        )
        .await
    {
        assert!(
            err.is_forbidden() && started.elapsed() < HANG_GUARD,
            "{err}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let list = admin
        .call(
            "GET",
            "/apis/events.k8s.io/v1/namespaces/default/events",
            None,
        )
        .await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["regarding"]["name"] == node.name.as_str()));
}

/// The finalizer helper's writes, through a generated client (so their rule is in `RBAC`).
#[incluster::in_cluster_client]
pub trait GuardedConfigMaps {
    /// Patch one ConfigMap.
    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn patch(
        &self,
        namespace: &str,
        name: &str,
        #[body] patch: &Patch<Value>,
    ) -> incluster::Result<()>;
}

/// Runs the finalizer helper on `object` with the patches sent by `configmaps`.
async fn guard(
    configmaps: &GuardedConfigMapsClient,
    object: Arc<Cm>,
    steps: Arc<Mutex<Vec<&'static str>>>,
) -> Result<Action, FinalizerError<std::io::Error>> {
    finalizer(
        "example.com/cleanup",
        object,
        |at, patch| async move {
            let namespace = at.namespace.as_deref().unwrap_or_default();
            configmaps.patch(namespace, &at.name, &patch).await
        },
        |s: Step<Cm>| async move {
            steps.lock().unwrap().push(match s {
                Step::Apply(_) => "apply",
                Step::Cleanup(_) => "cleanup",
            });
            Ok::<_, std::io::Error>(Action::Done)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_finalizer_helper_adds_runs_cleanup_and_removes() {
    let ns = "ctl-finalizer";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let configmaps = GuardedConfigMapsClient::new(client(&pod, plane().port));
    let path = format!("/api/v1/namespaces/{ns}/configmaps/guarded");
    put_cm(&admin, ns, "guarded", json!({}), json!({})).await;
    let read = |v: Value| Arc::new(serde_json::from_value::<Cm>(v).unwrap());
    let steps = Arc::new(Mutex::new(Vec::new()));
    let object = read(admin.call("GET", &path, None).await);
    guard(&configmaps, object.clone(), steps.clone())
        .await
        .unwrap();
    let now = admin.call("GET", &path, None).await;
    assert_eq!(
        now["metadata"]["finalizers"],
        json!(["example.com/cleanup"])
    );
    // A stale object (an old resourceVersion) cannot add it again blindly.
    update(&admin, &path, |cm| {
        cm["metadata"]["finalizers"] = Value::Null
    })
    .await;
    let stale = guard(&configmaps, object, steps.clone()).await;
    assert!(stale.is_err(), "the resourceVersion precondition held");
    let fresh = read(admin.call("GET", &path, None).await);
    guard(&configmaps, fresh, steps.clone()).await.unwrap();
    admin.call("DELETE", &path, None).await;
    let deleting = read(admin.call("GET", &path, None).await);
    assert!(deleting.metadata.deletion_timestamp.is_some());
    guard(&configmaps, deleting, steps.clone()).await.unwrap();
    assert!(matches!(admin.raw("GET", &path, None).await, Ok((404, _))));
    assert_eq!(*steps.lock().unwrap(), ["apply", "apply", "cleanup"]);
}

/// Without `patch` on the resource, the finalizer's error is the 403 naming that rule, and the
/// rule is in the generated client's `RBAC`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalizer_without_patch_rights_names_the_missing_rule() {
    let ns = "ctl-finalizer-rbac";
    let admin = plane().admin();
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]);
    let id = admin.create_identity(ns, "no-patch", rules).await;
    let token = admin.mint_token(&id, None).await;
    let dir = std::env::temp_dir().join(format!(
        "incluster-controller-nopatch-{}",
        std::process::id()
    ));
    let pod = PodFs::new(&dir, &token, &plane().ca_pem, ns);
    let configmaps = GuardedConfigMapsClient::new(client(&pod, plane().port));
    put_cm(&admin, ns, "guarded", json!({}), json!({})).await;
    let path = format!("/api/v1/namespaces/{ns}/configmaps/guarded");
    let object =
        Arc::new(serde_json::from_value::<Cm>(admin.call("GET", &path, None).await).unwrap());
    let steps = Arc::new(Mutex::new(Vec::new()));
    let err = guard(&configmaps, object, steps.clone()).await.unwrap_err();
    let FinalizerError::Patch { action, source, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*action, "add");
    assert!(source.is_forbidden(), "{source}");
    let needed = source.rbac_needed().expect("the 403 names the rule");
    assert_eq!(needed.method.method, "patch", "{needed:?}");
    assert_eq!(needed.method.rules[0].verbs, ["patch"], "{needed:?}");
    assert_eq!(needed.namespace.as_deref(), Some(ns));
    assert!(
        steps.lock().unwrap().is_empty(),
        "no step ran without the finalizer"
    );
    let rules: Vec<_> = GuardedConfigMapsClient::RBAC.rules().collect();
    assert_eq!(
        rules,
        [&incluster::rbac::Rule::resource(
            "",
            "configmaps",
            &["patch"],
            incluster::rbac::Scope::AnyNamespace
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_uses_the_client_wide_field_manager_and_refuses_without_one() {
    let ns = "ctl-apply";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let apply = |name: &str| {
        Request::builder(Method::PATCH, "/api/v1/namespaces/{namespace}/configmaps/{name}")
            .path_param("namespace", ns)
            .path_param("name", name.to_string())
            .patch_body(&Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})))
            .build()
            .unwrap()
    };
    let without = client(&pod, plane().port);
    let err = without.json::<Value>(apply("refused")).await.unwrap_err();
    assert!(
        matches!(err, incluster::Error::InvalidRequest { .. }),
        "{err}"
    );
    assert!(matches!(
        admin
            .raw(
                "GET",
                &format!("/api/v1/namespaces/{ns}/configmaps/refused"),
                None
            )
            .await,
        Ok((404, _))
    ));
    let with = Client::new(
        pod.config("127.0.0.1", &plane().port.to_string())
            .with_field_manager("ctl-test"),
    )
    .unwrap();
    let applied: Value = with.json(apply("applied")).await.unwrap();
    let managers: Vec<&str> = applied["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["ctl-test"]);
}

/// The memory figure of metadata-only watches (printed, not asserted beyond "smaller"): 200
/// ConfigMaps of 4 KiB of data each, listed whole and as `PartialObjectMetadata`; what a store
/// of each holds is about the JSON it decodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_lists_carry_a_fraction_of_the_full_objects() {
    let ns = "ctl-meta";
    let pod = pod(ns).await;
    let admin = plane().admin();
    let client = client(&pod, plane().port);
    for chunk in (0..200).collect::<Vec<_>>().chunks(20) {
        futures::future::join_all(chunk.iter().map(|i| {
            let admin = &admin;
            async move {
                put_cm(
                    admin,
                    ns,
                    &format!("cm{i:03}"),
                    json!({"ctl": "m"}),
                    json!({"blob": "x".repeat(4096)}),
                )
                .await;
            }
        }))
        .await;
    }
    let full = client.text(configmaps(ns, "ctl=m")).await.unwrap();
    let meta = client
        .text(incluster::controller::metadata_only(configmaps(
            ns, "ctl=m",
        )))
        .await
        .unwrap();
    let full_items = serde_json::from_str::<Value>(&full).unwrap()["items"]
        .as_array()
        .unwrap()
        .len();
    let meta_list: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta_list["kind"], "PartialObjectMetadataList");
    assert_eq!(meta_list["items"].as_array().unwrap().len(), full_items);
    // And the watcher's store, through a streaming list.
    let watcher = metadata_watcher(client.clone(), configmaps(ns, "ctl=m"));
    let store = watcher.store();
    let drive = tokio::spawn(futures::StreamExt::for_each(watcher, |_| async {}));
    tokio::time::timeout(HANG_GUARD, store.wait_ready())
        .await
        .unwrap();
    assert_eq!(store.len(), 200);
    assert!(store.list().iter().all(|o| o.metadata.labels["ctl"] == "m"));
    drive.abort();
    println!(
        "200 ConfigMaps of 4 KiB: a full list is {} bytes, a metadata-only list {} bytes ({:.1} %)",
        full.len(),
        meta.len(),
        100.0 * meta.len() as f64 / full.len() as f64
    );
    assert!(meta.len() * 4 < full.len());
}
