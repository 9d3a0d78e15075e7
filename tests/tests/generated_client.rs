//! Generated clients against the local HTTPS test server: the exact request for each attribute
//! kind, adversarial path values, `Send` futures, Status errors, and a hand-written mock.

use incluster::{in_cluster_client, Patch};
use incluster_tests::certs::TestCa;
use incluster_tests::podfs::PodFs;
use incluster_tests::testserver::{Recorded, Reply, TestServer};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogParams {
    pub container: Option<String>,
    pub tail_lines: Option<u32>,
    pub timestamps: bool,
}

#[in_cluster_client]
pub trait Everything {
    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn get(&self, name: &str) -> incluster::Result<Value>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn list(
        &self,
        namespace: &str,
        #[query] label_selector: Option<&str>,
        #[query] limit: Option<u32>,
        #[query(name = "fieldSelector")] fields: Vec<&str>,
    ) -> incluster::Result<Value>;

    #[post("/api/v1/namespaces/{namespace}/configmaps")]
    async fn create(
        &self,
        #[body] cm: &Value,
        #[query] dry_run: Option<&str>,
    ) -> incluster::Result<Value>;

    #[put("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn replace(
        &self,
        name: &str,
        #[body] cm: &Value,
        #[header("If-Match")] if_match: Option<&str>,
    ) -> incluster::Result<Value>;

    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn patch(
        &self,
        name: &str,
        #[body] patch: &Patch<Value>,
        #[query] field_manager: Option<&str>,
        #[query] force: Option<bool>,
    ) -> incluster::Result<Value>;

    #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn merge(
        &self,
        name: &str,
        #[body(content_type = "application/merge-patch+json")] patch: &Value,
    ) -> incluster::Result<Value>;

    #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn delete(&self, name: &str) -> incluster::Result<()>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn watch(
        &self,
        #[query] resource_version: Option<&str>,
    ) -> incluster::Result<incluster::WatchStream<Value>>;

    #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
    async fn logs(
        &self,
        name: &str,
        #[query(flatten)] params: &LogParams,
    ) -> incluster::Result<String>;
}

/// Decoding follows how `T` is written: every spelling of `String` is text, a type that only
/// shares a name with a stream type of ours is JSON.
#[in_cluster_client]
pub trait Spellings {
    #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
    async fn log_std(&self, name: &str) -> incluster::Result<std::string::String>;

    #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
    async fn log_alloc(&self, name: &str) -> incluster::Result<::alloc::string::String>;

    #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
    async fn not_ours(&self, name: &str) -> incluster::Result<other::WatchStream<Value>>;
}

extern crate alloc;

mod other {
    /// Not `incluster::WatchStream`: decoded as JSON.
    #[derive(serde::Deserialize)]
    pub struct WatchStream<T> {
        pub echo: String,
        #[serde(skip)]
        pub item: std::marker::PhantomData<T>,
    }
}

/// The stream return kinds: the generated futures are `Send` (behaviour: the toolkit's tests).
#[in_cluster_client]
pub trait Streams {
    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn all(
        &self,
        #[query] label_selector: Option<&str>,
        #[query] limit: Option<u32>,
    ) -> incluster::Result<incluster::ListStream<Value>>;

    #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
    async fn follow(
        &self,
        name: &str,
        #[query] follow: bool,
    ) -> incluster::Result<incluster::LineStream>;

    #[get("/api/v1/namespaces/{namespace}/configmaps")]
    async fn watcher(
        &self,
        #[query] label_selector: Option<&str>,
    ) -> incluster::Result<incluster::Watcher<Value>>;
}

#[test]
fn stream_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    #[allow(dead_code)]
    fn futures(client: &StreamsClient) {
        assert_send(&client.all(None, Some(10)));
        assert_send(&client.follow("web-0", true));
        assert_send(&client.watcher(Some("app=web")));
    }
}

struct Fixture {
    server: TestServer,
    client: EverythingClient,
    _pod: PodFs,
}

