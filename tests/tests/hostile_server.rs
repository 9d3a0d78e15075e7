//! A compromised or buggy server behind the API address: redirects, oversized and endless bodies,
//! huge error messages, TLS sessions that outlive a CA rotation, expired trust anchors. Each
//! behaviour is scripted in the project's own test server on loopback.

use std::time::Duration;
use tokio::process::Command;

use bytes::Bytes;
use incluster::{Client, Config, Error, Method, Request, Retry};
use incluster_tests::certs::TestCa;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde_json::json;

fn ok(_: &Recorded) -> Reply {
    Reply::json(200, json!({"kind": "APIVersions"}))
}

fn get(path: &'static str) -> Request {
    Request::builder(Method::GET, path).build().unwrap()
}

#[tokio::test]
async fn a_redirect_is_an_error_and_nothing_reaches_its_target() {
    let ca = TestCa::new("cluster-ca");
    let cert = ca.server_cert(&["127.0.0.1"], &[]);
    let target = TestServer::https(&cert, ok).await;
    let location = format!("https://127.0.0.1:{}/steal?from=api", target.port());
    let api = TestServer::https(&cert, move |_: &Recorded| {
        Reply::text(307, "").header("location", location.clone())
    })
    .await;
    let pod = PodFs::temp("secret-token", &ca.cert_pem, "team-a");
    let client = pod.client(&api);
    let request = Request::builder(Method::POST, "/api/v1/namespaces/{namespace}/configmaps")
        .path_param("namespace", "team-a")
        .json_body(&json!({"metadata": {"name": "x"}}))
        .build()
        .unwrap();
    match client.send(request).await {
        Err(Error::Redirect {
            status, location, ..
        }) => {
            assert_eq!(status, 307);
            assert_eq!(location, format!("https://127.0.0.1:{}", target.port()));
        }
        other => panic!("expected Error::Redirect, got {other:?}"),
    }
    assert!(
        target.requests().is_empty(),
        "the redirect target got a request"
    );
    assert_eq!(target.connections(), 0, "not even a connection");
    assert_eq!(api.requests().len(), 1, "a redirect is not retried");
    assert!(api.requests()[0].header("referer").is_none());
}

#[tokio::test]
async fn a_proxy_redirect_to_plain_http_elsewhere_is_not_followed() {
    let target = TestServer::http(ok).await;
    let location = format!("http://127.0.0.1:{}/", target.port());
    let proxy = TestServer::http(move |_: &Recorded| {
        Reply::text(308, "moved").header("location", location.clone())
    })
    .await;
    let client =
        Client::new(Config::proxy(&format!("http://127.0.0.1:{}", proxy.port())).unwrap()).unwrap();
    let err = client.send(get("/api")).await.unwrap_err();
    assert!(
        matches!(err, Error::Redirect { status: 308, .. }),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("does not follow redirects"), "{shown}");
    assert!(target.requests().is_empty());
}

