//! Liveness against a real kube-apiserver behind the fault-injecting relay: a connection that
//! goes silent (no FIN, no RST) is noticed for every kind of call — a plain GET, a
//! `WatchStream`, a `LineStream` follow, a `Watcher` (whose `Store` then equals a fresh list) and
//! a leader's renewals — while a healthy watch and a quiet follow with no events for five
//! minutes are never cut. Objects deleted while a watcher was away are reported as
//! `Event::Vanished` at the re-list.
//!
//! Every test prints its figures as one JSON line (`LIVENESS {...}`); none asserts on speed.
//! The tests of this binary run at the same time, so the five-minute one costs five minutes of
//! CI once, in the background of the others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use incluster::leader::{LeaderElection, LeaseSettings};
use incluster::watcher::{Event, ObjectRef, Store};
use incluster::{Client, LineStream, Method, Request, WatchEvent, WatchStream, Watcher};
use incluster_tests::controlplane::{Admin, ControlPlane};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use incluster_tests::view::run_watcher;
use serde_json::{json, Value};
use tokio::time::Instant;

/// A hang guard, far beyond every documented bound: a test that needs it has failed.
const HANG_GUARD: Duration = Duration::from_secs(240);

/// A control plane whose ConfigMaps skip the watch cache (a compaction gives a real 410).
fn plane() -> &'static ControlPlane {
    static PLANE: OnceLock<ControlPlane> = OnceLock::new();
    PLANE.get_or_init(|| ControlPlane::dedicated("liveness", &["--watch-cache-sizes=configmaps#0"]))
}

fn rules() -> Value {
    json!([
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "delete"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}
    ])
}

async fn pod(namespace: &str) -> PodFs {
    let admin = plane().admin();
    let id = admin.create_identity(namespace, "live", rules()).await;
    let token = admin.mint_token(&id, None).await;
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "incluster-liveness-{namespace}-{}",
        std::process::id()
    ));
    PodFs::new(&dir, &token, &plane().ca_pem, namespace)
}

fn client(pod: &PodFs, port: u16) -> Client {
    Client::new(pod.config("127.0.0.1", &port.to_string())).unwrap()
}

fn list(namespace: &str) -> Request {
    Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", namespace)
        .build()
        .unwrap()
}

fn watch(namespace: &str, resource_version: &str) -> Request {
    Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", namespace)
        .query("watch", &true)
        .query("allowWatchBookmarks", &true)
        .query("timeoutSeconds", &1800)
        .query("resourceVersion", resource_version)
        .build()
        .unwrap()
}

async fn create(admin: &Admin, namespace: &str, name: &str, value: &str) {
    admin
        .call(
            "POST",
            &format!("/api/v1/namespaces/{namespace}/configmaps"),
            Some(json!({"metadata": {"name": name}, "data": {"v": value}})),
        )
        .await;
}

async fn delete(admin: &Admin, namespace: &str, name: &str) {
    admin
        .call(
            "DELETE",
            &format!("/api/v1/namespaces/{namespace}/configmaps/{name}"),
            None,
        )
        .await;
}

/// name → data of `configmaps`, but for the `kube-root-ca.crt` some control planes publish.
fn by_name<'a>(configmaps: impl Iterator<Item = &'a Value>) -> BTreeMap<String, Value> {
    configmaps
        .filter(|cm| cm["metadata"]["name"] != "kube-root-ca.crt")
        .map(|cm| {
            (
                cm["metadata"]["name"].as_str().unwrap().to_string(),
                cm["data"].clone(),
            )
        })
        .collect()
}

/// name → data, as the API server has it now.
async fn truth(admin: &Admin, namespace: &str) -> BTreeMap<String, Value> {
    let items = admin
        .items(&format!("/api/v1/namespaces/{namespace}/configmaps"))
        .await;
    by_name(items.iter())
}

/// name → data, as `store` holds it now.
fn view(store: &Store<Value>) -> BTreeMap<String, Value> {
    by_name(store.list().iter().map(|cm| cm.as_ref()))
}

