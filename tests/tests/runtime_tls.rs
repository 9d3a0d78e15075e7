//! The runtime against a local HTTPS server with certificates minted in the test: CA pinning,
//! server identity, no plain-http fallback, token rotation, the 401 retry, Status decoding, and
//! logs that never show the token. Independent of the control plane.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use incluster::{Client, Config, Error, Method, Request};
use incluster_tests::certs::TestCa;
use incluster_tests::logcapture::LogCapture;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde_json::json;

fn ok_handler(_: &Recorded) -> Reply {
    Reply::json(200, json!({"kind": "APIVersions", "versions": ["v1"]}))
}

fn get_api() -> Request {
    Request::builder(Method::GET, "/api").build().unwrap()
}

#[tokio::test]
async fn the_right_ca_is_accepted_over_http2_with_the_bearer_token() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), ok_handler).await;
    let pod = PodFs::temp("token-one\n", &ca.cert_pem, "team-a");
    let client = pod.client(&server);
    let body: serde_json::Value = client.json(get_api()).await.unwrap();
    assert_eq!(body["kind"], "APIVersions");
    let seen = &server.requests()[0];
    assert_eq!(seen.header("authorization"), Some("Bearer token-one"));
    assert_eq!(
        seen.header("user-agent"),
        Some(format!("incluster/{}", env!("CARGO_PKG_VERSION")).as_str()),
        "the workspace shares one version, so the tests crate's is incluster's"
    );
    assert_eq!(seen.version, "HTTP/2.0");
    assert_eq!(client.namespace(), "team-a");
}

#[tokio::test]
async fn a_foreign_ca_is_refused_with_a_tls_error_naming_the_server() {
    let ours = TestCa::new("cluster-ca");
    let foreign = TestCa::new("foreign-ca");
    let server = TestServer::https(&foreign.server_cert(&["127.0.0.1"], &[]), ok_handler).await;
    let pod = PodFs::temp("t", &ours.cert_pem, "team-a");
    let client = pod.client(&server);
    match client.json::<serde_json::Value>(get_api()).await {
        Err(Error::Tls {
            server: name,
            message,
            source,
        }) => {
            assert_eq!(name, format!("https://127.0.0.1:{}", server.port()));
            assert_eq!(
                source,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
            );
            assert!(message.contains("ca.crt"), "{message}");
        }
        other => panic!("expected Error::Tls, got {other:?}"),
    }
    assert!(
        server.requests().is_empty(),
        "no request may reach an untrusted server"
    );
}

#[tokio::test]
async fn a_certificate_for_another_address_is_refused() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(
        &ca.server_cert(&["127.0.0.2"], &["kubernetes.default.svc"]),
        ok_handler,
    )
    .await;
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    let client = pod.client(&server);
    let err = client
        .json::<serde_json::Value>(get_api())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { message, .. } if message.contains("not valid for name \"127.0.0.1\"")),
        "{err:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_plain_http_server_is_refused_in_cluster_mode() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::http(ok_handler).await;
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    let client = pod.client(&server);
    let err = client
        .json::<serde_json::Value>(get_api())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Tls { message, .. } if message.contains("does not seem to speak TLS")),
        "{err:?}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing may be sent in clear text"
    );
}

#[tokio::test]
async fn a_rotated_token_is_seen_within_the_reread_period() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), ok_handler).await;
    let pod = PodFs::temp("first", &ca.cert_pem, "team-a");
    let config = pod
        .config("127.0.0.1", &server.port())
        .with_token_reread_interval(Duration::from_millis(300));
    let client = Client::new(config).unwrap();
    client.send_ignoring_body(get_api()).await.unwrap();
    pod.rotate_token("second\n");
    client.send_ignoring_body(get_api()).await.unwrap(); // within the period: still the cached token
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.send_ignoring_body(get_api()).await.unwrap();
    let tokens: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(tokens, ["Bearer first", "Bearer first", "Bearer second"]);
    pod.rotate_token("");
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.send_ignoring_body(get_api()).await.unwrap();
    assert_eq!(
        server.requests()[3].header("authorization"),
        Some("Bearer second"),
        "an empty file keeps the last good token"
    );
}

