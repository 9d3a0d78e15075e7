//! `/healthz` and `/readyz` for the Deployment's probes: a tiny HTTP/1 responder on tokio (one
//! request per connection, bounded read, short timeout), so no web framework is pulled in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Answers `GET /healthz` (always 200 while the process serves) and `GET /readyz` (200 when
/// `ready`, else 503); anything else is 404.
pub async fn serve(listener: TcpListener, ready: Arc<AtomicBool>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let ready = ready.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(stream, &ready)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, ready: &AtomicBool) -> std::io::Result<()> {
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
    let (status, body) = match path {
        "/healthz" => ("200 OK", "ok\n"),
        "/readyz" if ready.load(Ordering::SeqCst) => ("200 OK", "ok\n"),
        "/readyz" => ("503 Service Unavailable", "not ready\n"),
        _ => ("404 Not Found", "not found\n"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