/// Waits (bounded by [`HANG_GUARD`]) until `store` equals a fresh list; returns the seconds
/// since `since`.
async fn converge(admin: &Admin, namespace: &str, store: &Store<Value>, since: Instant) -> f64 {
    loop {
        assert!(since.elapsed() < HANG_GUARD, "the Store never converged");
        let expected = truth(admin, namespace).await;
        if view(store) == expected {
            return seconds(since.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// One test's world: its namespace with the ConfigMaps `names` (data `v: 1`), a Pod allowed
/// [`rules`], the fault relay in front of the control plane and the Pod's client through it.
struct Setup {
    admin: Admin,
    pod: PodFs,
    relay: Relay,
    client: Client,
}

async fn setup<I>(namespace: &str, names: I) -> Setup
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let admin = plane().admin();
    let pod = pod(namespace).await;
    for name in names {
        create(&admin, namespace, name.as_ref(), "1").await;
    }
    let relay = Relay::start(plane().port).await;
    let client = client(&pod, relay.port);
    Setup {
        admin,
        pod,
        relay,
        client,
    }
}

/// A list of the namespace's ConfigMaps, then a watch and a follow of it from that list's
/// resourceVersion.
async fn watch_and_follow(client: &Client, namespace: &str) -> (WatchStream<Value>, LineStream) {
    let listed: Value = client.json(list(namespace)).await.unwrap();
    let rv = listed["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let watch_stream = client.watch::<Value>(watch(namespace, &rv)).await.unwrap();
    let line_stream = client.lines(watch(namespace, &rv)).await.unwrap();
    (watch_stream, line_stream)
}

fn seconds(d: Duration) -> f64 {
    (d.as_secs_f64() * 10.0).round() / 10.0
}

/// The first `Err` or end of a stream, with when it came.
async fn first_failure<S, T>(mut stream: S, since: Instant) -> (f64, String)
where
    S: futures::Stream<Item = incluster::Result<T>> + Unpin,
{
    loop {
        match tokio::time::timeout(HANG_GUARD, stream.next()).await {
            Err(_) => panic!("still waiting after {HANG_GUARD:?}"),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(err))) => {
                // The message first (what the assertions read), then the causes for a failure's
                // report.
                let mut text = err.to_string();
                let mut cause = std::error::Error::source(&err);
                while let Some(c) = cause {
                    text.push_str(&format!(" [cause: {c}]"));
                    cause = c.source();
                }
                return (seconds(since.elapsed()), text);
            }
            Ok(None) => return (seconds(since.elapsed()), "ended".to_string()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_call_kind_notices_a_connection_that_went_silent() {
    let namespace = "live-silent";
    let Setup {
        admin,
        pod,
        relay,
        client,
    } = setup(namespace, ["kept", "doomed", "changed"]).await;

    // Everything on the one HTTP/2 connection the client keeps to the relay.
    let (watch_stream, line_stream) = watch_and_follow(&client, namespace).await;
    let (stats, store, driver) = run_watcher(
        Watcher::<Value>::new(client.clone(), list(namespace)),
        HANG_GUARD,
    )
    .await;
    let settings = |who: &str| {
        LeaseSettings::new(namespace, "silent", who)
            .lease_duration(Duration::from_secs(8))
            .renew_deadline(Duration::from_secs(5))
            .retry_period(Duration::from_secs(1))
    };
    let election = LeaderElection::new(client.clone(), settings("a"));
    let leadership = election.acquire().await.unwrap();
    assert_eq!(relay.accepted(), 1, "one connection carries everything");

    relay.black_hole_existing();
    let silenced_at = Instant::now();
    // Changes the watcher cannot see while its connection is silent.
    create(&admin, namespace, "born", "1").await;
    delete(&admin, namespace, "doomed").await;
    admin
        .call(
            "PUT",
            &format!("/api/v1/namespaces/{namespace}/configmaps/changed"),
            Some(json!({"metadata": {"name": "changed"}, "data": {"v": "2"}})),
        )
        .await;
    // Another candidate, straight to the server: it must not lead before `a` knows it lost.
    let rival = LeaderElection::new(client_direct(&pod), settings("b"));
    let rival_task = tokio::spawn(async move {
        let leadership = rival.acquire().await.unwrap();
        (Instant::now(), leadership)
    });

    let get = tokio::spawn({
        let client = client.clone();
        async move {
            let outcome = tokio::time::timeout(HANG_GUARD, client.json::<Value>(list(namespace)))
                .await
                .expect("the GET hung");
            (
                seconds(silenced_at.elapsed()),
                outcome.map(|_| ()).map_err(|e| e.to_string()),
            )
        }
    });
    let watch_failed = tokio::spawn(first_failure(watch_stream, silenced_at));
    let lines_failed = tokio::spawn(first_failure(line_stream, silenced_at));
    let converged = tokio::spawn({
        let (store, admin) = (store.clone(), plane().admin());
        async move { converge(&admin, namespace, &store, silenced_at).await }
    });
    tokio::time::timeout(HANG_GUARD, leadership.lost())
        .await
        .expect("never stepped down");
    let lost_at = Instant::now();
    let leader_lost = seconds(silenced_at.elapsed());
    let (rival_led_at, rival_leadership) = rival_task.await.unwrap();
    assert!(lost_at < rival_led_at, "b led before a knew it had lost");
    rival_leadership.release().await.unwrap();
    // The same client leads again: its next attempts must not all go into the dead connection.
    let again = tokio::time::timeout(HANG_GUARD, election.acquire())
        .await
        .expect("never led again")
        .unwrap();
    let leader_again = seconds(silenced_at.elapsed());
    assert!(again.is_leader());

    let (get_s, get_outcome) = get.await.unwrap();
    let (watch_s, watch_error) = watch_failed.await.unwrap();
    let (lines_s, lines_error) = lines_failed.await.unwrap();
    let store_s = converged.await.unwrap();
    for (kind, error) in [("WatchStream", &watch_error), ("LineStream", &lines_error)] {
        assert!(
            error.contains("no answer from the server for"),
            "{kind} failed without saying the server went silent ({watch_s} s / {lines_s} s after the silence began): {error}"
        );
    }
    assert!(
        get_outcome.is_ok(),
        "a GET is retried on a new connection: {get_outcome:?}"
    );
    assert!(stats.get().errors >= 1, "the watcher yielded the failure");
    eprintln!(
        "LIVENESS {}",
        json!({
            "fault": "existing connection black-holed, new connections pass",
            "get_answered_s": get_s,
            "watch_stream_failed_s": watch_s,
            "line_stream_failed_s": lines_s,
            "watcher_store_converged_s": store_s,
            "leader_lost_s": leader_lost,
            "leader_again_s": leader_again,
            "relay_connections": relay.accepted(),
            "watcher": format!("{:?}", stats.get()),
        })
    );
    again.release().await.unwrap();
    driver.abort();
}

fn client_direct(pod: &PodFs) -> Client {
    client(pod, plane().port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_gone_silent_fails_each_call_within_the_bound() {
    let namespace = "live-blackhole";
    let Setup { relay, client, .. } = setup(namespace, std::iter::empty::<&str>()).await;
    client.json::<Value>(list(namespace)).await.unwrap();
    relay.set_mode(Mode::BlackHole).await;

    let started = Instant::now();
    let get = tokio::time::timeout(HANG_GUARD, client.json::<Value>(list(namespace)))
        .await
        .expect("the GET hung")
        .unwrap_err();
    let get_s = seconds(started.elapsed());
    let started = Instant::now();
    let page = tokio::time::timeout(HANG_GUARD, client.list_stream::<Value>(list(namespace)))
        .await
        .expect("the list page hung")
        .unwrap_err();
    let page_s = seconds(started.elapsed());
    for err in [&get, &page] {
        let text = err.to_string();
        assert!(
            text.contains("no answer from the server"),
            "the error does not say the server went silent: {text}"
        );
    }
    eprintln!(
        "LIVENESS {}",
        json!({
            "fault": "every connection black-holed",
            "get_failed_s": get_s,
            "list_page_failed_s": page_s,
            "get_error": get.to_string(),
            "relay_connections": relay.accepted(),
        })
    );
    // Back to normal: the same client works again.
    relay.set_mode(Mode::Forward).await;
    let started = Instant::now();
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            if client.json::<Value>(list(namespace)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the client never recovered");
    eprintln!(
        "LIVENESS {}",
        json!({"fault": "black hole lifted", "get_ok_again_s": seconds(started.elapsed())})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_idle_watch_and_a_quiet_follow_survive_five_minutes() {
    let namespace = "live-idle";
    let Setup {
        admin,
        relay,
        client,
        ..
    } = setup(namespace, std::iter::empty::<&str>()).await;
    let (mut watch_stream, mut line_stream) = watch_and_follow(&client, namespace).await;
    let (stats, store, driver) = run_watcher(
        Watcher::<Value>::new(client.clone(), list(namespace))
            .server_timeout(Duration::from_secs(1200)),
        HANG_GUARD,
    )
    .await;

    let quiet = Duration::from_secs(300);
    let started = Instant::now();
    let mut bookmarks = 0;
    // Nothing but bookmarks for five minutes: no error, no end.
    while started.elapsed() < quiet {
        tokio::select! {
            event = watch_stream.next() => match event {
                Some(Ok(WatchEvent::Bookmark(_))) => bookmarks += 1,
                other => panic!("the idle watch was disturbed after {:?}: {other:?}", started.elapsed()),
            },
            line = line_stream.next() => match line {
                Some(Ok(line)) if line.contains("\"BOOKMARK\"") => {}
                other => panic!("the quiet follow was disturbed after {:?}: {other:?}", started.elapsed()),
            },
            _ = tokio::time::sleep_until(started + quiet) => {}
        }
    }
    create(&admin, namespace, "after-the-quiet", "1").await;
    let added = tokio::time::timeout(HANG_GUARD, async {
        loop {
            match watch_stream.next().await {
                Some(Ok(WatchEvent::Added(cm))) => return cm,
                Some(Ok(_)) => continue,
                other => panic!("{other:?}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(added["metadata"]["name"], "after-the-quiet");
    let line = tokio::time::timeout(HANG_GUARD, async {
        loop {
            let line = line_stream.next().await.unwrap().unwrap();
            if line.contains("\"ADDED\"") {
                return line;
            }
        }
    })
    .await
    .unwrap();
    assert!(line.contains("after-the-quiet"));
    tokio::time::timeout(HANG_GUARD, async {
        while store.get(namespace, "after-the-quiet").is_none() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap();
    let counts = stats.get();
    assert_eq!(counts.errors, 0, "{counts:?}");
    assert_eq!(counts.relists, 0, "{counts:?}");
    assert_eq!(relay.accepted(), 1, "the connection was never replaced");
    eprintln!(
        "LIVENESS {}",
        json!({
            "fault": "none: five quiet minutes",
            "quiet_s": quiet.as_secs(),
            "bookmarks_on_the_watch": bookmarks,
            "relay_connections": relay.accepted(),
            "watcher_errors": counts.errors,
        })
    );
    driver.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_deleted_while_the_watcher_was_away_are_reported_vanished() {
    let namespace = "live-vanished";
    let Setup {
        admin,
        relay,
        client,
        ..
    } = setup(namespace, ["stays", "goes-1", "goes-2"]).await;
    let mut watcher = Watcher::<Value>::new(client, list(namespace));
    let stats = watcher.stats();
    let store = watcher.store();
    // The first list, complete.
    loop {
        match watcher.next().await.unwrap().unwrap() {
            Event::InitDone => break,
            _ => continue,
        }
    }
    // An object told about by `Apply` counts too.
    create(&admin, namespace, "goes-3", "1").await;
    loop {
        if let Event::Apply(cm) = watcher.next().await.unwrap().unwrap() {
            if cm["metadata"]["name"] == "goes-3" {
                break;
            }
        }
    }
    // Away: the watch blocked by the relay (silent), deletions, and etcd compacted so that
    // the watch cannot resume (410) and the watcher must list again.
    relay.set_mode(Mode::BlackHole).await;
    for name in ["goes-1", "goes-2", "goes-3"] {
        delete(&admin, namespace, name).await;
    }
    create(&admin, namespace, "new", "1").await;
    plane().compact_etcd().await;
    relay.set_mode(Mode::Forward).await;

    let mut relist = Vec::new();
    let mut in_relist = false;
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            match watcher.next().await.unwrap() {
                Ok(Event::Init) => {
                    in_relist = true;
                    relist.clear();
                }
                Ok(event) if in_relist => {
                    let done = event == Event::InitDone;
                    relist.push(event);
                    if done {
                        return;
                    }
                }
                _ => {}
            }
        }
    })
    .await
    .expect("no re-list after the compaction");
    let vanished: BTreeSet<ObjectRef> = relist
        .iter()
        .filter_map(|event| match event {
            Event::Vanished(gone) => Some(gone.clone()),
            _ => None,
        })
        .collect();
    let gone = |name: &str| ObjectRef {
        namespace: Some(namespace.to_string()),
        name: name.to_string(),
    };
    assert_eq!(
        vanished,
        BTreeSet::from([gone("goes-1"), gone("goes-2"), gone("goes-3")])
    );
    // After the re-list's InitApply events, before its InitDone.
    let first_vanished = relist
        .iter()
        .position(|e| matches!(e, Event::Vanished(_)))
        .unwrap();
    assert!(relist[..first_vanished]
        .iter()
        .all(|e| matches!(e, Event::InitApply(_))));
    assert!(relist[first_vanished..relist.len() - 1]
        .iter()
        .all(|e| matches!(e, Event::Vanished(_))));
    assert_eq!(relist.last(), Some(&Event::InitDone));
    assert!(store.get(namespace, "goes-1").is_none() && store.get(namespace, "new").is_some());
    assert!(stats.get().relists >= 1);
    eprintln!(
        "LIVENESS {}",
        json!({"vanished": vanished.iter().map(|r| r.to_string()).collect::<Vec<_>>(), "watcher": format!("{:?}", stats.get())})
    );
}

/// The API server's address unreachable for 15 s (every connection closed, new ones refused:
/// what clients see while kube-apiserver restarts on the same etcd) while writes go on — creates,
/// updates, deletes: the `Watcher`'s `Store` converges on a fresh list afterwards, deletions
/// included, with its retries paced by the backoff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_converges_after_an_outage_with_writes_going_on() {
    let namespace = "live-outage";
    let Setup {
        admin,
        relay,
        client,
        ..
    } = setup(namespace, (0..20).map(|n| format!("cm-{n:02}"))).await;
    let (stats, store, driver) =
        run_watcher(Watcher::<Value>::new(client, list(namespace)), HANG_GUARD).await;

    relay.set_mode(Mode::Refuse).await;
    let down_at = Instant::now();
    let mut step = 0;
    while down_at.elapsed() < Duration::from_secs(15) {
        let name = format!("cm-{:02}", step % 20);
        if step % 3 == 0 {
            // Maybe deleted already: any answer will do.
            let _ = admin
                .raw(
                    "DELETE",
                    &format!("/api/v1/namespaces/{namespace}/configmaps/{name}"),
                    None,
                )
                .await;
        } else {
            let _ = admin
                .raw(
                    "POST",
                    &format!("/api/v1/namespaces/{namespace}/configmaps"),
                    Some(json!({"metadata": {"name": format!("new-{step}")}, "data": {"v": "1"}})),
                )
                .await;
        }
        step += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let errors_while_down = stats.get().errors;
    relay.set_mode(Mode::Forward).await;
    let up_at = Instant::now();
    let converged_s = converge(&admin, namespace, &store, up_at).await;
    let counts = stats.get();
    eprintln!(
        "LIVENESS {}",
        json!({
            "fault": "address refused for 15 s, writes going on",
            "store_converged_after_up_s": converged_s,
            "errors_yielded_while_down": errors_while_down,
            "relay_connections": relay.accepted(),
            "watcher": format!("{counts:?}"),
        })
    );
    // Paced: a handful of attempts in 15 s, not a storm.
    assert!(errors_while_down <= 10, "{counts:?}");
    driver.abort();
}
