//! A real HTTP(S) server on 127.0.0.1 for tests: it records every request it receives and
//! answers with a handler the test supplies. TLS is rustls with a certificate minted in the test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::certs::ServerCert;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The raw request target: encoded path and query, exactly as sent.
    pub target: String,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers.
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body (unless `chunks` is set).
    pub body: Vec<u8>,
    /// More response headers.
    pub headers: Vec<(&'static str, String)>,
    /// A body streamed chunk by chunk (chunked encoding, or HTTP/2 data frames) instead of `body`.
    pub chunks: Option<Chunks>,
}

/// A streamed body: any number of chunks, possibly without end; an `Err` breaks the connection
/// mid-body.
pub type Chunks =
    std::pin::Pin<Box<dyn futures::Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: value.to_string().into_bytes(),
            headers: Vec::new(),
            chunks: None,
        }
    }

    /// A plain-text reply.
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: body.as_bytes().to_vec(),
            headers: Vec::new(),
            chunks: None,
        }
    }

    /// A reply whose body is streamed from `chunks`.
    pub fn streamed(
        status: u16,
        content_type: &'static str,
        chunks: impl futures::Stream<Item = Bytes> + Send + 'static,
    ) -> Reply {
        Reply {
            status,
            content_type,
            body: Vec::new(),
            headers: Vec::new(),
            chunks: Some(Box::pin(futures::StreamExt::map(chunks, Ok))),
        }
    }

    /// The same reply with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

type Handler = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A reply whose body is sent chunk by chunk as the test supplies it: each `Ok` chunk is one
/// write, an `Err` breaks the connection mid-body, and dropping the sender ends the body.
pub struct StreamingReply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// Where the body's chunks come from.
    pub chunks: tokio::sync::mpsc::UnboundedReceiver<Result<Bytes, std::io::Error>>,
}

impl From<StreamingReply> for Reply {
    fn from(reply: StreamingReply) -> Reply {
        let chunks = futures::stream::unfold(reply.chunks, |mut chunks| async move {
            let chunk = chunks.recv().await?;
            Some((chunk, chunks))
        });
        Reply {
            status: reply.status,
            content_type: reply.content_type,
            body: Vec::new(),
            headers: Vec::new(),
            chunks: Some(Box::pin(chunks)),
        }
    }
}

/// A running test server; it stops when dropped.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Starts an HTTPS server on 127.0.0.1 presenting `cert`.
    pub async fn https(
        cert: &ServerCert,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        Self::https_on("127.0.0.1:0", cert, handler).await
    }

    /// Starts an HTTPS server on `bind` (a loopback address such as `[::1]:0`) presenting `cert`.
    pub async fn https_on(
        bind: &str,
        cert: &ServerCert,
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("server certificate PEM");
        let key = PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).expect("server key PEM");
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server TLS config");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::start(
            bind,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            Arc::new(handler),
        )
        .await
    }

    /// Starts an HTTPS server on 127.0.0.1 presenting `cert` whose replies stream their bodies.
    pub async fn https_streaming(
        cert: &ServerCert,
        handler: impl Fn(&Recorded) -> StreamingReply + Send + Sync + 'static,
    ) -> TestServer {
        Self::https(cert, move |seen: &Recorded| Reply::from(handler(seen))).await
    }

    /// Starts a plain-http server on 127.0.0.1.
    pub async fn http(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> TestServer {
        Self::start("127.0.0.1:0", None, Arc::new(handler)).await
    }

    async fn start(
        bind: &str,
        tls: Option<tokio_rustls::TlsAcceptor>,
        handler: Arc<Handler>,
    ) -> TestServer {
        let listener = TcpListener::bind(bind)
            .await
            .unwrap_or_else(|e| panic!("bind {bind}: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (recorded, accepted) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                let (tls, handler, recorded) = (tls.clone(), handler.clone(), recorded.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (handler, recorded) = (handler.clone(), recorded.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let seen = Recorded {
                                method: parts.method.to_string(),
                                target: parts
                                    .uri
                                    .path_and_query()
                                    .map(|p| p.to_string())
                                    .unwrap_or_default(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(n, v)| {
                                        (
                                            n.to_string(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                                body: body.to_vec(),
                                version: format!("{:?}", parts.version),
                            };
                            let reply = handler(&seen);
                            recorded.lock().unwrap().push(seen);
                            let mut response = hyper::Response::builder()
                                .status(reply.status)
                                .header("content-type", reply.content_type);
                            for (name, value) in reply.headers {
                                response = response.header(name, value);
                            }
                            let body = match reply.chunks {
                                Some(chunks) => BodyExt::boxed_unsync(StreamBody::new(
                                    futures::StreamExt::map(chunks, |chunk| chunk.map(Frame::data)),
                                )),
                                None => BodyExt::boxed_unsync(
                                    Full::new(Bytes::from(reply.body))
                                        .map_err(|never| match never {}),
                                ),
                            };
                            let response = response.body(body).expect("response");
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
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
        TestServer {
            addr,
            requests,
            connections,
            task,
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// How many TCP connections were accepted (a refused TLS handshake still counts one).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// The port, as a string for `KUBERNETES_SERVICE_PORT_HTTPS`.
    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }
}
