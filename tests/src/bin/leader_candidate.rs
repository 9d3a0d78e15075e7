//! A leader-election candidate in a simulated Pod, for the leader election test.
//!
//! Usage: `leader_candidate <namespace> <lease> <identity> <history file> <lease s> <renew s> <retry ms>`.
//! Stands for the lease; while leading, the history file gets `start <identity> <unix µs>` when
//! leadership begins and `stop <identity> <unix µs> <why>` before it ends (SIGTERM: stop acting,
//! then release the lease and exit 0; lost: stand again). Each line is written and synced
//! before the candidate acts on it, so the file never shows a leader that was not one.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use incluster::leader::{LeaderElection, LeaseSettings};
use tokio::signal::unix::{signal, SignalKind};

fn record(path: &str, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("history file");
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let (event, rest) = line.split_once(' ').unwrap_or((line, ""));
    writeln!(file, "{event} {micros} {rest}").expect("write history");
    file.sync_all().expect("sync history");
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [namespace, lease, identity, history, lease_s, renew_s, retry_ms] = &args[..] else {
        panic!("usage: leader_candidate <namespace> <lease> <identity> <history> <lease s> <renew s> <retry ms>");
    };
    let secs = |s: &str| Duration::from_secs(s.parse().expect("seconds"));
    let settings = LeaseSettings::new(namespace, lease, identity)
        .lease_duration(secs(lease_s))
        .renew_deadline(secs(renew_s))
        .retry_period(Duration::from_millis(retry_ms.parse().expect("ms")));
    let client = incluster_examples::client_from_env().expect("client");
    let election = LeaderElection::new(client, settings);
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    println!("candidate {identity} ready");
    loop {
        let leadership = tokio::select! {
            leadership = election.acquire() => leadership.expect("acquire"),
            _ = term.recv() => return,
        };
        record(history, &format!("start {identity}"));
        println!("leading {identity}");
        tokio::select! {
            _ = leadership.lost() => {
                record(history, &format!("stop {identity} lost"));
                println!("lost {identity}");
            }
            _ = term.recv() => {
                record(history, &format!("stop {identity} released"));
                leadership.release().await.expect("release");
                println!("released {identity}");
                return;
            }
        }
    }
}
