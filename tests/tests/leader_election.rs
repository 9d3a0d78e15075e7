//! Leader election against a real kube-apiserver: two candidate processes, exactly one leads;
//! kill -9 the leader and the other takes over only after the lease expired; SIGTERM the
//! leader and the other takes over at once (the lease was released); the timestamped history
//! never shows two leaders at a time. In-process: a leader cut off from the API server is told
//! before anyone else may lead; a missing RBAC rule is named.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use incluster::leader::{LeaderElection, LeaseSettings};
use incluster::Client;
use incluster_tests::controlplane::{configmap_rules, ControlPlane};
use incluster_tests::podfs::PodFs;
use incluster_tests::relay::{Mode, Relay};
use serde_json::{json, Value};

fn lease_rules() -> Value {
    json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}])
}

async fn pod(namespace: &str, rules: Value) -> PodFs {
    let plane = ControlPlane::shared();
    let admin = plane.admin();
    let id = admin.create_identity(namespace, "candidate", rules).await;
    let token = admin.mint_token(&id, None).await;
    let dir = std::env::temp_dir().join(format!(
        "incluster-leader-{namespace}-{}",
        std::process::id()
    ));
    PodFs::new(&dir, &token, &plane.ca_pem, namespace)
}

fn client(pod: &PodFs, port: u16) -> Client {
    let port = port.to_string();
    Client::new(pod.config("127.0.0.1", &port)).unwrap()
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// `2006-01-02T15:04:05.000000Z` → µs since the epoch.
fn parse_micro_time(text: &str) -> i64 {
    let num = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + num(11..13) * 3600 + num(14..16) * 60 + num(17..19);
    secs * 1_000_000 + num(20..26)
}

/// A candidate process and the lines it prints.
struct Candidate {
    identity: String,
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Candidate {
    fn start(
        pod: &PodFs,
        namespace: &str,
        lease: &str,
        identity: &str,
        history: &Path,
        timing: [&str; 3],
    ) -> Candidate {
        let mut child = ControlPlane::shared()
            .pod_command(env!("CARGO_BIN_EXE_leader_candidate"), pod)
            .args([namespace, lease, identity])
            .arg(history)
            .args(timing)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start leader_candidate");
        let (send, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Candidate {
            identity: identity.to_string(),
            child,
            lines,
        }
    }

    /// Waits for `line` (a generous deadline only turns a hang into a failure).
    fn expect(&self, line: &str) {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(120)) {
                Ok(seen) if seen == line => return,
                Ok(_) => continue,
                Err(err) => panic!("{}: no {line:?}: {err}", self.identity),
            }
        }
    }

    fn is_leading(&self) -> bool {
        self.lines.try_iter().any(|l| l.starts_with("leading"))
    }

    fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Candidate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until one of `candidates` says it leads; returns its index. Both are watched, so a
/// second leader would be seen by [`check_history`].
fn first_leader(candidates: &[&Candidate]) -> usize {
    for _ in 0..1200 {
        for (i, c) in candidates.iter().enumerate() {
            if c.is_leading() {
                return i;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nobody leads");
}

/// Reads the history and checks that leadership intervals never overlap; returns its events.
fn check_history(history: &Path) -> Vec<(i64, String, String)> {
    let text = std::fs::read_to_string(history).unwrap_or_default();
    let mut events: Vec<(i64, String, String)> = text
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let event = parts.next().unwrap().to_string();
            let at: i64 = parts.next().unwrap().parse().unwrap();
            (at, event, parts.next().unwrap_or_default().to_string())
        })
        .collect();
    events.sort();
    let mut leader: Option<String> = None;
    for (at, event, who) in &events {
        match event.as_str() {
            "start" => {
                assert!(
                    leader.is_none(),
                    "{who} started leading at {at} while {leader:?} led:\n{text}"
                );
                leader = Some(who.clone());
            }
            "stop" | "killed" => {
                assert_eq!(
                    leader.as_deref(),
                    Some(who.as_str()),
                    "{event} of a non-leader at {at}:\n{text}"
                );
                leader = None;
            }
            other => panic!("unknown event {other}"),
        }
    }
    events
}

fn append(history: &Path, line: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(history)
        .unwrap();
    writeln!(file, "{line}").unwrap();
}

fn history_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "incluster-leader-history-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

async fn lease(namespace: &str, name: &str) -> Value {
    ControlPlane::shared()
        .admin()
        .call(
            "GET",
            &format!("/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}"),
            None,
        )
        .await
}

#[tokio::test]
async fn kill_9_hands_over_after_expiry_and_sigterm_hands_over_at_once() {
    let namespace = "leader-processes";
    let pod = pod(namespace, lease_rules()).await;

    // kill -9: a 6 s lease (4 s renew deadline, 500 ms retries).
    let history = history_file("kill");
    let a = Candidate::start(
        &pod,
        namespace,
        "kill-lease",
        "a",
        &history,
        ["6", "4", "500"],
    );
    let b = Candidate::start(
        &pod,
        namespace,
        "kill-lease",
        "b",
        &history,
        ["6", "4", "500"],
    );
    a.expect("candidate a ready");
    b.expect("candidate b ready");
    let first = first_leader(&[&a, &b]);
    let (mut leader, other) = if first == 0 { (a, b) } else { (b, a) };
    // A few renewals go by with exactly one leader.
    std::thread::sleep(Duration::from_secs(3));
    leader.child.kill().unwrap(); // SIGKILL
    leader.child.wait().unwrap();
    append(
        &history,
        &format!("killed {} {}", now_micros(), leader.identity),
    );
    let before = lease(namespace, "kill-lease").await;
    assert_eq!(before["spec"]["holderIdentity"], leader.identity.as_str());
    let last_renewal = parse_micro_time(before["spec"]["renewTime"].as_str().unwrap());
    other.expect(&format!("leading {}", other.identity));
    let after = lease(namespace, "kill-lease").await;
    assert_eq!(after["spec"]["holderIdentity"], other.identity.as_str());
    let taken_over = parse_micro_time(after["spec"]["acquireTime"].as_str().unwrap());
    assert!(
        taken_over - last_renewal >= 6_000_000,
        "the lease was taken {} µs after the dead leader's last renewal, before it expired",
        taken_over - last_renewal
    );
    assert_eq!(
        after["spec"]["leaseTransitions"].as_i64().unwrap(),
        before["spec"]["leaseTransitions"].as_i64().unwrap() + 1
    );
    let events = check_history(&history);
    assert_eq!(
        events.iter().filter(|e| e.1 == "start").count(),
        2,
        "{events:?}"
    );
    drop(other);

    // SIGTERM: a lease of an hour, so only a release can explain a quick takeover.
    let history = history_file("term");
    let a = Candidate::start(
        &pod,
        namespace,
        "term-lease",
        "a",
        &history,
        ["3600", "10", "500"],
    );
    let b = Candidate::start(
        &pod,
        namespace,
        "term-lease",
        "b",
        &history,
        ["3600", "10", "500"],
    );
    a.expect("candidate a ready");
    b.expect("candidate b ready");
    let first = first_leader(&[&a, &b]);
    let (mut leader, other) = if first == 0 { (a, b) } else { (b, a) };
    std::thread::sleep(Duration::from_secs(2));
    leader.signal("TERM");
    leader.expect(&format!("released {}", leader.identity));
    assert!(leader.child.wait().unwrap().success());
    other.expect(&format!("leading {}", other.identity));
    let after = lease(namespace, "term-lease").await;
    assert_eq!(after["spec"]["holderIdentity"], other.identity.as_str());
    assert_eq!(after["spec"]["leaseDurationSeconds"], 3600);
    let events = check_history(&history);
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.1.as_str(), e.2.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("start", leader.identity.as_str()),
            ("stop", leader.identity.as_str()),
            ("start", other.identity.as_str())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_is_told_before_anyone_else_leads() {
    let namespace = "leader-cutoff";
    let pod = pod(namespace, lease_rules()).await;
    let plane = ControlPlane::shared();
    let relay = Relay::start(plane.port).await;
    let settings = |who: &str| {
        LeaseSettings::new(namespace, "cutoff", who)
            .lease_duration(Duration::from_secs(4))
            .renew_deadline(Duration::from_secs(2))
            .retry_period(Duration::from_millis(300))
    };
    let a = LeaderElection::new(client(&pod, relay.port), settings("a"));
    let leadership = a.acquire().await.unwrap();
    assert!(leadership.is_leader());

    let b = LeaderElection::new(client(&pod, plane.port), settings("b"));
    let b_task = tokio::spawn(async move {
        let leadership = b.acquire().await.unwrap();
        (tokio::time::Instant::now(), leadership)
    });
    relay.set_mode(Mode::Refuse).await;
    leadership.lost().await;
    let a_lost_at = tokio::time::Instant::now();
    assert!(!leadership.is_leader());
    let (b_started_at, b_leadership) = b_task.await.unwrap();
    assert!(a_lost_at < b_started_at, "b led before a knew it had lost");
    assert!(b_leadership.is_leader());
    // Releasing a lost leadership writes nothing (the lease is b's now).
    leadership.release().await.unwrap();
    assert_eq!(
        lease(namespace, "cutoff").await["spec"]["holderIdentity"],
        "b"
    );
    b_leadership.release().await.unwrap();
    let released = lease(namespace, "cutoff").await;
    assert!(released["spec"]["holderIdentity"].is_null(), "{released}");
    assert_eq!(released["spec"]["leaseDurationSeconds"], 1);
}

#[tokio::test]
async fn missing_rbac_names_the_rule_to_add() {
    let namespace = "leader-norbac";
    let pod = pod(namespace, configmap_rules()).await;
    let election = LeaderElection::new(
        client(&pod, ControlPlane::shared().port),
        LeaseSettings::new(namespace, "x", "a"),
    );
    let err = election.acquire().await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    let needed = err.rbac_needed().expect("the 403 names the rule");
    assert_eq!(
        needed.method,
        incluster::rbac::LEADER_ELECTION.method(0),
        "{err}"
    );
    let rule = &needed.method.rules[0];
    assert_eq!(
        (rule.verbs, needed.namespace.as_deref()),
        (&["get"][..], Some(namespace))
    );
    assert!(err.to_string().contains(&needed.to_string()), "{err}");
}

mod scripted_server {
    //! Leader election against a scripted Lease server (what the real one cannot be made to
    //! do: answer with a Lease that is not an object, a `leaseDurationSeconds` beyond the clock),
    //! and request counts the real one does not expose.

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use incluster::leader::{LeaderElection, LeaseSettings};
    use incluster::Error;
    use incluster_tests::certs::TestCa;
    use incluster_tests::podfs::PodFs;
    use incluster_tests::testserver::{Recorded, Reply, TestServer};
    use serde_json::{json, Value};

    /// A one-Lease store with optimistic concurrency, like the API server's; `lease` is what it
    /// holds (`None`: 404).
    fn lease_store(lease: Arc<Mutex<Option<Value>>>) -> impl Fn(&Recorded) -> Reply + Send + Sync {
        move |seen: &Recorded| {
            let mut stored = lease.lock().unwrap();
            match seen.method.as_str() {
                "GET" => match &*stored {
                    Some(lease) => Reply::json(200, lease.clone()),
                    None => Reply::json(
                        404,
                        json!({"kind": "Status", "code": 404, "reason": "NotFound"}),
                    ),
                },
                "POST" | "PUT" => {
                    let mut body: Value = serde_json::from_slice(&seen.body).unwrap();
                    let current_rv = stored.as_ref().and_then(|l| {
                        l["metadata"]["resourceVersion"]
                            .as_str()
                            .map(str::to_string)
                    });
                    if seen.method == "PUT"
                        && body["metadata"]["resourceVersion"]
                            .as_str()
                            .map(str::to_string)
                            != current_rv
                    {
                        return Reply::json(
                            409,
                            json!({"kind": "Status", "code": 409, "reason": "Conflict"}),
                        );
                    }
                    let next: u64 = current_rv.and_then(|rv| rv.parse().ok()).unwrap_or(0) + 1;
                    body["metadata"]["resourceVersion"] = json!(next.to_string());
                    *stored = Some(body.clone());
                    Reply::json(200, body)
                }
                _ => Reply::json(405, json!({})),
            }
        }
    }

    async fn server(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> (TestServer, incluster::Client, PodFs) {
        let ca = TestCa::new("cluster-ca");
        let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), handler).await;
        let pod = PodFs::temp("token", &ca.cert_pem, "team-a");
        let client = pod.client(&server);
        (server, client, pod)
    }

    fn settings(who: &str) -> LeaseSettings {
        LeaseSettings::new("team-a", "lease", who)
            .lease_duration(Duration::from_secs(10))
            .renew_deadline(Duration::from_secs(7))
            .retry_period(Duration::from_secs(5))
    }

    fn count(server: &TestServer, method: &str) -> usize {
        server
            .requests()
            .iter()
            .filter(|r| r.method == method)
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settings_that_cannot_work_are_refused_before_any_request() {
        let (server, client, _pod) = server(lease_store(Arc::default())).await;
        let never_renews = settings("a").retry_period(Duration::from_secs(6));
        let err = LeaderElection::new(client.clone(), never_renews)
            .acquire()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
        let too_long = settings("a").renew_deadline(Duration::from_secs(10));
        let err = LeaderElection::new(client, too_long)
            .acquire()
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
        assert!(server.requests().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renewals_start_at_once_are_one_put_each_and_keep_unknown_spec_fields() {
        let stored = Arc::new(Mutex::new(Some(json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "lease", "namespace": "team-a", "resourceVersion": "1"},
            "spec": {"strategy": "OldestEmulationVersion", "preferredHolder": "a", "leaseTransitions": 4},
        }))));
        let (server, client, _pod) = server(lease_store(stored.clone())).await;
        let election = LeaderElection::new(client, settings("a"));
        let leadership = election.acquire().await.unwrap();
        assert_eq!(
            leadership.fencing_token(),
            5,
            "the lease changed hands once more"
        );
        // Acquiring is one GET and one PUT; the first renewal follows at once (the next one only
        // after the 5 s retry period), as one optimistic PUT without a GET.
        for _ in 0..40 {
            if count(&server, "PUT") >= 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(count(&server, "PUT"), 2, "no renewal right after acquiring");
        assert_eq!(
            count(&server, "GET"),
            1,
            "the renewal was one optimistic PUT"
        );
        let spec = stored.lock().unwrap().clone().unwrap()["spec"].clone();
        assert_eq!(spec["strategy"], "OldestEmulationVersion", "{spec}");
        assert_eq!(spec["preferredHolder"], "a", "{spec}");
        assert_eq!(spec["holderIdentity"], "a", "{spec}");
        leadership.release().await.unwrap();
        let spec = stored.lock().unwrap().clone().unwrap()["spec"].clone();
        assert!(spec["holderIdentity"].is_null(), "{spec}");
        assert_eq!(
            spec["strategy"], "OldestEmulationVersion",
            "released, still kept: {spec}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lease_that_is_not_an_object_or_held_beyond_the_clock_never_panics() {
        for body in [
            json!([1, 2, 3]),
            json!("lease"),
            json!({"metadata": {"resourceVersion": "1"}, "spec": []}),
            json!({"metadata": {"resourceVersion": "1"}, "spec": {"holderIdentity": "other", "leaseDurationSeconds": u64::MAX}}),
        ] {
            let shown = body.to_string();
            let (server, client, _pod) =
                server(move |_: &Recorded| Reply::json(200, body.clone())).await;
            let settings = LeaseSettings::new("team-a", "lease", "a")
                .lease_duration(Duration::from_secs(3))
                .renew_deadline(Duration::from_secs(2))
                .retry_period(Duration::from_millis(500));
            let election = LeaderElection::new(client, settings);
            // Never leads (the lease is garbage or held forever) and never panics.
            let outcome = tokio::time::timeout(Duration::from_secs(3), election.acquire()).await;
            assert!(outcome.is_err(), "{shown}: {outcome:?}");
            let requests = server.requests().len();
            assert!(requests <= 12, "{shown}: {requests} requests in 3 s");
        }
    }
}
