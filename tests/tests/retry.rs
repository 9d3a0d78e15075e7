//! Retries against the local HTTPS test server: 429 + Retry-After for every verb, 5xx only for
//! idempotent verbs, caps on attempts, and what is logged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use incluster::{Client, Method, Request, Retry};
use incluster_tests::certs::TestCa;
use incluster_tests::logcapture::LogCapture;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde_json::json;

/// A server that answers the n-th request (from 0) with `script(n)`, and a client for it.
async fn scripted(
    retry: Retry,
    script: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (TestServer, Client, PodFs) {
    let ca = TestCa::new("cluster-ca");
    let calls = Arc::new(AtomicUsize::new(0));
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), move |_: &Recorded| {
        script(calls.fetch_add(1, Ordering::SeqCst))
    })
    .await;
    let pod = PodFs::temp("secret-token-for-retries", &ca.cert_pem, "team-a");
    let client = Client::new(pod.config("127.0.0.1", &server.port()).with_retry(retry)).unwrap();
    (server, client, pod)
}

fn status(code: u16, message: &str) -> Reply {
    Reply::json(
        code,
        json!({"kind": "Status", "code": code, "message": message}),
    )
}

fn request(method: Method) -> Request {
    let builder = Request::builder(method.clone(), "/api/v1/namespaces/team-a/configmaps");
    match method {
        Method::GET | Method::DELETE => builder,
        _ => builder.json_body(&json!({"metadata": {"name": "x"}})),
    }
    .build()
    .unwrap()
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_delay_for_every_verb() {
    for method in [Method::GET, Method::POST, Method::PATCH] {
        let (server, client, _pod) = scripted(Retry::default(), |n| match n {
            0 => status(429, "too many requests").header("retry-after", "1"),
            _ => Reply::json(200, json!({"ok": true})),
        })
        .await;
        let started = Instant::now();
        client
            .send(request(method.clone()))
            .await
            .expect("success after the retry");
        // Sleeping guarantees at least the delay: a lower bound, not a timing race.
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{method}: Retry-After honoured"
        );
        let seen = server.requests();
        assert_eq!(seen.len(), 2, "{method}");
        assert_eq!(
            seen[0].body, seen[1].body,
            "{method}: the same body is sent again"
        );
    }
}

#[tokio::test]
async fn a_503_is_retried_for_get_put_delete_but_never_for_post_or_patch() {
    for (method, expected_requests) in [
        (Method::POST, 1),
        (Method::PATCH, 1),
        (Method::GET, 2),
        (Method::PUT, 2),
        (Method::DELETE, 2),
    ] {
        let (server, client, _pod) = scripted(Retry::default(), |n| match n {
            0 => status(503, "unavailable"),
            _ => Reply::json(200, json!({})),
        })
        .await;
        let outcome = client.send(request(method.clone())).await;
        assert_eq!(server.requests().len(), expected_requests, "{method}");
        if expected_requests == 1 {
            let err = outcome.unwrap_err();
            assert_eq!(err.status().map(|s| s.code), Some(503), "{method}");
        } else {
            outcome.unwrap_or_else(|err| panic!("{method}: {err}"));
        }
    }
}

#[tokio::test]
async fn retries_stop_at_the_cap_and_return_the_last_error() {
    let retry = Retry::default()
        .max_attempts(3)
        .backoff(Duration::from_millis(10), Duration::from_millis(20));
    let (server, client, _pod) =
        scripted(retry, |n| status(500, &format!("attempt {}", n + 1))).await;
    let err = client.send(request(Method::GET)).await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(err.status().unwrap().message, "attempt 3");

    // The total-time cap: a Retry-After longer than what is left ends the retries at once.
    let retry = Retry::default().max_elapsed(Duration::from_secs(5));
    let (server, client, _pod) =
        scripted(retry, |_| status(429, "busy").header("retry-after", "60")).await;
    let err = client.send(request(Method::GET)).await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(err.status().unwrap().code, 429);
}