async fn fixture() -> Fixture {
    let ca = TestCa::new("cluster-ca");
    let server = TestServer::https(&ca.server_cert(&["127.0.0.1"], &[]), |req: &Recorded| {
        if req.target.contains("missing") {
            return Reply::json(404, json!({"kind": "Status", "code": 404, "reason": "NotFound", "message": "configmaps \"missing\" not found"}));
        }
        if req.target.contains("watch=true") {
            let events = [
                json!({"type": "ADDED", "object": {"metadata": {"name": "a"}}}),
                json!({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "41"}}}),
                json!({"type": "MODIFIED", "object": {"metadata": {"name": "a"}}}),
                json!({"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}),
            ];
            let body: String = events.iter().map(|e| format!("{e}\n")).collect();
            return Reply::text(200, &body);
        }
        if req.target.contains("/log") {
            return Reply::text(200, "line 1\nline 2\n");
        }
        Reply::json(200, json!({"echo": req.target}))
    })
    .await;
    let pod = PodFs::temp("tok", &ca.cert_pem, "pod-ns");
    Fixture {
        client: EverythingClient::new(pod.client(&server)),
        server,
        _pod: pod,
    }
}

fn last(server: &TestServer) -> Recorded {
    server.requests().pop().expect("a request")
}

#[tokio::test]
async fn each_attribute_kind_makes_the_exact_request() {
    let f = fixture().await;
    let c = &f.client;

    c.get("settings").await.unwrap();
    let r = last(&f.server);
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("GET", "/api/v1/namespaces/pod-ns/configmaps/settings")
    );
    assert!(r.body.is_empty());

    c.list(
        "other-ns",
        Some("app in (a,b)"),
        Some(5),
        vec!["a=b", "c!=d"],
    )
    .await
    .unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/other-ns/configmaps?labelSelector=app+in+%28a%2Cb%29&limit=5&fieldSelector=a%3Db&fieldSelector=c%21%3Dd"
    );
    c.list("other-ns", None, None, vec![]).await.unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/other-ns/configmaps"
    );

    c.create(&json!({"metadata": {"name": "x"}}), Some("All"))
        .await
        .unwrap();
    let r = last(&f.server);
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("POST", "/api/v1/namespaces/pod-ns/configmaps?dryRun=All")
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"metadata": {"name": "x"}})
    );

    c.replace("x", &json!({"data": {}}), Some("\"etag\""))
        .await
        .unwrap();
    let r = last(&f.server);
    assert_eq!(
        (r.method.as_str(), r.header("if-match")),
        ("PUT", Some("\"etag\""))
    );
    c.replace("x", &json!({}), None).await.unwrap();
    assert_eq!(last(&f.server).header("if-match"), None);

    for (patch, content_type) in [
        (
            Patch::Merge(json!({"data": {"a": "1"}})),
            "application/merge-patch+json",
        ),
        (
            Patch::Json(json!([{"op": "add", "path": "/data/a", "value": "1"}])),
            "application/json-patch+json",
        ),
        (
            Patch::Strategic(json!({"data": {"a": "1"}})),
            "application/strategic-merge-patch+json",
        ),
        (
            Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            "application/apply-patch+yaml",
        ),
    ] {
        let apply = matches!(patch, Patch::Apply(_));
        c.patch(
            "x",
            &patch,
            apply.then_some("my-operator"),
            apply.then_some(true),
        )
        .await
        .unwrap();
        let r = last(&f.server);
        assert_eq!(r.method, "PATCH");
        assert_eq!(r.header("content-type"), Some(content_type));
        assert_eq!(
            &serde_json::from_slice::<Value>(&r.body).unwrap(),
            patch.value()
        );
        let expected = if apply {
            "/api/v1/namespaces/pod-ns/configmaps/x?fieldManager=my-operator&force=true"
        } else {
            "/api/v1/namespaces/pod-ns/configmaps/x"
        };
        assert_eq!(r.target, expected);
    }

    c.merge("x", &json!({"data": null})).await.unwrap();
    assert_eq!(
        last(&f.server).header("content-type"),
        Some("application/merge-patch+json")
    );

    c.delete("x").await.unwrap();
    let r = last(&f.server);
    assert_eq!(
        (r.method.as_str(), r.target.as_str()),
        ("DELETE", "/api/v1/namespaces/pod-ns/configmaps/x")
    );

    let logs = c
        .logs(
            "web-0",
            &LogParams {
                container: Some("app".into()),
                tail_lines: None,
                timestamps: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(logs, "line 1\nline 2\n");
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/pod-ns/pods/web-0/log?container=app&timestamps=true"
    );
}

