//! A control plane that crashes and comes back on its kept data, against the real
//! kube-apiserver: a watcher's `Store` converges on the server's state, including objects deleted
//! while the watcher could not see them, and a client's plain GET fails clearly during the
//! outage and works again after it, with no new client.
//!
//! The control plane is a dedicated one, killed with SIGKILL and restarted on the same directory
//! (the same CA, tokens and etcd data); the client reaches it through the fault relay, which
//! refuses connections while it is down and follows it to its port afterwards. Mutations go on
//! all the time, straight to the server (refused while it is down). The recovery time and the
//! watcher's counters are printed (`RESTART {...}`), never asserted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use incluster::watcher::WatcherCounts;
use incluster::{Client, Error, Method, Request, Watcher};
use incluster_tests::controlplane::{Admin, ControlPlane};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use incluster_tests::view::{self, run_watcher, store_view, Object, View};
use serde_json::{json, Value};

const NAMESPACE: &str = "restart";

/// Objects created first; some are deleted while the watcher cannot see it.
const KEPT: usize = 30;

/// Generous: a hang becomes a failure, a slow machine never does.
const HANG_GUARD: Duration = Duration::from_secs(180);

fn configmaps() -> Request {
    Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", NAMESPACE)
        .build()
        .unwrap()
}

/// The ConfigMaps of the namespace, as the API server lists them now.
async fn fresh_list(admin: &Admin) -> View {
    view::fresh_list(admin, &format!("/api/v1/namespaces/{NAMESPACE}/configmaps")).await
}

async fn create(admin: &Admin, name: &str) {
    admin
        .call(
            "POST",
            &format!("/api/v1/namespaces/{NAMESPACE}/configmaps"),
            Some(json!({"metadata": {"name": name}, "data": {"v": "0"}})),
        )
        .await;
}

async fn delete(admin: &Admin, name: &str) {
    admin
        .call(
            "DELETE",
            &format!("/api/v1/namespaces/{NAMESPACE}/configmaps/{name}"),
            None,
        )
        .await;
}