#[tokio::test]
async fn other_4xx_answers_are_never_retried() {
    for code in [400, 403, 404, 409, 410, 422] {
        let (server, client, _pod) = scripted(Retry::default(), move |_| status(code, "no")).await;
        let err = client.send(request(Method::GET)).await.unwrap_err();
        assert_eq!(err.status().unwrap().code, code);
        assert_eq!(server.requests().len(), 1, "{code} was retried");
    }
}

#[tokio::test]
async fn each_retry_is_logged_at_debug_and_never_with_the_token() {
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let retry = Retry::default().backoff(Duration::from_millis(10), Duration::from_millis(20));
    let (server, client, _pod) = scripted(retry, |n| match n {
        0 => status(503, "unavailable"),
        1 => status(429, "busy"),
        _ => Reply::json(200, json!({})),
    })
    .await;
    client.send(request(Method::GET)).await.unwrap();
    // Two retries, as the server saw them; each one logged at DEBUG; the token never.
    assert_eq!(server.requests().len(), 3);
    let logs = capture.contents();
    let debug_lines = logs.lines().filter(|l| l.contains("DEBUG")).count();
    assert!(debug_lines >= 2, "{logs}");
    assert!(!logs.contains("secret-token-for-retries"), "{logs}");
}

/// `at` as an IMF-fixdate (RFC 9110), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(at: std::time::SystemTime) -> String {
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        months[(month - 1) as usize],
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[tokio::test]
async fn a_429_with_an_http_date_retry_after_waits_until_that_date() {
    assert_eq!(
        http_date(std::time::UNIX_EPOCH + Duration::from_secs(784_111_777)),
        "Sun, 06 Nov 1994 08:49:37 GMT"
    );
    let (server, client, _pod) = scripted(Retry::default(), |n| match n {
        0 => status(429, "busy").header(
            "retry-after",
            http_date(std::time::SystemTime::now() + Duration::from_secs(3)),
        ),
        _ => Reply::json(200, json!({"ok": true})),
    })
    .await;
    let started = Instant::now();
    client.send(request(Method::GET)).await.unwrap();
    // The date has whole seconds: at least 2 s of the 3 were waited (a lower bound, no race).
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);

    // A date beyond the retry budget (30 s): the 429 is returned at once, not retried early.
    let (server, client, _pod) = scripted(Retry::default(), |_| {
        status(429, "busy").header(
            "retry-after",
            http_date(std::time::SystemTime::now() + Duration::from_secs(120)),
        )
    })
    .await;
    let err = client.send(request(Method::GET)).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.code), Some(429));
    assert_eq!(server.requests().len(), 1);
}

/// A plain-http server that reads each request's head and closes the connection without a
/// word; returns its port and the count of requests it swallowed.
async fn swallowing_server() -> (u16, Arc<AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    if head.windows(4).any(|w| w == b"\r\n\r\n") {
                        seen.fetch_add(1, Ordering::SeqCst);
                        return; // dropped: closed after the request was written
                    }
                }
            });
        }
    });
    (port, count)
}

#[tokio::test]
async fn a_request_lost_after_it_was_written_is_sent_again_only_if_it_is_a_get() {
    let retry = Retry::default().backoff(Duration::from_millis(10), Duration::from_millis(20));
    for (method, expected) in [
        (Method::GET, 5),
        (Method::PUT, 1),
        (Method::DELETE, 1),
        (Method::POST, 1),
        (Method::PATCH, 1),
    ] {
        let (port, count) = swallowing_server().await;
        let config = incluster::Config::proxy(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_retry(retry);
        let client = Client::new(config).unwrap();
        let err = client.send(request(method.clone())).await.unwrap_err();
        assert!(
            matches!(err, incluster::Error::Transport { .. }),
            "{method}: {err}"
        );
        assert_eq!(count.load(Ordering::SeqCst), expected, "{method}");
    }
}
