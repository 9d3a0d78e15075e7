//! Makes one request through incluster in its own process and reports the outcome and the
//! process's peak RSS, so tests can bound the memory an oversized answer costs.
//!
//! `body_probe URL PATH MAX_RESPONSE_BYTES` (proxy mode to a loopback test server) prints one JSON
//! line: `{"outcome": "ok"|"<Error variant>", "display_bytes": N, "peak_rss_kib": N}`.

use incluster::{Client, Config, Error, Method, Request, Retry};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, path, limit] = args.as_slice() else {
        eprintln!("usage: body_probe URL PATH MAX_RESPONSE_BYTES");
        std::process::exit(2);
    };
    let path: &'static str = Box::leak(path.clone().into_boxed_str());
    let config = Config::proxy(url)
        .expect("proxy URL")
        .with_retry(Retry::none())
        .with_max_response_bytes(limit.parse().expect("limit"));
    let client = Client::new(config).expect("client");
    let request = Request::builder(Method::GET, path)
        .build()
        .expect("request");
    let (outcome, display) = match client.send(request).await {
        Ok(response) => ("ok".to_string(), response.body().len()),
        Err(err) => {
            let variant = match &err {
                Error::Api(_) => "Api",
                Error::ResponseTooLarge { .. } => "ResponseTooLarge",
                Error::Transport { .. } => "Transport",
                _ => "Other",
            };
            (variant.to_string(), err.to_string().len())
        }
    };
    println!(
        "{}",
        serde_json::json!({"outcome": outcome, "display_bytes": display, "peak_rss_kib": peak_rss_kib()})
    );
}

/// `VmHWM` of /proc/self/status: the peak resident set size in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
