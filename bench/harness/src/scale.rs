//! The scale workloads of issue 19, on the real kube-apiserver, every program against the same
//! server in the same run:
//!
//! - **w7**: a watcher + store over 20,000 ConfigMaps (~1 KiB each): time to the first complete
//!   view, CPU, peak RSS; then 5,000 updates: CPU per event and time until the view is current.
//!   incluster twice: with k8s-openapi's `ConfigMap` (like for like with the peers) and with a
//!   small serde struct (`incluster-small`).
//! - **w7m**: the same, metadata only (kube-rs `metadata_watcher`, client-go metadata informer).
//! - **w8**: a controller with a no-op reconcile over 5,000 ConfigMaps (kube-rs `Controller`,
//!   client-go informer + workqueue): reconciles per CPU-second and write-to-reconcile latency.
//!
//! # The protocol
//!
//! `<program> scale <kind> <namespace> <objects> <updates> <marker>`, kind `watch`,
//! `watch-small`, `metadata` or `controller`. The program prints, flushing each line:
//!
//! 1. `ready cpu=<s> objects=<n>` once its view is complete (w8: once every object has been
//!    reconciled once); `cpu` is its own user+system CPU so far (getrusage).
//! 2. The harness then updates the first `<updates>` objects once each (a merge patch setting the
//!    annotations `bench.incluster/gen=<marker>` and `bench.incluster/sent=<Unix ns>`, 32 in
//!    flight). The program prints `current cpu=<s> p50_ms=<ms> p99_ms=<ms>` once it has seen
//!    (w8: reconciled) every updated object with the marker; the percentiles are of the
//!    latency from the harness sending the update to the program seeing it.
//! 3. `count=<n> sum=<s>`: its final view (the harness checks every program agrees), and exits.
//!
//! The harness times spawn → `ready` (time to the first complete view) and the last update's
//! answer → `current` (lag); CPU per event is (`current` cpu − `ready` cpu) / updates; peak RSS
//! and total CPU come from wait4, as for every other workload.
//!
//! # What incluster calls (w7m, w8)
//!
//! bench/client-incluster turns on `incluster/controller` (`incluster::controller::{metadata_watcher,
//! PartialObjectMetadata, Controller, Action, Object, ObjectMeta, ObjectRef}`), and
//! bench/client-incluster/src/scale.rs (the `client-incluster-scale` binary) runs both kinds
//! (both are in its `KINDS`, so w7m and w8 are in the smoke run):
//! - `metadata`: `incluster::controller::metadata_watcher(client, list)` over the same LIST request
//!   as `watch` (a `Watcher<PartialObjectMetadata>`), then exactly `watch`'s loop: its `Store`,
//!   `ready` at the first `InitDone`, `Progress::observe(name, annotations[GEN], annotations[SENT])`
//!   on every `Apply`; the final sum is Σ (name length + length of the GEN annotation), which is
//!   what kube-rs and client-go print (an `Observed` impl for `PartialObjectMetadata` whose
//!   `data_len` is that annotation's length does it).
//! - `controller`: a bench type `struct Cm { metadata: incluster::controller::ObjectMeta, data:
//!   BTreeMap<String, String> }` with `impl Object` (k8s-openapi's `ConfigMap` cannot implement
//!   incluster's `Object` outside either crate), `Controller::new("bench", client.watcher::<Cm>(list))`
//!   with its defaults and `.run(reconcile, async { let _ = stop.await; })` where
//!   `reconcile(key, Option<Arc<Cm>>)` returns `Ok::<_, std::io::Error>(Action::Done)` after
//!   recording, under a mutex, the names reconciled until all `<objects>` were (then `ready`), and
//!   afterwards calling `Progress::observe` with the object's GEN/SENT annotations; when `observe`
//!   returns true it prints `current` and fires the oneshot `stop`. count/sum = the names of the
//!   first pass, as bench/client-kube/src/scale.rs does.
//!
//! `client-incluster-scale scale-kinds` lists the kinds the binary supports: the smoke run covers
//! the kinds it lists (all but `watch` and `watch-keep`, which need k8s-openapi, outside a full
//! run).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::controlplane::ControlPlane;
use crate::measure::{self, Cost};

/// One program's figures for one run of a scale workload.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    /// wait4: CPU (whole run), wall, peak RSS.
    pub cost: Cost,
    /// Spawn → `ready`, seconds.
    pub view: f64,
    /// CPU seconds at `ready`.
    pub cpu_view: f64,
    /// CPU seconds from `ready` to `current`.
    pub cpu_updates: f64,
    /// The last update's answer → `current`, seconds (may be slightly negative: the watch event
    /// can arrive before the harness reads the PATCH answer).
    pub lag: f64,
    /// Median and 99th percentile update-sent → seen, ms (measured by the program).
    pub p50: f64,
    pub p99: f64,
}

