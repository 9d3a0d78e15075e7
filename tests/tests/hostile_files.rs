//! Hostile or broken service-account mounts: FIFOs, oversized and malformed files. Start-up fails
//! fast naming the file; after start-up, requests keep the last good token and the runtime's
//! timers keep running.

use std::time::{Duration, Instant};

use incluster::{Client, Config, Method, Request};
use incluster_tests::certs::TestCa;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde_json::json;

fn start_up_error(pod: &PodFs) -> String {
    match Config::in_cluster_with(pod.options("127.0.0.1", "6443")) {
        Err(err @ incluster::Error::Config { .. }) => err.to_string(),
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn a_fifo_token_or_ca_fails_start_up_at_once_naming_it() {
    let ca = TestCa::new("cluster-ca");
    for name in ["token", "ca.crt"] {
        let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
        pod.replace_with_fifo(name);
        let started = Instant::now();
        let err = start_up_error(&pod);
        assert!(err.contains(name) && err.contains("a FIFO"), "{err}");
        // Not a timing assertion: the read would block forever, so returning at all is the proof.
        println!("{name} as a FIFO refused after {:?}", started.elapsed());
    }
}

#[test]
fn oversized_and_malformed_files_are_refused_naming_them() {
    let ca = TestCa::new("cluster-ca");
    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    pod.write_file("token", vec![b'a'; 2 << 20]);
    let err = start_up_error(&pod);
    assert!(
        err.contains("token") && err.contains("larger than 1048576 bytes"),
        "{err}"
    );

    let pod = PodFs::temp("tök-with-umlaut", &ca.cert_pem, "team-a");
    let err = start_up_error(&pod);
    assert!(err.contains("token") && err.contains("non-ASCII"), "{err}");

    let pod = PodFs::temp("t", &ca.cert_pem, "team-a");
    pod.write_file("ca.crt", vec![b'-'; 2 << 20]);
    let err = start_up_error(&pod);
    assert!(
        err.contains("ca.crt") && err.contains("larger than"),
        "{err}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_token_turned_fifo_after_start_up_keeps_the_last_good_token_and_timers_run() {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |_: &Recorded| {
        Reply::json(200, json!({}))
    })
    .await;
    let pod = PodFs::temp("good-token", &ca.cert_pem, "team-a");
    let config = pod
        .config("127.0.0.1", &server.port())
        .with_token_reread_interval(Duration::ZERO);
    let client = Client::new(config).unwrap();
    pod.replace_with_fifo("token");
    // One worker thread only: a blocking open() on it would stop this timeout from ever firing.
    for _ in 0..3 {
        let request = Request::builder(Method::GET, "/api").build().unwrap();
        tokio::time::timeout(Duration::from_secs(30), client.send(request))
            .await
            .expect("the runtime is not blocked")
            .expect("the request succeeds with the last good token");
    }
    let tokens: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap().to_string())
        .collect();
    assert_eq!(tokens, ["Bearer good-token"; 3]);
}
