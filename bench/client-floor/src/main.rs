//! The floor: what a careful user writes without incluster — reqwest (rustls-no-provider) with a
//! rustls/ring config trusting only `ca.crt`, the bearer header built once, serde_json decoding.
//! `client-floor <workload> [n] [in-flight]`; `BENCH_ALPN=http/1.1` forbids HTTP/2.

use std::sync::Arc;

use bench_types::{checksum, ConfigMap, ConfigMapList, WatchLine};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::de::DeserializeOwned;

type Error = Box<dyn std::error::Error + Send + Sync>;

const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

struct Api {
    http: reqwest::Client,
    base: String,
    namespace: String,
    auth: Option<HeaderValue>,
    /// `BENCH_FLOOR_DEADLINE=1`: every request bounded by a timeout, as incluster bounds each
    /// one (70 s by default) — the baseline of w1's `floor+deadline` row.
    deadline: Option<std::time::Duration>,
}

/// The per-request timeout `BENCH_FLOOR_DEADLINE` asks for (incluster's default, 70 s).
fn deadline() -> Option<std::time::Duration> {
    std::env::var_os("BENCH_FLOOR_DEADLINE").map(|_| std::time::Duration::from_secs(70))
}

impl Api {
    fn new() -> Result<Api, Error> {
        let base = std::env::var("BENCH_SERVER")?;
        let builder = reqwest::Client::builder().no_proxy();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        if base.starts_with("http://") {
            // Plain http to loopback: reqwest still wants a TLS configuration to exist.
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            let http = builder.tls_backend_preconfigured(tls).build()?;
            return Ok(Api {
                http,
                base,
                namespace: "default".into(),
                auth: None,
                deadline: deadline(),
            });
        }
        let dir = std::path::PathBuf::from(std::env::var("BENCH_SA_DIR")?);
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(dir.join("ca.crt"))?;
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert?)?;
        }
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = match std::env::var("BENCH_ALPN").as_deref() {
            Ok("http/1.1") => vec![b"http/1.1".to_vec()],
            _ => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        };
        let token = std::fs::read_to_string(dir.join("token"))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.trim()))?;
        auth.set_sensitive(true);
        let namespace = std::fs::read_to_string(dir.join("namespace"))?
            .trim()
            .to_string();
        Ok(Api {
            http: builder
                .tls_backend_preconfigured(tls)
                .https_only(true)
                .build()?,
            base,
            namespace,
            auth: Some(auth),
            deadline: deadline(),
        })
    }

    fn url(&self, name: Option<&str>) -> String {
        let ns = utf8_percent_encode(&self.namespace, SEGMENT);
        match name {
            Some(name) => format!(
                "{}/api/v1/namespaces/{ns}/configmaps/{}",
                self.base,
                utf8_percent_encode(name, SEGMENT)
            ),
            None => format!("{}/api/v1/namespaces/{ns}/configmaps", self.base),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, Error> {
        let request = match &self.auth {
            Some(auth) => request.header(AUTHORIZATION, auth.clone()),
            None => request,
        };
        let request = match self.deadline {
            Some(deadline) => request.timeout(deadline),
            None => request,
        };
        let response = request.send().await?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            return Err(format!("{status}: {body}").into());
        }
        Ok(response)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let body = self.send(request).await?.bytes().await?;
        Ok(serde_json::from_slice(&body)?)
    }
}

async fn run(workload: &str, n: usize, in_flight: usize) -> Result<(usize, u64), Error> {
    let api = Api::new()?;
    match workload {
        "get" => {
            let names: Vec<String> = (0..10).map(|i| format!("bench-{i}")).collect();
            let sums: Vec<u64> = futures::stream::iter(0..n)
                .map(|i| {
                    let (api, name) = (&api, &names[i % names.len()]);
                    async move {
                        let cm: ConfigMap = api.json(api.http.get(api.url(Some(name)))).await?;
                        Ok::<_, Error>(checksum(&cm))
                    }
                })
                .buffer_unordered(in_flight)
                .try_collect()
                .await?;
            Ok((sums.len(), sums.iter().sum()))
        }
        "list" => {
            let list: ConfigMapList = api.json(api.http.get(api.url(None))).await?;
            Ok((list.items.len(), list.items.iter().map(checksum).sum()))
        }
        "list-paged" => {
            let (mut count, mut sum) = (0, 0);
            let mut token: Option<String> = None;
            loop {
                let mut url = api.url(None) + "?limit=500";
                if let Some(token) = &token {
                    url.push_str("&continue=");
                    url.extend(utf8_percent_encode(token, SEGMENT));
                }
                let page: ConfigMapList = api.json(api.http.get(url)).await?;
                count += page.items.len();
                sum += page.items.iter().map(checksum).sum::<u64>();
                match page.metadata.continue_ {
                    Some(next) if !next.is_empty() => token = Some(next),
                    _ => return Ok((count, sum)),
                }
            }
        }
        "watch" => {
            let mut response = api
                .send(api.http.get(api.url(None) + "?watch=true"))
                .await?;
            let (mut count, mut sum) = (0, 0);
            let mut buffer: Vec<u8> = Vec::new();
            // `BENCH_FLOOR_STORE=1`: also keep every object by (namespace, name), as a hand-written
            // informer cache would — the baseline of incluster's `Watcher` + `Store` row.
            let mut store = std::env::var_os("BENCH_FLOOR_STORE").map(|_| ObjectCache::default());
            let mut decode = |line: &[u8]| -> Result<(), Error> {
                if line.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                let event: WatchLine = serde_json::from_slice(line)?;
                if event.kind != "BOOKMARK" {
                    sum += checksum(&event.object);
                    if let Some(store) = &mut store {
                        store.apply(&event.kind, event.object);
                    }
                }
                count += 1;
                Ok(())
            };
            while let Some(chunk) = response.chunk().await? {
                buffer.extend_from_slice(&chunk);
                let mut start = 0;
                while let Some(end) = buffer[start..].iter().position(|b| *b == b'\n') {
                    decode(&buffer[start..start + end])?;
                    start += end + 1;
                }
                buffer.drain(..start);
            }
            decode(&buffer)?;
            Ok((count, sum))
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

/// The objects a watch has shown, by (namespace, name): what an informer's cache holds.
#[derive(Default)]
struct ObjectCache {
    objects: std::collections::HashMap<(String, String), Arc<ConfigMap>>,
}

impl ObjectCache {
    fn apply(&mut self, kind: &str, object: ConfigMap) {
        let key = (
            object.metadata.namespace.clone(),
            object.metadata.name.clone(),
        );
        if kind == "DELETED" {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key, Arc::new(object));
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let workload = args.get(1).expect("workload").clone();
    let n = args.get(2).map_or(1, |s| s.parse().expect("n"));
    let in_flight = args.get(3).map_or(1, |s| s.parse().expect("in-flight"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(&workload, n, in_flight)) {
        Ok((count, sum)) => println!("count={count} sum={sum}"),
        Err(err) => {
            eprintln!("client-floor {workload}: {err}");
            std::process::exit(1);
        }
    }
}