#[tokio::test]
async fn a_401_rereads_the_token_and_retries_exactly_once() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |req: &Recorded| {
        if req.header("authorization") == Some("Bearer rotated") {
            ok_handler(req)
        } else {
            Reply::json(401, json!({"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "Unauthorized"}))
        }
    })
    .await;
    let pod = PodFs::temp("expired", &ca.cert_pem, "team-a");
    let client = pod.client(&server); // default 60 s period
    pod.rotate_token("rotated");
    client.send_ignoring_body(get_api()).await.unwrap();
    let tokens: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(
        tokens,
        ["Bearer expired", "Bearer rotated"],
        "one 401, then exactly one retry"
    );

    // An unchanged token after a 401 is not retried: the 401 is the answer.
    pod.rotate_token("still-bad");
    let pod2 = PodFs::temp("still-bad", &ca.cert_pem, "team-a");
    let client = pod2.client(&server);
    let before = server.requests().len();
    let err = client.send_ignoring_body(get_api()).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(server.requests().len(), before + 1);
}

#[tokio::test]
async fn status_bodies_become_api_errors() {
    let ca = TestCa::new("cluster-ca");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), move |_: &Recorded| {
        match counter.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::json(404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404, "reason": "NotFound",
                "message": "configmaps \"x\" not found", "details": {"name": "x", "kind": "configmaps"}})),
            1 => Reply::json(429, json!({"kind": "Status", "code": 429, "reason": "TooManyRequests", "message": "slow down",
                "details": {"retryAfterSeconds": 7, "causes": [{"reason": "FlowControl", "message": "busy"}]}})),
            2 => Reply::text(502, "<html>bad gateway</html>"),
            _ => Reply::json(200, json!({"unexpected": true})),
        }
    })
    .await;
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    // One answer per request: no retry of the 429 here (tests/retry.rs covers retries).
    let config = pod
        .config("127.0.0.1", &server.port())
        .with_retry(incluster::Retry::none());
    let client = Client::new(config).unwrap();

    let err = client.send_ignoring_body(get_api()).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_forbidden());
    assert_eq!(err.status().unwrap().details.as_ref().unwrap().name, "x");

    let err = client.send_ignoring_body(get_api()).await.unwrap_err();
    let details = err.status().unwrap().details.clone().unwrap();
    assert_eq!(
        (
            details.retry_after_seconds,
            details.causes[0].reason.as_str()
        ),
        (Some(7), "FlowControl")
    );

    let err = client.send_ignoring_body(get_api()).await.unwrap_err();
    let status = err.status().unwrap();
    assert_eq!((status.code, status.reason.as_str()), (502, "BadGateway"));
    assert!(status.message.contains("bad gateway"));

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        kind: String,
    }
    match client.json::<Strict>(get_api()).await {
        Err(Error::Decode {
            type_name,
            excerpt,
            request,
            ..
        }) => {
            assert!(type_name.ends_with("Strict"));
            assert!(excerpt.contains("unexpected"));
            assert_eq!(request, "GET /api");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn the_token_never_appears_in_logs_debug_or_errors() {
    let capture = LogCapture::default();
    let _guard = tracing::subscriber::set_default(capture.subscriber());
    let secret = "sEcReT-tOkEn-value-0123456789";
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |_: &Recorded| {
        Reply::json(
            401,
            json!({"kind": "Status", "code": 401, "reason": "Unauthorized"}),
        )
    })
    .await;
    let pod = PodFs::temp(secret, &ca.cert_pem, "team-a");
    let config = pod.config("127.0.0.1", &server.port());
    let client = Client::new(config.clone()).unwrap();
    pod.rotate_token(&format!("{secret}-rotated"));
    let err = client.send_ignoring_body(get_api()).await.unwrap_err();
    pod.rotate_token("");
    let _ = client.send_ignoring_body(get_api()).await;
    let printed = format!("{config:?} {client:?} {err} {err:?}");
    let logs = capture.contents();
    // The 401 was retried once with the re-read token (what the server saw, not log wording).
    let seen = server.requests();
    assert_eq!(
        seen[1].header("authorization"),
        Some(format!("Bearer {secret}-rotated").as_str())
    );
    assert!(!logs.is_empty(), "the retry should be logged");
    assert!(!logs.contains(secret), "token in logs:\n{logs}");
    assert!(
        !printed.contains(secret),
        "token in Debug/Display: {printed}"
    );
}

#[tokio::test]
async fn a_new_ca_crt_is_picked_up_and_a_broken_one_keeps_the_old_roots() {
    let old_ca = TestCa::new("old-ca");
    let new_ca = TestCa::new("new-ca");
    let server = TestServer::https(&new_ca.server_cert(&["127.0.0.1"], &[]), ok_handler).await;
    let pod = PodFs::temp("t", &old_ca.cert_pem, "team-a");
    let config = pod
        .config("127.0.0.1", &server.port())
        .with_ca_recheck_interval(Duration::from_millis(200));
    let client = Client::new(config).unwrap();
    assert!(matches!(
        client.send_ignoring_body(get_api()).await,
        Err(Error::Tls { .. })
    ));

    pod.write_file("ca.crt", "garbage");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        matches!(
            client.send_ignoring_body(get_api()).await,
            Err(Error::Tls { .. })
        ),
        "broken file: old roots kept"
    );

    pod.write_file("ca.crt", format!("{}{}", old_ca.cert_pem, new_ca.cert_pem));
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .send_ignoring_body(get_api())
        .await
        .expect("the new bundle is trusted");
}