#[tokio::test]
async fn decoding_follows_the_spelling_of_the_type() {
    let f = fixture().await;
    let c = SpellingsClient::new(f.client.client().clone());
    assert_eq!(c.log_std("web-0").await.unwrap(), "line 1\nline 2\n");
    assert_eq!(c.log_alloc("web-0").await.unwrap(), "line 1\nline 2\n");
    let json = c.not_ours("settings").await.unwrap();
    assert_eq!(json.echo, "/api/v1/namespaces/pod-ns/configmaps/settings");
}

#[tokio::test]
async fn adversarial_path_values_are_one_segment_or_rejected_before_io() {
    let f = fixture().await;
    let long = "a".repeat(64 * 1024);
    for (value, encoded) in [
        ("a/b", "a%2Fb"),
        ("%2F", "%252F"),
        ("ü", "%C3%BC"),
        ("a b", "a%20b"),
        ("?x=1#y", "%3Fx%3D1%23y"),
        ("...", "..."),
    ] {
        f.client.get(value).await.unwrap();
        assert_eq!(
            last(&f.server).target,
            format!("/api/v1/namespaces/pod-ns/configmaps/{encoded}")
        );
    }
    let sent = f.server.requests().len();
    for value in ["", ".", "..", long.as_str()] {
        let err = f.client.get(value).await.unwrap_err();
        assert!(
            matches!(err, incluster::Error::InvalidRequest { .. }),
            "{value:?}: {err:?}"
        );
        assert!(
            err.to_string().contains("`name`") && err.to_string().contains("{name}"),
            "{err}"
        );
        let err = f.client.list(value, None, None, vec![]).await.unwrap_err();
        assert!(err.to_string().contains("`namespace`"), "{err}");
    }
    assert_eq!(
        f.server.requests().len(),
        sent,
        "nothing may be sent for a rejected value"
    );
}

#[tokio::test]
async fn status_errors_surface_as_api_errors() {
    let f = fixture().await;
    let err = f.client.get("missing").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.status().unwrap().message,
        "configmaps \"missing\" not found"
    );
}

#[test]
fn futures_are_send_and_run_on_a_multi_threaded_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let f = fixture().await;
        let client = f.client.clone();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(async move { client.get(&format!("cm-{i}")).await })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap().unwrap();
        }
        assert_eq!(f.server.requests().len(), 8);
    });
}

/// The trait stays an ordinary trait: a hand-written mock for code under test.
struct MockConfigMaps;

impl Everything for MockConfigMaps {
    async fn get(&self, name: &str) -> incluster::Result<Value> {
        Ok(json!({"metadata": {"name": name}}))
    }
    async fn list(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<u32>,
        _: Vec<&str>,
    ) -> incluster::Result<Value> {
        Ok(json!({"items": []}))
    }
    async fn create(&self, cm: &Value, _: Option<&str>) -> incluster::Result<Value> {
        Ok(cm.clone())
    }
    async fn replace(&self, _: &str, cm: &Value, _: Option<&str>) -> incluster::Result<Value> {
        Ok(cm.clone())
    }
    async fn patch(
        &self,
        _: &str,
        patch: &Patch<Value>,
        _: Option<&str>,
        _: Option<bool>,
    ) -> incluster::Result<Value> {
        Ok(patch.value().clone())
    }
    async fn merge(&self, _: &str, patch: &Value) -> incluster::Result<Value> {
        Ok(patch.clone())
    }
    async fn delete(&self, _: &str) -> incluster::Result<()> {
        Ok(())
    }
    async fn watch(&self, _: Option<&str>) -> incluster::Result<incluster::WatchStream<Value>> {
        Err(incluster::Error::InvalidRequest {
            message: "the mock does not watch".into(),
            source: None,
        })
    }
    async fn logs(&self, _: &str, _: &LogParams) -> incluster::Result<String> {
        Ok(String::new())
    }
}

