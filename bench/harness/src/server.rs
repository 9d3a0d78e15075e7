//! The local API-server stand-in: HTTPS (rustls, a certificate minted here, HTTP/1.1 only, as
//! issue 12's first workload asks) and plain HTTP (for the watch-decoding workload, so transport
//! encryption does not dilute the decoding cost). Every answer is precomputed bytes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::fixtures;

/// What the server knows.
pub struct Data {
    /// `bench-N` → its JSON.
    pub small: HashMap<String, Bytes>,
    /// The whole list.
    pub list: Bytes,
    /// The pages of `limit=500`, page `k` answering `continue=k` (page 0: no token).
    pub pages: Vec<Bytes>,
    /// The watch stream.
    pub watch: Bytes,
}

impl Data {
    /// Generates the list of `list_items` ConfigMaps and `watch_events` events.
    pub fn new(list_items: usize, watch_events: usize) -> Data {
        let small = fixtures::small_names()
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let body = fixtures::configmap(&name, i).to_string();
                (name, Bytes::from(body))
            })
            .collect();
        let items: Vec<String> = (0..list_items)
            .map(|i| fixtures::configmap(&format!("cm-{i:05}"), i).to_string())
            .collect();
        let list = Bytes::from(fixtures::list_body(&items, None));
        let chunks: Vec<&[String]> = items.chunks(500).collect();
        let pages = chunks
            .iter()
            .enumerate()
            .map(|(k, chunk)| {
                let token = (k + 1 < chunks.len()).then(|| format!("page-{}", k + 1));
                Bytes::from(fixtures::list_body(chunk, token.as_deref()))
            })
            .collect();
        Data {
            small,
            list,
            pages,
            watch: Bytes::from(fixtures::watch_stream(watch_events)),
        }
    }

    fn answer(&self, path: &str, query: &str) -> (u16, Bytes) {
        const PREFIX: &str = "/api/v1/namespaces/default/configmaps";
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let Some(rest) = path.strip_prefix(PREFIX) else {
            return (404, Bytes::from_static(b"{}"));
        };
        if let Some(name) = rest.strip_prefix('/') {
            return match self.small.get(name) {
                Some(body) => (200, body.clone()),
                None => (404, Bytes::from_static(b"{}")),
            };
        }
        if param("watch") == Some("true") {
            return (200, self.watch.clone());
        }
        if param("limit").is_some() {
            let page = param("continue")
                .and_then(|t| t.strip_prefix("page-")?.parse::<usize>().ok())
                .unwrap_or(0);
            return match self.pages.get(page) {
                Some(body) => (200, body.clone()),
                None => (410, Bytes::from_static(b"{}")),
            };
        }
        (200, self.list.clone())
    }
}

/// The certificate the HTTPS server presents and the CA a client trusts.
pub struct Tls {
    /// PEM of the CA (a Pod's `ca.crt`).
    pub ca_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl Tls {
    /// Mints a CA and a certificate for 127.0.0.1.
    pub fn new() -> Tls {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "bench CA");
        let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().expect("ip")));
        let cert = params.signed_by(&key, &issuer).expect("server cert");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert.pem().as_bytes())
                .collect::<Result<_, _>>()
                .expect("cert PEM");
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).expect("key");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server TLS config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Tls {
            ca_pem: ca_cert.pem(),
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        }
    }
}

/// Writes a service-account directory (`token`, `ca.crt`, `namespace`) for the clients.
pub fn write_sa_dir(dir: &Path, token: &str, ca_pem: &str) {
    std::fs::create_dir_all(dir).expect("create SA dir");
    std::fs::write(dir.join("token"), token).expect("token");
    std::fs::write(dir.join("ca.crt"), ca_pem).expect("ca.crt");
    std::fs::write(dir.join("namespace"), "default").expect("namespace");
}

/// Starts serving `data` on 127.0.0.1, over TLS when `tls` is given; returns the address.
pub async fn serve(data: Arc<Data>, tls: Option<tokio_rustls::TlsAcceptor>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (data, tls) = (data.clone(), tls.clone());
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (status, body) =
                        data.answer(req.uri().path(), req.uri().query().unwrap_or(""));
                    let response = hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Full::new(body))
                        .expect("response");
                    async move { Ok::<_, std::convert::Infallible>(response) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            });
        }
    });
    addr
}

impl Tls {
    /// The acceptor for [`serve`].
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        self.acceptor.clone()
    }
}