#[tokio::test]
async fn proxy_mode_sends_no_authorization_header() {
    let server = TestServer::http(ok_handler).await;
    let client =
        Client::new(Config::proxy(&format!("http://127.0.0.1:{}", server.port())).unwrap())
            .unwrap();
    client.send_ignoring_body(get_api()).await.unwrap();
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_request_timeout_ends_a_slow_request() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |req: &Recorded| {
        if req.target.starts_with("/slow") {
            std::thread::sleep(Duration::from_secs(2));
        }
        ok_handler(req)
    })
    .await;
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    let client = pod.client(&server);
    let slow = Request::builder(Method::GET, "/slow")
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    match client.send_ignoring_body(slow).await {
        Err(Error::Transport {
            message, source, ..
        }) => {
            assert!(source.is_timeout(), "{source:?}");
            // What happened, with the limit that was spent; no advice to raise a limit.
            assert!(message.contains("0.2 s"), "{message}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The per-call limit is this call's only: the next call has the client's (70 s) default.
    client
        .send_ignoring_body(get_api())
        .await
        .expect("the client is still usable afterwards");
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transport_error_saying_what_to_check() {
    let ca = TestCa::new("cluster-ca");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    let client = Client::new(pod.config("127.0.0.1", &port.to_string())).unwrap();
    match client.send_ignoring_body(get_api()).await {
        Err(Error::Transport {
            server,
            message,
            source,
        }) => {
            assert_eq!(server, format!("https://127.0.0.1:{port}"));
            assert!(source.is_connect(), "{source:?}");
            assert!(
                message.starts_with("could not connect")
                    && message.contains("KUBERNETES_SERVICE_HOST"),
                "{message}"
            );
        }
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

#[tokio::test]
async fn an_ipv6_service_host_is_reached_and_verified_by_its_ip_san() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https_on("[::1]:0", &ca.server_cert(&["::1"], &[]), ok_handler).await;
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    let config = pod.config("::1", &server.port());
    assert_eq!(config.server(), format!("https://[::1]:{}", server.port()));
    Client::new(config)
        .unwrap()
        .send_ignoring_body(get_api())
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}
