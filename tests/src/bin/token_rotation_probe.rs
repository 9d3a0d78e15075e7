//! In a real Pod whose projected service-account token is short-lived: keeps calling the API
//! while the kubelet replaces the token, and reports (as one JSON line) how many requests were
//! made, how many failed, and how many times the token file changed under it. The token itself
//! is never printed.
//!
//! Usage: `token-rotation-probe <seconds> <concurrency>`; exits 0 when no request failed and the
//! token file changed at least once.

use std::time::{Duration, Instant};

use incluster::{Client, Method, Request};
use serde_json::json;

const TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(660);
    let concurrency: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let client = Client::in_cluster().expect("in-cluster client");
    let namespace = client.namespace().to_string();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut last_token = std::fs::read(TOKEN).expect("token file");
    let (mut requests, mut failed, mut changes) = (0u64, 0u64, 0u64);
    let mut change_times = Vec::new();
    let mut errors = Vec::new();
    while Instant::now() < deadline {
        let calls = (0..concurrency).map(|_| {
            let request =
                Request::builder(Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
                    .path_param("namespace", &namespace)
                    .query("limit", &1)
                    .build()
                    .expect("request");
            client.send_ignoring_body(request)
        });
        for outcome in futures::future::join_all(calls).await {
            requests += 1;
            if let Err(err) = outcome {
                failed += 1;
                if errors.len() < 5 {
                    errors.push(err.to_string());
                }
            }
        }
        let token = std::fs::read(TOKEN).unwrap_or_default();
        if !token.is_empty() && token != last_token {
            changes += 1;
            change_times.push(started.elapsed().as_secs());
            last_token = token;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "{}",
        json!({"requests": requests, "failed": failed, "token_changes": changes,
               "changed_at_s": change_times, "errors": errors, "ran_s": started.elapsed().as_secs()})
    );
    if failed > 0 || changes == 0 {
        std::process::exit(1);
    }
}
