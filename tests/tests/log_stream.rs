//! `LineStream` against the local HTTPS test server, which streams its reply chunk by chunk as
//! the test says (the test control plane has no kubelet, so no real Pod logs): lines arrive
//! while the response is still open, long lines are cut, failures are clear errors.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use incluster::{Client, LineStream, Method, Request, CUT_MARKER};
use incluster_tests::certs::TestCa;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, StreamingReply, TestServer};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};

type Sender = UnboundedSender<Result<Bytes, std::io::Error>>;

/// A server whose every reply streams what the test sends through the returned channel.
struct LogServer {
    server: TestServer,
    senders: Arc<Mutex<Vec<Sender>>>,
    _pod: PodFs,
    client: Client,
}

impl LogServer {
    async fn start(name: &str, status: u16) -> LogServer {
        let ca = TestCa::new("log-ca");
        let senders: Arc<Mutex<Vec<Sender>>> = Arc::default();
        let registered = senders.clone();
        let server = TestServer::https_streaming(
            &ca.server_cert(&["127.0.0.1"], &[]),
            move |_: &Recorded| {
                let (sender, chunks) = unbounded_channel();
                if status != 200 {
                    let body = format!(
                        r#"{{"kind":"Status","code":{status},"reason":"NotFound","message":"pods \"web-0\" not found"}}"#
                    );
                    sender.send(Ok(Bytes::from(body))).unwrap();
                } else {
                    registered.lock().unwrap().push(sender);
                }
                StreamingReply {
                    status,
                    content_type: if status == 200 {
                        "text/plain"
                    } else {
                        "application/json"
                    },
                    chunks,
                }
            },
        )
        .await;
        let dir =
            std::env::temp_dir().join(format!("incluster-logs-{name}-{}", std::process::id()));
        let pod = PodFs::new(&dir, "log-token", &ca.cert_pem, "team-a");
        let port = server.port();
        let config = pod.config("127.0.0.1", &port);
        LogServer {
            server,
            senders,
            _pod: pod,
            client: Client::new(config).unwrap(),
        }
    }

    /// The body sender of the first (only) request.
    fn sender(&self) -> Sender {
        self.senders.lock().unwrap()[0].clone()
    }

    fn send(&self, chunk: &[u8]) {
        self.sender()
            .send(Ok(Bytes::copy_from_slice(chunk)))
            .unwrap();
    }
}

fn log_request() -> Request {
    Request::builder(
        Method::GET,
        "/api/v1/namespaces/{namespace}/pods/{name}/log",
    )
    .path_param("namespace", "team-a")
    .path_param("name", "web-0")
    .query("follow", &true)
    .build()
    .unwrap()
}

async fn next(lines: &mut LineStream) -> String {
    lines.next().await.expect("a line").expect("not an error")
}

#[tokio::test]
async fn follows_lines_as_they_arrive_and_cuts_long_ones() {
    let logs = LogServer::start("follow", 200).await;
    // Through the function a generated `-> Result<LineStream>` method calls.
    let mut lines = incluster::__private::lines(&logs.client, Ok(log_request()))
        .await
        .unwrap();
    let seen = &logs.server.requests()[0];
    assert_eq!(
        seen.target,
        "/api/v1/namespaces/team-a/pods/web-0/log?follow=true"
    );

    // Each line is yielded while the response is still open: the test sends the next chunk
    // only after the previous line came out.
    logs.send(b"first line\n");
    assert_eq!(next(&mut lines).await, "first line");
    logs.send(b"sec");
    logs.send(b"ond ");
    logs.send(b"line\r\nthird\n");
    assert_eq!(next(&mut lines).await, "second line");
    assert_eq!(next(&mut lines).await, "third");

    // A 1 MiB line, in 1 KiB chunks: cut at 64 KiB, the rest skipped, the next line whole.
    let long = vec![b'x'; 1024];
    for _ in 0..1024 {
        logs.send(&long);
    }
    logs.send(b"\nafter the long line\n");
    let cut = next(&mut lines).await;
    assert_eq!(
        cut.len(),
        incluster::DEFAULT_MAX_LINE_BYTES + CUT_MARKER.len()
    );
    assert!(cut.ends_with(CUT_MARKER));
    assert_eq!(next(&mut lines).await, "after the long line");

    // The container stops: the last line without a newline, then the end.
    logs.send(b"exit 0");
    logs.senders.lock().unwrap().clear();
    assert_eq!(next(&mut lines).await, "exit 0");
    assert!(lines.next().await.is_none());
}

#[tokio::test]
async fn a_smaller_limit_cuts_earlier() {
    let logs = LogServer::start("limit", 200).await;
    let mut lines = logs
        .client
        .lines(log_request())
        .await
        .unwrap()
        .max_line_bytes(8);
    logs.send(b"0123456789abcdef\nok\n");
    assert_eq!(next(&mut lines).await, format!("01234567{CUT_MARKER}"));
    assert_eq!(next(&mut lines).await, "ok");
}

#[tokio::test]
async fn a_missing_pod_is_a_not_found_error_before_any_line() {
    let logs = LogServer::start("missing", 404).await;
    let err = logs.client.lines(log_request()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("web-0"), "{err}");
}

#[tokio::test]
async fn a_connection_cut_mid_line_is_an_error_that_ends_the_stream() {
    let logs = LogServer::start("cut", 200).await;
    let mut lines = logs.client.lines(log_request()).await.unwrap();
    logs.send(b"complete\nhalf a li");
    assert_eq!(next(&mut lines).await, "complete");
    logs.sender()
        .send(Err(std::io::Error::other("kubelet went away")))
        .unwrap();
    let err = lines.next().await.expect("an item").unwrap_err();
    assert!(matches!(err, incluster::Error::Transport { .. }), "{err:?}");
    assert!(
        lines.next().await.is_none(),
        "the stream ends after the error"
    );
}