/// Runs `body_probe` against `path` of `server` with `env` added to its environment, and returns
/// (outcome, display bytes, peak RSS KiB).
async fn probe(
    server: &TestServer,
    path: &str,
    max_response_bytes: u64,
    env: &[(&str, &str)],
) -> (String, u64, u64) {
    let output = Command::new(env!("CARGO_BIN_EXE_body_probe"))
        .arg(format!("http://127.0.0.1:{}", server.port()))
        .arg(path)
        .arg(max_response_bytes.to_string())
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run body_probe");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).expect("probe JSON");
    println!("{path}: {line}");
    (
        line["outcome"].as_str().unwrap().to_string(),
        line["display_bytes"].as_u64().unwrap(),
        line["peak_rss_kib"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn a_plain_http_proxy_needs_no_ca_bundle_on_the_machine() {
    // An image without a CA bundle: the platform roots are not needed for http to loopback.
    let server = TestServer::http(ok).await;
    let no_bundle = [
        ("SSL_CERT_FILE", "/nonexistent/ca-certificates.crt"),
        ("SSL_CERT_DIR", "/nonexistent"),
    ];
    let (outcome, _, _) = probe(&server, "/api", 1 << 20, &no_bundle).await;
    assert_eq!(outcome, "ok");
}

/// `total` bytes of `byte`, in 1 MiB chunks, generated as they are sent.
fn chunks(total: u64, byte: u8) -> impl futures::Stream<Item = Bytes> + Send {
    let chunk = Bytes::from(vec![byte; 1 << 20]);
    futures::stream::iter((0..total.div_ceil(1 << 20)).map(move |_| chunk.clone()))
}

/// 1 MiB chunks without end.
fn endless() -> impl futures::Stream<Item = Bytes> + Send {
    futures::stream::repeat(Bytes::from(vec![b' '; 1 << 20]))
}

/// A `Status` whose message is `total` bytes, streamed.
fn huge_status(total: u64) -> impl futures::Stream<Item = Bytes> + Send {
    let head = futures::stream::once(async {
        Bytes::from_static(br#"{"kind":"Status","code":500,"reason":"InternalError","message":""#)
    });
    let tail = futures::stream::once(async { Bytes::from_static(br#""}"#) });
    futures::StreamExt::chain(futures::StreamExt::chain(head, chunks(total, b'x')), tail)
}

// Peak RSS bounds for the probe process. Its baseline (runtime, TLS, allocator) is ~10 MiB; each
// bound leaves room for that plus the stated limit, far below what reading the whole body costs.
const SMALL_BOUND_KIB: u64 = 48 * 1024;

#[tokio::test]
async fn oversized_and_endless_bodies_cost_bounded_memory() {
    let server = TestServer::http(|req: &Recorded| match req.target.as_str() {
        // 300 MB of Status message: only the first 1 MiB of an error body is read.
        "/huge-status" => Reply::streamed(500, "application/json", huge_status(300 << 20)),
        // 300 MB of HTML error page.
        "/huge-html" => Reply::streamed(502, "text/html", chunks(300 << 20, b'h')),
        // 2 GiB of success body, and a chunked body that never ends.
        "/huge-ok" => Reply::streamed(200, "application/json", chunks(2 << 30, b' ')),
        "/endless" => Reply::streamed(200, "application/json", endless()),
        _ => Reply::json(404, json!({})),
    })
    .await;
    let limit = 8 << 20;
    for (path, expected) in [
        ("/huge-status", "Api"),
        ("/huge-html", "Api"),
        ("/huge-ok", "ResponseTooLarge"),
        ("/endless", "ResponseTooLarge"),
    ] {
        let (outcome, display_bytes, peak_rss_kib) = probe(&server, path, limit, &[]).await;
        assert_eq!(outcome, expected, "{path}");
        assert!(
            display_bytes < 2048,
            "{path}: the error message is {display_bytes} bytes"
        );
        assert!(
            peak_rss_kib < SMALL_BOUND_KIB,
            "{path}: peak RSS {peak_rss_kib} KiB, bound {SMALL_BOUND_KIB} KiB"
        );
    }
}

#[tokio::test]
async fn the_default_response_limit_stops_an_endless_body() {
    let server =
        TestServer::http(|_: &Recorded| Reply::streamed(200, "application/json", endless())).await;
    let (outcome, _, peak_rss_kib) = probe(
        &server,
        "/endless",
        incluster::DEFAULT_MAX_RESPONSE_BYTES,
        &[],
    )
    .await;
    assert_eq!(outcome, "ResponseTooLarge");
    // The default limit is 256 MiB: memory is bounded by it (plus the baseline and buffer growth).
    let bound = 2 * (incluster::DEFAULT_MAX_RESPONSE_BYTES >> 10) + SMALL_BOUND_KIB;
    assert!(
        peak_rss_kib < bound,
        "peak RSS {peak_rss_kib} KiB, bound {bound} KiB"
    );
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_reading_it() {
    let server = TestServer::http(|_: &Recorded| {
        let mut reply = Reply::json(200, json!({}));
        reply.body = vec![b' '; 4096];
        reply
    })
    .await;
    let client = Client::new(
        Config::proxy(&format!("http://127.0.0.1:{}", server.port()))
            .unwrap()
            .with_max_response_bytes(1024),
    )
    .unwrap();
    let err = client.send(get("/api")).await.unwrap_err();
    match &err {
        Error::ResponseTooLarge { request, limit } => {
            assert_eq!((request.as_str(), *limit), ("GET /api", 1024));
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(err.to_string().contains("Config::with_max_response_bytes"));
}

#[tokio::test]
async fn after_a_ca_rotation_no_tls_session_is_resumed_under_the_old_roots() {
    let old_ca = TestCa::new("old-ca");
    let new_ca = TestCa::new("new-ca");
    let server = TestServer::https(&old_ca.server_cert(&["127.0.0.1"], &[]), ok).await;
    let pod = PodFs::temp("t", &old_ca.cert_pem, "team-a");
    let config = pod
        .config("127.0.0.1", &server.port())
        .with_ca_recheck_interval(Duration::from_millis(100))
        .with_retry(Retry::none());
    let client = Client::new(config).unwrap();
    client
        .send(get("/api"))
        .await
        .expect("the old CA signs the server");
    // The kubelet rotates ca.crt to a bundle that no longer signs this server.
    pod.write_file("ca.crt", &new_ca.cert_pem);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = client.send(get("/api")).await.unwrap_err();
    match err {
        Error::Tls { source, .. } => assert_eq!(
            source,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        other => panic!("a resumed session or pooled connection was used: {other:?}"),
    }
    assert_eq!(
        server.requests().len(),
        1,
        "nothing reached the server after the rotation"
    );
}

#[tokio::test]
async fn an_expired_anchor_is_refused_naming_ca_crt() {
    let expired = TestCa::with_validity("expired-ca", (2015, 1, 1), (2016, 1, 1));
    let pod = PodFs::temp("t", &expired.cert_pem, "team-a");
    let options = pod.options("127.0.0.1", "6443");
    let err = Config::in_cluster_with(options).unwrap_err().to_string();
    assert!(
        err.contains("ca.crt") && err.contains("expired on 2016-01-01T00:00:00Z"),
        "{err}"
    );
    let future = TestCa::with_validity("future-ca", (2090, 1, 1), (2091, 1, 1));
    let pod = PodFs::temp("t", &future.cert_pem, "team-a");
    let options = pod.options("127.0.0.1", "6443");
    let err = Config::in_cluster_with(options).unwrap_err().to_string();
    assert!(err.contains("not valid before 2090-01-01"), "{err}");
}

#[tokio::test]
async fn an_expired_anchor_signing_the_server_is_not_trusted_but_its_valid_successor_is() {
    let expired = TestCa::with_validity("expired-ca", (2015, 1, 1), (2016, 1, 1));
    let current = TestCa::new("current-ca");
    let by_expired = TestServer::https(&expired.server_cert(&["127.0.0.1"], &[]), ok).await;
    let by_current = TestServer::https(&current.server_cert(&["127.0.0.1"], &[]), ok).await;
    // A rotated bundle: the old, expired CA and the new one.
    let bundle = format!("{}{}", expired.cert_pem, current.cert_pem);
    let pod = PodFs::temp("t", &bundle, "team-a");
    let client = |server: &TestServer| {
        Client::new(
            pod.config("127.0.0.1", &server.port())
                .with_retry(Retry::none()),
        )
        .unwrap()
    };
    client(&by_current)
        .send(get("/api"))
        .await
        .expect("the valid anchor of the bundle works");
    let err = client(&by_expired).send(get("/api")).await.unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert!(by_expired.requests().is_empty());
}

/// A list of `items` ConfigMap-like objects whose strings hold what a scanner could trip on:
/// brackets, escaped quotes and backslashes, `\u` escapes, multi-byte characters.
fn awkward_list(items: usize, broken_at: Option<usize>) -> Vec<u8> {
    let item = |i: usize| {
        let name = if broken_at == Some(i) {
            json!(7)
        } else {
            json!(format!("cm-{i:05}"))
        };
        json!({
            "metadata": {"name": name, "labels": {"a\"b": "}]\\", "é": "[{\u{2603}"}},
            "data": {"k": format!("line {i}\n\"quoted\" \\ {{ [ ] }}\t\u{1F600}"), "empty": ""},
        })
    };
    let items: Vec<serde_json::Value> = (0..items).map(item).collect();
    serde_json::to_vec(
        &json!({"kind": "ConfigMapList", "metadata": {"resourceVersion": "9"}, "items": items}),
    )
    .expect("list JSON")
}

/// `body` in chunks of awkward sizes (1 byte, a prime, a page and one, …), as a streamed body
/// without a length.
fn awkward_chunks(body: Vec<u8>) -> impl futures::Stream<Item = Bytes> + Send {
    let body = Bytes::from(body);
    let sizes = [1usize, 7, 4093, 65_537, 3, 262_147];
    let mut cuts = Vec::new();
    let (mut at, mut k) = (0, 0);
    while at < body.len() {
        let end = (at + sizes[k % sizes.len()]).min(body.len());
        cuts.push(body.slice(at..end));
        (at, k) = (end, k + 1);
    }
    futures::stream::iter(cuts)
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct AwkwardList {
    items: Vec<AwkwardItem>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct AwkwardItem {
    metadata: AwkwardMeta,
    data: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, PartialEq, serde::Deserialize)]
struct AwkwardMeta {
    name: String,
    labels: std::collections::BTreeMap<String, String>,
}

/// A list of several MiB, streamed in chunks cut anywhere, is decoded block by block exactly as
/// serde_json decodes the whole body; one wrong value deep in it is an error that says where.
#[tokio::test]
async fn a_large_list_cut_anywhere_decodes_as_serde_json_says_and_an_error_names_its_byte() {
    let whole = awkward_list(30_000, None);
    let broken = awkward_list(30_000, Some(27_000));
    assert!(
        whole.len() > 3 << 20,
        "{} bytes: more than three blocks",
        whole.len()
    );
    let expected_value: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    let expected_list: AwkwardList = serde_json::from_slice(&whole).unwrap();
    let broken_at = {
        let needle = br#"{"data""#;
        let mut starts = broken
            .windows(needle.len())
            .enumerate()
            .filter(|(_, w)| w == needle);
        starts.nth(27_000).expect("item 27000").0
    };
    let ca = TestCa::new("cluster-ca");
    let cert = ca.server_cert(&["127.0.0.1"], &[]);
    let (whole_body, broken_body) = (whole.clone(), broken.clone());
    let api = TestServer::https(&cert, move |req: &Recorded| match req.target.as_str() {
        "/list" => Reply::streamed(200, "application/json", awkward_chunks(whole_body.clone())),
        _ => Reply::streamed(200, "application/json", awkward_chunks(broken_body.clone())),
    })
    .await;
    let client = PodFs::temp("secret-token", &ca.cert_pem, "team-a").client(&api);

    let value: serde_json::Value = client
        .json(get("/list"))
        .await
        .expect("the list as a Value");
    assert!(
        value == expected_value,
        "the Value differs from serde_json's"
    );
    let list: AwkwardList = client.json(get("/list")).await.expect("the typed list");
    assert!(
        list == expected_list,
        "the typed list differs from serde_json's"
    );

    let err = client
        .json::<AwkwardList>(get("/broken"))
        .await
        .expect_err("a decode error");
    assert!(serde_json::from_slice::<AwkwardList>(&broken).is_err());
    let message = err.to_string();
    assert!(matches!(err, Error::Decode { .. }), "{message}");
    assert!(message.contains("invalid type: integer `7`"), "{message}");
    assert!(
        message.contains(&format!("in the value at byte {broken_at} of the body")),
        "{message} (item 27000 begins at byte {broken_at})"
    );
    assert!(
        message.contains(r#"the body began with: {"items":"#),
        "{message}"
    );
    assert!(message.len() < 2048, "{} bytes", message.len());
}

/// A body that does not decode is shown in the error as an excerpt — with the values of members
/// that hold secrets hidden: a Secret's data (also inside kubectl's last-applied annotation), a
/// TokenRequest's token, a list of Secrets read as a page of a `ListStream` — and the decoder's
/// message never quotes the string it refused.
#[tokio::test]
async fn an_error_about_a_body_never_shows_the_secrets_in_it() {
    const SECRET: &str = "c3VwZXItc2VjcmV0LXZhbHVl";
    const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.bound-token.signature";
    let ca = TestCa::new("cluster-ca");
    let cert = ca.server_cert(&["127.0.0.1"], &[]);
    let api = TestServer::https(&cert, |req: &Recorded| {
        // As `kubectl apply` leaves a Secret: its manifest, data included, in an annotation.
        let applied = json!({"apiVersion": "v1", "kind": "Secret", "data": {"password": SECRET}}).to_string();
        let secret = json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}}, "data": {"password": SECRET}, "stringData": {"plain": SECRET}, "type": 5});
        match req.target.split('?').next().unwrap_or_default() {
            "/secret" => Reply::json(200, secret),
            "/token" => Reply::json(
                201,
                json!({"kind": "TokenRequest", "status": {"token": TOKEN, "expirationTimestamp": 7}}),
            ),
            _ => Reply::json(
                200,
                json!({"kind": "SecretList", "metadata": {"resourceVersion": "1"}, "items": [secret, {"metadata": 1}]}),
            ),
        }
    })
    .await;
    let client = PodFs::temp("secret-token", &ca.cert_pem, "team-a").client(&api);

    #[derive(serde::Deserialize, Debug)]
    struct Typed {
        #[serde(rename = "type")]
        #[allow(dead_code)]
        kind: String,
    }
    #[derive(serde::Deserialize, Debug)]
    struct Token {
        #[allow(dead_code)]
        status: TokenStatus,
    }
    #[derive(serde::Deserialize, Debug)]
    struct TokenStatus {
        #[serde(rename = "expirationTimestamp")]
        #[allow(dead_code)]
        expires: String,
    }
    /// Data read as bytes: serde's message quotes the string it refused.
    #[derive(serde::Deserialize, Debug)]
    struct AsBytes {
        #[allow(dead_code)]
        data: std::collections::BTreeMap<String, Vec<u8>>,
    }
    let errors = [
        client.json::<Typed>(get("/secret")).await.unwrap_err(),
        client.json::<AsBytes>(get("/secret")).await.unwrap_err(),
        client.json::<Token>(get("/token")).await.unwrap_err(),
        {
            use futures::TryStreamExt;
            let items = client.list_stream::<Typed>(get("/list")).await.unwrap();
            items.try_collect::<Vec<_>>().await.unwrap_err()
        },
    ];
    for err in errors {
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
        for shown in [err.to_string(), format!("{err:?}")] {
            assert!(shown.contains("(hidden)"), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
            assert!(!shown.contains("bound-token"), "{shown}");
        }
    }
}
