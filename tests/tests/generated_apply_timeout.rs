//! `#[apply]`, `#[timeout]` and a 403's RBAC hint through a generated client against the local
//! HTTPS test server (the real apiserver's side of apply and of RBAC is in `rbac.rs`).

use std::time::Duration;

use incluster::in_cluster_client;
use incluster_tests::certs::TestCa;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde_json::{json, Value};

#[in_cluster_client]
pub trait Vocabulary {
    #[apply("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")]
    async fn apply(
        &self,
        name: &str,
        #[body] deployment: &Value,
        #[query] field_manager: &str,
        #[query] force: bool,
    ) -> incluster::Result<Value>;

    /// The test server never finishes this body.
    #[get("/api/v1/namespaces/{namespace}/configmaps/slow")]
    #[timeout(millis = 300)]
    async fn slow(&self) -> incluster::Result<Value>;

    /// The test server refuses this one.
    #[get("/api/v1/namespaces/{namespace}/secrets")]
    async fn secrets(&self) -> incluster::Result<Value>;
}

struct Fixture {
    server: TestServer,
    client: VocabularyClient,
    _pod: PodFs,
}

async fn fixture() -> Fixture {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |req: &Recorded| {
        if req.target.ends_with("/slow") {
            return Reply::streamed(200, "application/json", futures::stream::pending());
        }
        if req.target.contains("/secrets") {
            return Reply::json(403, json!({"kind": "Status", "code": 403, "reason": "Forbidden", "message": "secrets is forbidden"}));
        }
        Reply::json(200, json!({"echo": req.target}))
    })
    .await;
    let pod = PodFs::temp("tok", &ca.cert_pem, "pod-ns");
    Fixture {
        // A client-wide timeout far beyond the hang guard: only the method's own can end `slow`.
        client: VocabularyClient::new(
            incluster::Client::new(
                pod.config("127.0.0.1", &server.port())
                    .with_timeout(Duration::from_secs(3600)),
            )
            .expect("client"),
        ),
        server,
        _pod: pod,
    }
}

#[tokio::test]
async fn apply_is_a_patch_with_the_apply_content_type_and_a_json_body() {
    let f = fixture().await;
    let deployment =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
    f.client
        .apply("web", &deployment, "my-operator", true)
        .await
        .unwrap();
    let r = f.server.requests().pop().expect("a request");
    assert_eq!(r.method, "PATCH");
    assert_eq!(
        r.target,
        "/apis/apps/v1/namespaces/pod-ns/deployments/web?fieldManager=my-operator&force=true"
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        deployment
    );
    let rules = &VocabularyClient::RBAC.methods[0].rules[0];
    assert_eq!(rules.verbs, ["patch", "create"]);
}

#[tokio::test]
async fn a_method_timeout_ends_a_call_the_server_never_finishes() {
    let f = fixture().await;
    let err = tokio::time::timeout(Duration::from_secs(60), f.client.slow())
        .await
        .expect("the method's own timeout ends the call (hang guard)")
        .unwrap_err();
    let transport = match &err {
        incluster::Error::Transport { source, .. } => source,
        other => panic!("expected a transport timeout, got {other:?}"),
    };
    assert!(transport.is_timeout(), "{err}");
}

#[tokio::test]
async fn a_403_names_the_methods_rule() {
    let f = fixture().await;
    let err = f.client.secrets().await.unwrap_err();
    assert!(err.is_forbidden());
    let needed = err.rbac_needed().expect("the rules of the refused method");
    assert_eq!(needed.method, &VocabularyClient::RBAC.methods[2]);
    assert_eq!(needed.namespace.as_deref(), Some("pod-ns"));
    assert!(err.to_string().contains(&needed.to_string()), "{err}");
}