/// What a scale workload is.
pub struct Spec {
    /// `watch`, `watch-small`, `metadata`, `controller` (per program: see [`Program::kind`]).
    pub namespace: &'static str,
    pub objects: usize,
    pub updates: usize,
}

/// The bytes of `data.payload` in every w7/w8 ConfigMap: with the metadata the apiserver adds
/// (uid, resourceVersion, creationTimestamp, managedFields) an object is about 1 KiB of JSON.
const PAYLOAD: usize = 760;

/// Creates `namespace` and `count` ConfigMaps `obj-00000`… in it (32 requests in flight).
pub async fn populate(plane: &ControlPlane, namespace: &str, count: usize) -> Result<(), String> {
    let http = plane.http();
    let created = http
        .post(format!("{}/api/v1/namespaces", plane.server))
        .bearer_auth(&plane.token)
        .header("content-type", "application/json")
        .body(serde_json::json!({"metadata": {"name": namespace}}).to_string())
        .send()
        .await
        .map_err(|e| format!("create namespace {namespace}: {e}"))?;
    if !matches!(created.status().as_u16(), 201 | 409) {
        return Err(format!(
            "create namespace {namespace}: {}",
            created.status()
        ));
    }
    let url = format!("{}/api/v1/namespaces/{namespace}/configmaps", plane.server);
    let results: Vec<Result<(), String>> = futures::stream::iter(0..count)
        .map(|i| {
            let (http, url) = (&http, &url);
            let payload: String = (0..PAYLOAD)
                .map(|k| (b'a' + ((i * 31 + k * 7) % 26) as u8) as char)
                .collect();
            let body = serde_json::json!({
                "metadata": {"name": name(i), "labels": {"app": "bench", "tier": format!("t{}", i % 4)}},
                "data": {"payload": payload}
            })
            .to_string();
            async move {
                let response = http
                    .post(url)
                    .bearer_auth(&plane.token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("create {}: {e}", name(i)))?;
                match response.status().as_u16() {
                    201 | 409 => Ok(()),
                    status => Err(format!(
                        "create {}: {status} {}",
                        name(i),
                        response.text().await.unwrap_or_default()
                    )),
                }
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect()
}

/// The name of object `i`.
pub fn name(i: usize) -> String {
    format!("obj-{i:05}")
}

/// Updates objects `0..updates` of `namespace` once each with `marker`; returns when the last
/// answer arrived.
async fn update(
    plane: &ControlPlane,
    http: &reqwest::Client,
    namespace: &str,
    updates: usize,
    marker: &str,
) -> Result<Instant, String> {
    let results: Vec<Result<(), String>> = futures::stream::iter(0..updates)
        .map(|i| async move {
            let sent = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|e| e.to_string())?
                .as_nanos();
            let body = serde_json::json!({"metadata": {"annotations": {
                "bench.incluster/gen": marker,
                "bench.incluster/sent": sent.to_string(),
            }}});
            let response = http
                .patch(format!(
                    "{}/api/v1/namespaces/{namespace}/configmaps/{}",
                    plane.server,
                    name(i)
                ))
                .bearer_auth(&plane.token)
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string())
                .send()
                .await
                .map_err(|e| format!("update {}: {e}", name(i)))?;
            if response.status() != 200 {
                return Err(format!(
                    "update {}: {} {}",
                    name(i),
                    response.status(),
                    response.text().await.unwrap_or_default()
                ));
            }
            Ok(())
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), String>>()?;
    Ok(Instant::now())
}

/// A value `key=<f64>` of a protocol line.
fn field(line: &str, key: &str) -> Result<f64, String> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .ok_or_else(|| format!("no {key}= in {line:?}"))?
        .parse()
        .map_err(|e| format!("{key} in {line:?}: {e}"))
}

/// Runs `command` (a program's `scale …` invocation) through the measuring launcher, drives the
/// updates, and returns its figures and its final `count=… sum=…` line.
pub fn run_once(
    runtime: &tokio::runtime::Runtime,
    plane: &ControlPlane,
    http: &reqwest::Client,
    command: &Command,
    spec: &Spec,
    marker: &str,
) -> Result<(Run, String), String> {
    let mut launcher = measure::launcher(command);
    launcher
        .env("BENCH_REPORT_PID", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = launcher
        .spawn()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (lines, receive) = mpsc::channel::<(Instant, String)>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    // Standard error is passed through, and its last lines kept for the error message.
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let errors = std::thread::spawn(move || {
        let mut last: Vec<String> = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            last.push(line);
            if last.len() > 3 {
                last.remove(0);
            }
        }
        last.join(" / ")
    });
    let mut pid: Option<i32> = None;
    let outcome = drive(
        runtime, plane, http, spec, marker, started, &receive, &mut pid,
    );
    if outcome.is_err() {
        // Stop the program (the launcher reports it, then exits).
        if let Some(pid) = pid {
            // SAFETY: kill(2) on the pid of the program this launcher started and still waits for.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = reader.join();
    let said = errors.join().unwrap_or_default();
    let outcome = outcome.map_err(|reason| {
        if said.is_empty() {
            reason
        } else {
            format!("{reason}; it said: {said}")
        }
    });
    let rest: Vec<String> = receive.try_iter().map(|(_, l)| l).collect();
    let mut outcome = outcome;
    if let Ok((run, final_line)) = &mut outcome {
        let report = rest
            .iter()
            .find_map(|l| l.strip_prefix(measure::REPORT.trim_start_matches('\n')))
            .ok_or_else(|| format!("{command:?}: no rusage report ({status}); output: {rest:?}"))?;
        let fields: Vec<f64> = report
            .split_whitespace()
            .map(|f| f.parse().unwrap_or(f64::NAN))
            .collect();
        if fields.len() != 3 || fields[0] != 0.0 {
            return Err(format!("{command:?} exited with {:?}", fields.first()));
        }
        run.cost = Cost {
            cpu: fields[1],
            wall: started.elapsed().as_secs_f64(),
            rss_mib: fields[2] / 1024.0,
        };
        if final_line.is_empty() {
            *final_line = rest
                .iter()
                .find(|l| l.starts_with("count="))
                .cloned()
                .ok_or_else(|| format!("{command:?}: no count= line; output: {rest:?}"))?;
        }
    }
    outcome
}

/// Reads the program's protocol lines and drives the updates between `ready` and `current`.
#[allow(clippy::too_many_arguments)]
fn drive(
    runtime: &tokio::runtime::Runtime,
    plane: &ControlPlane,
    http: &reqwest::Client,
    spec: &Spec,
    marker: &str,
    started: Instant,
    receive: &mpsc::Receiver<(Instant, String)>,
    pid: &mut Option<i32>,
) -> Result<(Run, String), String> {
    let mut next = |what: &str, limit: Duration| -> Result<(Instant, String), String> {
        loop {
            let (at, line) = receive.recv_timeout(limit).map_err(|_| {
                format!(
                    "no `{what}` line within {limit:?} (or the program exited; its error is above)"
                )
            })?;
            if let Some(p) = line.strip_prefix(measure::PID) {
                *pid = p.trim().parse().ok();
                continue;
            }
            if line.starts_with(measure::REPORT.trim_start_matches('\n')) {
                return Err(format!("the program exited before `{what}`: {line}"));
            }
            if line.starts_with(what) {
                return Ok((at, line));
            }
            if !line.trim().is_empty() {
                return Err(format!("expected `{what}`, got {line:?}"));
            }
        }
    };
    let (ready_at, ready) = next("ready", Duration::from_secs(600))?;
    let objects = field(&ready, "objects")? as usize;
    if objects != spec.objects {
        return Err(format!(
            "the first complete view holds {objects} objects, not {}",
            spec.objects
        ));
    }
    let mut run = Run {
        view: (ready_at - started).as_secs_f64(),
        cpu_view: field(&ready, "cpu")?,
        ..Run::default()
    };
    if spec.updates == 0 {
        let (_, last) = next("count=", Duration::from_secs(60))?;
        return Ok((run, last));
    }
    let last_answer =
        runtime.block_on(update(plane, http, spec.namespace, spec.updates, marker))?;
    let (current_at, current) = next("current", Duration::from_secs(300))?;
    run.cpu_updates = field(&current, "cpu")? - run.cpu_view;
    run.lag = current_at
        .saturating_duration_since(last_answer)
        .as_secs_f64()
        - last_answer
            .saturating_duration_since(current_at)
            .as_secs_f64();
    run.p50 = field(&current, "p50_ms")?;
    run.p99 = field(&current, "p99_ms")?;
    let (_, last) = next("count=", Duration::from_secs(60))?;
    Ok((run, last))
}