/// Mutations that never stop until `stop`: creates, updates and deletes on a pool of 20
/// `churn-NN` names, straight to the server at `server` (whichever port it is on now). Failed
/// ones (the server is down) are counted and the next is tried a moment later.
struct Mutator {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

fn mutate_forever(admin: Arc<std::sync::Mutex<Admin>>) -> Mutator {
    let (stop, done, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let task = tokio::spawn({
        let (stop, done, failed) = (stop.clone(), done.clone(), failed.clone());
        async move {
            let base = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
            let mut step = 0usize;
            while !stop.load(Ordering::SeqCst) {
                step += 1;
                let name = format!("churn-{:02}", (step * 7) % 20);
                let body = json!({"metadata": {"name": name}, "data": {"v": step.to_string()}});
                let admin = admin.lock().unwrap().clone();
                // Update if present, create if absent; every third step deletes instead.
                let answer = if step.is_multiple_of(3) {
                    admin.raw("DELETE", &format!("{base}/{name}"), None).await
                } else {
                    match admin
                        .raw("PUT", &format!("{base}/{name}"), Some(body.clone()))
                        .await
                    {
                        Ok((404, _)) => admin.raw("POST", &base, Some(body)).await,
                        other => other,
                    }
                };
                match answer {
                    Ok((status, _)) if (200..300).contains(&status) || status == 404 => {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    Mutator {
        stop,
        done,
        failed,
        task,
    }
}

/// Waits (bounded by [`HANG_GUARD`]) until `done` holds; panics with `what` otherwise.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + HANG_GUARD;
    while !done().await {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {HANG_GUARD:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seconds, to a tenth.
fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

fn counts_json(c: &WatcherCounts) -> Value {
    json!({
        "lists_started": c.lists_started, "lists_completed": c.lists_completed,
        "streaming_lists_completed": c.streaming_lists_completed, "list_pages": c.list_pages,
        "watches": c.watches, "relists": c.relists, "gone": c.gone, "errors": c.errors,
        "bookmarks": c.bookmarks,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_plane_restarted_on_its_data_leaves_the_store_equal_to_a_fresh_list() {
    let mut plane = ControlPlane::dedicated("restart", &[]);
    let admin = Arc::new(std::sync::Mutex::new(plane.admin()));
    let first_admin = plane.admin();
    let rules = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]);
    let id = first_admin
        .create_identity(NAMESPACE, "watcher", rules)
        .await;
    // Minted by the first process; valid after the restart only if the signing key was kept.
    let token = first_admin.mint_token(&id, None).await;
    let pod_dir =
        std::env::temp_dir().join(format!("incluster-restart-pod-{}", std::process::id()));
    let pod = PodFs::new(&pod_dir, &token, &plane.ca_pem, NAMESPACE);
    let relay = Relay::start(plane.port).await;
    let client = Client::new(pod.config("127.0.0.1", &relay.port.to_string())).unwrap();

    for i in 0..KEPT {
        create(&first_admin, &format!("kept-{i:02}")).await;
    }
    let (stats, store, consumer) = run_watcher(
        Watcher::<Object>::new(client.clone(), configmaps()),
        HANG_GUARD,
    )
    .await;
    let mutator = mutate_forever(admin.clone());
    eventually("mutations before the crash", async || {
        mutator.done.load(Ordering::SeqCst) >= 20
    })
    .await;
    let before = stats.get();

    // The watcher loses the server first; objects are deleted that it cannot see go.
    relay.set_mode(Mode::Refuse).await;
    let deleted_before: Vec<String> = (0..5).map(|i| format!("kept-{i:02}")).collect();
    for name in &deleted_before {
        delete(&first_admin, name).await;
    }
    // Then the control plane crashes (mutations now fail).
    let crashed_at = Instant::now();
    // Both block while the process dies or starts: off the async workers.
    tokio::task::block_in_place(|| plane.crash());

    // A plain GET while it is down: a transport error naming the server, after its retries.
    let get_started = Instant::now();
    let down = client.json::<Value>(configmaps()).await;
    let failed_in = get_started.elapsed();
    let down_error = match down {
        Err(err @ Error::Transport { .. }) => err,
        other => panic!("a GET while the control plane is down: {other:?}"),
    };
    let Error::Transport { server, .. } = &down_error else {
        unreachable!()
    };
    assert_eq!(server, client.server());

    let port_before = plane.port;
    let restart_started = Instant::now();
    tokio::task::block_in_place(|| plane.restart());
    let restarted_in = restart_started.elapsed();
    let same_port = plane.port == port_before;
    relay.set_target(plane.port);
    *admin.lock().unwrap() = plane.admin();
    let admin_now = plane.admin();
    // More deletions while the watcher is still cut off, now on the restarted process.
    let deleted_after: Vec<String> = (5..10).map(|i| format!("kept-{i:02}")).collect();
    for name in &deleted_after {
        delete(&admin_now, name).await;
    }
    let failed_during_outage = mutator.failed.load(Ordering::SeqCst);
    let reconnected_at = Instant::now();
    relay.set_mode(Mode::Forward).await;
    let outage = crashed_at.elapsed();

    // The same Client works again (the same CA and token), after its retries if need be.
    let list: Value = client
        .json(configmaps())
        .await
        .expect("a GET after the restart, on the same client");
    assert!(list["items"].is_array(), "{list}");

    // The store drops what was deleted while it could not see it.
    let gone: Vec<String> = deleted_before
        .iter()
        .chain(&deleted_after)
        .cloned()
        .collect();
    eventually(
        "the deletions during the outage reach the store",
        async || {
            let view = store_view(&store);
            gone.iter().all(|name| !view.contains_key(name))
        },
    )
    .await;
    let resynced_in = reconnected_at.elapsed();

    // Mutations go on a little longer, then stop; the store must equal a fresh list.
    let done_at_resync = mutator.done.load(Ordering::SeqCst);
    eventually("mutations after the restart", async || {
        mutator.done.load(Ordering::SeqCst) >= done_at_resync + 20
    })
    .await;
    mutator.stop.store(true, Ordering::SeqCst);
    let _ = mutator.task.await;
    let converged = {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            let expected = fresh_list(&admin_now).await;
            let stored = store_view(&store);
            if expected == stored {
                break expected;
            }
            assert!(
                Instant::now() < deadline,
                "the store never matched a fresh list: expected {expected:?}, stored {stored:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    consumer.abort();
    let after = stats.get();
    eprintln!(
        "RESTART {}",
        json!({
            "get_failed_s": seconds(failed_in),
            "restart_s": seconds(restarted_in),
            "outage_s": seconds(outage),
            "resync_s": seconds(resynced_in),
            "same_port": same_port,
            "objects": converged.len(),
            "deleted_while_unseen": gone.len(),
            "mutations": mutator.done.load(Ordering::SeqCst),
            "mutations_refused": failed_during_outage,
            "get_while_down": down_error.to_string(),
            "watcher_before": counts_json(&before),
            "watcher_after": counts_json(&after),
        })
    );
    assert!(converged.keys().all(|name| !gone.contains(name)));
    // The objects nobody deleted survived the crash: etcd's data was kept.
    for i in gone.len()..KEPT {
        let name = format!("kept-{i:02}");
        assert!(
            converged.contains_key(&name),
            "{name} was lost in the restart"
        );
    }
    assert!(
        after.lists_completed > before.lists_completed || after.watches > before.watches,
        "the watcher never came back: {after:?}"
    );
}