/// Code under test takes any implementation of the trait.
async fn name_of(api: &impl Everything, name: &str) -> String {
    api.get(name).await.unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_hand_written_mock_implements_the_trait() {
    assert_eq!(name_of(&MockConfigMaps, "settings").await, "settings");
}

#[tokio::test]
async fn a_watch_yields_events_then_the_error_event_as_api_error() {
    use futures::StreamExt;
    use incluster::WatchEvent;
    let f = fixture().await;
    let mut events = f.client.watch(Some("40")).await.unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/pod-ns/configmaps?resourceVersion=40&watch=true"
    );
    assert!(matches!(
        events.next().await,
        Some(Ok(WatchEvent::Added(_)))
    ));
    assert!(
        matches!(events.next().await, Some(Ok(WatchEvent::Bookmark(b))) if b.resource_version() == "41")
    );
    assert!(matches!(
        events.next().await,
        Some(Ok(WatchEvent::Modified(_)))
    ));
    let gone = events.next().await.unwrap().unwrap_err();
    assert!(gone.is_gone(), "{gone:?}");
    assert!(events.next().await.is_none());
}

/// What the client adds as a request is sent: the client-wide field manager to a server-side
/// apply that names none (after the request's own query), and nothing to any other request.
#[tokio::test]
async fn the_client_wide_field_manager_is_added_to_an_apply_on_the_wire() {
    let f = fixture().await;
    let config = f
        ._pod
        .config("127.0.0.1", &f.server.port())
        .with_field_manager("op");
    let client = EverythingClient::new(incluster::Client::new(config).expect("client"));
    let apply = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap"}));
    client.patch("x", &apply, None, Some(true)).await.unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/pod-ns/configmaps/x?force=true&fieldManager=op"
    );
    client.patch("x", &apply, Some("mine"), None).await.unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/pod-ns/configmaps/x?fieldManager=mine"
    );
    client.merge("x", &json!({"data": null})).await.unwrap();
    assert_eq!(
        last(&f.server).target,
        "/api/v1/namespaces/pod-ns/configmaps/x"
    );
}

/// A watch of a metadata-only list is sent asking for the watch form of the metadata `Accept`
/// (the list form is refused on a watch with `406`); the list itself keeps the list form.
#[tokio::test]
async fn a_metadata_only_watch_asks_for_the_watch_form_on_the_wire() {
    let f = fixture().await;
    let client = f._pod.client(&f.server);
    let list = || {
        incluster::Request::builder(
            incluster::Method::GET,
            "/api/v1/namespaces/{namespace}/configmaps",
        )
        .path_param("namespace", "pod-ns")
    };
    let watch =
        incluster::controller::metadata_only(list().query("watch", "true").build().unwrap());
    let _events = client.watch::<Value>(watch).await.unwrap();
    let sent = last(&f.server);
    assert!(sent.target.contains("watch=true"), "{}", sent.target);
    assert_eq!(
        sent.header("accept"),
        Some(incluster::controller::WATCH_ACCEPT),
        "the watch form"
    );
    let plain: Value = client
        .json(incluster::controller::metadata_only(
            list().build().unwrap(),
        ))
        .await
        .unwrap();
    drop(plain);
    assert_ne!(
        last(&f.server).header("accept"),
        Some(incluster::controller::WATCH_ACCEPT),
        "a list keeps the list form"
    );
}
