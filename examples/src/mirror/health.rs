//! `/healthz`, `/readyz` and `/metrics` on a tiny HTTP/1 responder on tokio (one request per
//! connection, bounded read, short timeout), so no web framework is pulled in.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the probes read.
#[derive(Clone)]
pub struct Probes {
    /// `/healthz`: 200 while this is true (no wedged worker), else 503.
    pub healthy: Arc<dyn Fn() -> bool + Send + Sync>,
    /// `/readyz`: 200 while this is true, else 503.
    pub ready: Arc<dyn Fn() -> bool + Send + Sync>,
    /// `/metrics`: the Prometheus text exposition, if an exporter is installed.
    pub metrics: Option<Arc<dyn Fn() -> String + Send + Sync>>,
}

/// Answers `GET /healthz`, `GET /readyz` and `GET /metrics`; anything else is 404.
pub async fn serve(listener: TcpListener, probes: Probes) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let probes = probes.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(stream, &probes)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, probes: &Probes) -> std::io::Result<()> {
    let mut buf = [0u8; 1024];
    let mut len = 0;
    while len < buf.len() && !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let path = head.split_whitespace().nth(1).unwrap_or("");
    let check = |ok: bool| {
        if ok {
            ("200 OK", "ok\n".to_string())
        } else {
            ("503 Service Unavailable", "not ok\n".to_string())
        }
    };
    let (status, body) = match (path, &probes.metrics) {
        ("/healthz", _) => check((probes.healthy)()),
        ("/readyz", _) => check((probes.ready)()),
        ("/metrics", Some(render)) => ("200 OK", render()),
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
