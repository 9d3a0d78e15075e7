//! The HTTP client every generated client calls into: auth, retries, limits, no redirects.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, LOCATION, USER_AGENT};
use serde::de::DeserializeOwned;

use crate::discovery::config::{Config, Mode};
use crate::discovery::secret::SecretToken;
use crate::discovery::token::TokenFile;
use crate::error::status::Status;
use crate::error::transport;
use crate::error::{Error, Result};
use crate::http::chunked_json;
use crate::http::liveness::{self, Call};
use crate::http::retry::{self, Outcome, Retry};
use crate::request::Request;
use crate::stream::lines::{LineStream, DEFAULT_MAX_LINE_BYTES};
use crate::stream::list::ListStream;
use crate::stream::splitter::{BodyLines, ClassifyTransport};
use crate::stream::watch::WatchStream;
use crate::tls::{self, CaFile};
#[cfg(feature = "watcher")]
use crate::watcher::Watcher;

/// A connection to the Kubernetes API: one connection pool, the credentials, the default namespace.
///
/// Cheap to clone (an `Arc`), `Send + Sync`; share one per process.
///
/// ```no_run
/// # async fn run() -> incluster::Result<()> {
/// let client = incluster::Client::in_cluster()?;
/// let request = incluster::Request::builder(incluster::Method::GET, "/version").build()?;
/// let version: serde_json::Value = client.json(request).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    server: String,
    /// `server`, parsed once (each request's URL is built from it without parsing again).
    base: url::Url,
    namespace: String,
    token: Option<Arc<TokenFile>>,
    ca: Option<Arc<CaFile>>,
    https_only: bool,
    /// The HTTP client, rebuilt (new TLS configuration, session cache and pool) when `ca.crt` changes.
    http: RwLock<Http>,
    /// The whole-request limit of calls that are not streams.
    timeout: Duration,
    retry: Retry,
    max_response_bytes: u64,
    max_error_bytes: u64,
    field_manager: Option<String>,
}

struct Http {
    /// The version of `ca.crt` this client trusts (0 in proxy mode).
    ca_version: u64,
    client: reqwest::Client,
}

/// A 2xx response, read in full.
///
/// ```no_run
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let response = client.send(incluster::Request::builder(incluster::Method::GET, "/healthz").build()?).await?;
/// assert_eq!(response.status(), 200);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    /// The HTTP status code.
    ///
    /// ```no_run
    /// # fn f(r: incluster::Response) { let _: u16 = r.status(); }
    /// ```
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The response headers.
    ///
    /// ```no_run
    /// # fn f(r: incluster::Response) { let _ = r.headers().get("content-type"); }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    ///
    /// ```no_run
    /// # fn f(r: incluster::Response) { let _: &[u8] = r.body(); }
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.server)
            .field("namespace", &self.inner.namespace)
            .field("authenticated", &self.inner.token.is_some())
            .finish()
    }
}

/// One failed attempt: the error, and what the retry rules need to know about it.
struct Failure {
    error: Error,
    outcome: Outcome,
    retry_after: Option<Duration>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            error,
            outcome: Outcome::Final,
            retry_after: None,
        }
    }
}

impl Client {
    /// Builds a client from a [`Config`].
    ///
    /// ```no_run
    /// let client = incluster::Client::new(incluster::Config::proxy("http://127.0.0.1:8001")?)?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn new(config: Config) -> Result<Client> {
        Client::build(config, proxy_tls)
    }

    /// `Client::new(Config::in_cluster()?)`.
    ///
    /// ```no_run
    /// let client = incluster::Client::in_cluster()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn in_cluster() -> Result<Client> {
        // `Config::in_cluster` is never a proxy: without a proxy TLS setup to call, a program
        // that only ever runs in a Pod links none (the platform verifier's: 3.6 KB).
        Client::build(Config::in_cluster()?, |_| {
            Err(Error::config(
                "Client::in_cluster met a proxy configuration; use Client::new(Config::proxy(…))",
            ))
        })
    }

    /// [`Client::new`], with `proxy_tls` making the TLS configuration of a proxy (`true`: https).
    fn build(
        config: Config,
        proxy_tls: fn(bool) -> Result<rustls::ClientConfig>,
    ) -> Result<Client> {
        let (token, ca, https_only, http) = match config.mode {
            Mode::InCluster { token, ca } => {
                let roots = ca.cached();
                let tls = tls::in_cluster_tls(ca.path(), &roots.value)?;
                let http = Http {
                    ca_version: roots.version,
                    client: http_client(tls, true)?,
                };
                (Some(token), Some(ca), true, http)
            }
            Mode::Proxy { https } => {
                let http = Http {
                    ca_version: 0,
                    client: http_client(proxy_tls(https)?, https)?,
                };
                (None, None, https, http)
            }
        };
        let base = url::Url::parse(&config.server).map_err(|err| {
            Error::config_with(
                format!("the server URL {:?} does not parse", config.server),
                err,
            )
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                server: config.server,
                namespace: config.namespace,
                token,
                ca,
                https_only,
                http: RwLock::new(http),
                timeout: config.timeout.unwrap_or(liveness::DEFAULT_REQUEST_TIMEOUT),
                retry: config.retry,
                max_response_bytes: config.max_response_bytes,
                max_error_bytes: config.max_error_bytes,
                field_manager: config.field_manager,
            }),
        })
    }

    /// The most bytes of one response body this client reads ([`Config::with_max_response_bytes`]).
    #[cfg(feature = "watcher")]
    pub(crate) fn max_response_bytes(&self) -> u64 {
        self.inner.max_response_bytes
    }

    /// The default namespace (see [`Config::namespace`]).
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) { println!("{}", client.namespace()); }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The server's base URL, e.g. `https://10.96.0.1:443`.
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) { println!("{}", client.server()); }
    /// ```
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// Sends a request and reads the whole body (up to [`Config::with_max_response_bytes`]);
    /// a non-2xx answer is [`Error::Api`], a redirect [`Error::Redirect`].
    ///
    /// Failed attempts are retried as [`Retry`] says. On a 401 the token file is re-read at once
    /// and, if it holds a new token, the request is sent once more with it.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let response = client.send(incluster::Request::builder(incluster::Method::GET, "/readyz").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, request: Request) -> Result<Response> {
        let response = self.exchange(&request).await?;
        tracing::debug!(request = %request, status = response.status, bytes = response.body.len(), "response");
        Ok(response)
    }

    /// Sends a watch request (it should carry `watch=true`) and returns its events as a stream.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces")
    ///     .query("watch", &true)
    ///     .build()?;
    /// let events = client.watch::<serde_json::Value>(request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn watch<T: DeserializeOwned + Send + 'static>(
        &self,
        request: Request,
    ) -> Result<WatchStream<T>> {
        let response = self.sent(&request, Call::Stream).await?;
        tracing::debug!(request = %request, "watch started");
        let classify = self.classify_transport(request.timeout);
        Ok(WatchStream::new(response, request.to_string(), classify))
    }

    /// Sends a request whose response is text and returns its lines as a stream (see
    /// [`LineStream`]); a non-2xx answer is [`Error::Api`](crate::Error::Api).
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/pods/{name}/log")
    ///     .path_param("namespace", "default")
    ///     .path_param("name", "web-0")
    ///     .query("follow", &true)
    ///     .build()?;
    /// let mut lines = client.lines(request).await?;
    /// while let Some(line) = lines.next().await {
    ///     println!("{}", line?);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn lines(&self, request: Request) -> Result<LineStream> {
        let response = self.sent(&request, Call::Stream).await?;
        tracing::debug!(request = %request, "line stream started");
        Ok(LineStream::new(BodyLines::new(
            response,
            DEFAULT_MAX_LINE_BYTES,
            self.classify_transport(request.timeout),
        )))
    }

    /// Sends a LIST request and returns its items as a stream across pages (see [`ListStream`]).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces")
    ///     .query("limit", &100)
    ///     .build()?;
    /// let namespaces: Vec<serde_json::Value> = client.list_stream(request).await?.try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn list_stream<T: DeserializeOwned + Send + 'static>(
        &self,
        request: Request,
    ) -> Result<ListStream<T>> {
        ListStream::start(self.clone(), request).await
    }

    /// A [`Watcher`] of the collection that the LIST request `list` reads (nothing is sent
    /// before the first poll).
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) -> incluster::Result<()> {
    /// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces").build()?;
    /// let namespaces = client.watcher::<serde_json::Value>(list);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "watcher")]
    pub fn watcher<T: DeserializeOwned + Send + 'static>(&self, list: Request) -> Watcher<T> {
        Watcher::new(self.clone(), list)
    }

    /// Sends a request and decodes the JSON response into `T`.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let request = incluster::Request::builder(incluster::Method::GET, "/api").build()?;
    /// let versions: serde_json::Value = client.json(request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn json<T: DeserializeOwned>(&self, request: Request) -> Result<T> {
        self.json_as(&request, std::any::type_name::<T>()).await
    }

    /// [`Client::json`], naming the decoded type `type_name` in an error.
    pub(crate) async fn json_as<T: DeserializeOwned>(
        &self,
        request: &Request,
        type_name: &'static str,
    ) -> Result<T> {
        // Only the decoding is generic: the send → retry → 401 → read state machine is compiled
        // once, not once per response type. A large body is read in blocks, each released as soon
        // as its objects are decoded (see `read_blocks` and `chunked_json`).
        let (full, last) = self.exchange_blocks(request).await?;
        chunked_json::from_blocks(full, last)
            .map_err(|failure| Error::decode(request, type_name, failure.error, &failure.head))
    }

    /// Sends the request and reads the whole body: one boxed (so never inlined) future shared by
    /// [`Client::send`] and [`Client::text`].
    fn exchange<'a>(
        &'a self,
        request: &'a Request,
    ) -> Pin<Box<dyn Future<Output = Result<Response>> + Send + 'a>> {
        Box::pin(async move {
            let mut response = self.send_streaming(request, Call::Whole).await?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
            let body = self.read_body(request, response).await?;
            Ok(Response {
                status,
                headers,
                body,
            })
        })
    }

    /// Sends the request and reads the whole body in blocks (see [`read_blocks`]): one boxed
    /// future shared by every response type of [`Client::json`].
    pub(crate) fn exchange_blocks<'a>(
        &'a self,
        request: &'a Request,
    ) -> Pin<Box<dyn Future<Output = Result<Blocks>> + Send + 'a>> {
        Box::pin(async move {
            let response = self.send_streaming(request, Call::Whole).await?;
            read_blocks(response, self.inner.max_response_bytes, false)
                .await
                .map_err(|err| self.body_error(request, err))
        })
    }

    /// [`Client::send_streaming`] in one box, for the calls whose body is not read whole
    /// (`watch::<T>` for every `T`, `lines`, `send_ignoring_body`): they share one compiled copy
    /// of its state machine instead of inlining one each.
    fn sent<'a>(
        &'a self,
        request: &'a Request,
        call: Call,
    ) -> Pin<Box<dyn Future<Output = Result<reqwest::Response>> + Send + 'a>> {
        Box::pin(self.send_streaming(request, call))
    }

    /// Sends a request and returns the body as text (e.g. Pod logs).
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let health = client.text(incluster::Request::builder(incluster::Method::GET, "/healthz").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn text(&self, request: Request) -> Result<String> {
        let body = self.exchange(&request).await?.body;
        String::from_utf8(body.to_vec())
            .map_err(|err| Error::decode(&request, "String", err, &body))
    }

    /// Sends a request and ignores the body of its 2xx response.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// client.send_ignoring_body(incluster::Request::builder(incluster::Method::GET, "/livez").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_ignoring_body(&self, request: Request) -> Result<()> {
        // Dropping the response closes it; the pool does not wait for a body nobody reads.
        self.sent(&request, Call::Whole).await.map(drop)
    }

    /// Sends the request, retrying as the policy allows, and returns the 2xx response with its
    /// body unread; anything else is an error (its body read up to the error limit). A
    /// [`Call::Whole`] gets the client's whole-request limit unless the request sets its own; a
    /// [`Call::Stream`] only the request's own.
    pub(crate) async fn send_streaming(
        &self,
        request: &Request,
        call: Call,
    ) -> Result<reqwest::Response> {
        let limit = match call {
            Call::Whole => Some(request.timeout.unwrap_or(self.inner.timeout)),
            Call::Stream => request.timeout,
        };
        let field_manager = crate::request::patch::field_manager_to_add(
            request,
            self.inner.field_manager.as_deref(),
        )?;
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(request, field_manager, limit).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            let wait = retry::retryable(&request.method, failure.outcome).and_then(|reason| {
                self.inner
                    .retry
                    .next_wait(attempt, started.elapsed(), failure.retry_after)
                    .map(|wait| (reason, wait))
            });
            let Some((reason, wait)) = wait else {
                return Err(failure.error);
            };
            tracing::debug!(request = %request, attempt, reason, wait_ms = wait.as_millis() as u64, "retrying");
            crate::metrics::retrying(request);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt (with the 401 re-read of the token).
    async fn attempt(
        &self,
        request: &Request,
        field_manager: Option<&str>,
        limit: Option<Duration>,
    ) -> std::result::Result<reqwest::Response, Failure> {
        let http = self.http().await?;
        let token = match &self.inner.token {
            Some(file) => Some(file.current().await.value),
            None => None,
        };
        let mut response = self
            .send_once(&http, request, field_manager, token.as_deref(), limit)
            .await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            if let (Some(file), Some(rejected)) = (&self.inner.token, &token) {
                let fresh = file.reread().await.value;
                if fresh != *rejected {
                    tracing::info!(request = %request, token_reread = true, "401 Unauthorized; retrying once with the re-read service-account token");
                    response = self
                        .send_once(&http, request, field_manager, Some(&fresh), limit)
                        .await?;
                } else {
                    tracing::debug!(request = %request, path = %file.path().display(), "401 Unauthorized and the token file is unchanged");
                }
            }
        }
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        if (300..400).contains(&status) {
            let location = redirect_target(&self.inner.server, response.headers());
            tracing::debug!(request = %request, status, %location, "redirect refused");
            return Err(Error::Redirect {
                server: self.inner.server.clone(),
                status,
                location,
            }
            .into());
        }
        let retry_after = retry::retry_after(response.headers());
        let body = read_prefix(response, self.inner.max_error_bytes).await;
        tracing::debug!(request = %request, status, "error response");
        Err(Failure {
            error: Error::Api(Box::new(crate::rbac::explain(
                Status::from_response(status, &body),
                request,
            ))),
            outcome: Outcome::Status(status),
            retry_after,
        })
    }

    /// Sends `request` once: with `fieldManager` set to `field_manager` if given (see
    /// `patch::field_manager_to_add`), the User-Agent, the bearer `token`, and (feature
    /// `controller`) the watch form of the metadata-only `Accept` on a metadata-only watch.
    async fn send_once(
        &self,
        http: &reqwest::Client,
        request: &Request,
        field_manager: Option<&str>,
        token: Option<&SecretToken>,
        limit: Option<Duration>,
    ) -> std::result::Result<reqwest::Response, Failure> {
        // Built in place rather than through `reqwest::RequestBuilder`, whose fallible, generic
        // setters add code for conversions that cannot fail here (the same request results).
        let mut url = request.url_in(&self.inner.base);
        if let Some(manager) = field_manager {
            url.query_pairs_mut().append_pair("fieldManager", manager);
        }
        let mut outgoing = reqwest::Request::new(request.method.clone(), url);
        let headers = outgoing.headers_mut();
        if !request.headers.is_empty() {
            *headers = request.headers.clone();
        }
        // A watch of a metadata-only list asks for the watch form of the metadata `Accept`.
        #[cfg(feature = "controller")]
        if crate::controller::metadata::is_metadata_watch(request) {
            headers.insert(
                reqwest::header::ACCEPT,
                HeaderValue::from_static(crate::controller::metadata::WATCH_ACCEPT),
            );
        }
        // Per request, as a client default header would be (unless the request has its own):
        // `ClientBuilder::user_agent` costs 4 KB of code for the same header.
        if !headers.contains_key(USER_AGENT) {
            headers.append(USER_AGENT, HeaderValue::from_static(INCLUSTER_USER_AGENT));
        }
        if let Some(token) = token {
            headers.append(AUTHORIZATION, token.header_value().clone());
        }
        if let Some(body) = &request.body {
            *outgoing.body_mut() = Some(body.clone().into());
        }
        if let Some(limit) = limit {
            *outgoing.timeout_mut() = Some(limit);
        }
        let (sent, result) = (Instant::now(), http.execute(outgoing).await);
        crate::metrics::sent(request, &result, sent);
        result.map_err(|err| {
            let outcome = if liveness::is_ping_timeout(&err) {
                // The connection died under the request: it may have been written.
                Outcome::Lost
            } else if err.is_connect() {
                // No connection (refused, or no answer within the connect timeout).
                Outcome::NotSent
            } else if err.is_timeout() {
                // This request's own time limit is spent.
                Outcome::Final
            } else if err.is_request() {
                Outcome::Lost
            } else {
                Outcome::Final
            };
            let error = self.transport_error(err, limit);
            let outcome = match &error {
                Error::Transport { .. } => outcome,
                // A TLS failure is not a network hiccup: never retried.
                _ => Outcome::Final,
            };
            Failure {
                error,
                outcome,
                retry_after: None,
            }
        })
    }

    /// The HTTP client for the current `ca.crt`: rebuilt when the roots changed, so that new
    /// connections (and TLS sessions) use only the new roots.
    async fn http(&self) -> Result<reqwest::Client> {
        let Some(ca) = &self.inner.ca else {
            return Ok(self.read_http().client.clone());
        };
        let mut roots = ca.current().await;
        if roots.value.recheck_due() {
            // An anchor expired (or one became valid) since `ca.crt` was parsed: parse it again,
            // so that new connections trust exactly the anchors valid now.
            roots = ca.reparse()?;
            tracing::info!(path = %ca.path().display(), "a CA certificate's validity period began or ended; trusting the anchors valid now");
        }
        {
            let http = self.read_http();
            if http.ca_version >= roots.version {
                return Ok(http.client.clone());
            }
        }
        let client = http_client(
            tls::in_cluster_tls(ca.path(), &roots.value)?,
            self.inner.https_only,
        )?;
        let mut http = self.inner.http.write().unwrap_or_else(|p| p.into_inner());
        if http.ca_version < roots.version {
            tracing::info!(path = %ca.path().display(), "CA bundle changed; new connections trust its roots only");
            *http = Http {
                ca_version: roots.version,
                client,
            };
        }
        Ok(http.client.clone())
    }

    fn read_http(&self) -> std::sync::RwLockReadGuard<'_, Http> {
        // Nothing panics while holding this lock; recover it if something did.
        self.inner.http.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The body of a 2xx response, up to the response limit.
    async fn read_body(&self, request: &Request, response: reqwest::Response) -> Result<Bytes> {
        read_limited(response, self.inner.max_response_bytes)
            .await
            .map_err(|err| self.body_error(request, err))
    }

    /// What a failure of [`read_limited`] or [`read_blocks`] is: a transport error, or
    /// `None` for a body over the response limit.
    fn body_error(&self, request: &Request, err: Option<reqwest::Error>) -> Error {
        match err {
            Some(err) => {
                self.transport_error(err, Some(request.timeout.unwrap_or(self.inner.timeout)))
            }
            None => Error::ResponseTooLarge {
                request: request.to_string(),
                limit: self.inner.max_response_bytes,
            },
        }
    }

    /// An error of the exchange, as [`Error::Tls`] or [`Error::Transport`].
    /// How a stream of this client's turns a failure while reading a body into an [`Error`].
    /// `limit` is the stream request's own whole-request limit, if it set one.
    pub(crate) fn classify_transport(&self, limit: Option<Duration>) -> ClassifyTransport {
        let client = self.clone();
        Box::new(move |err| client.transport_error(err, limit))
    }

    /// `limit`: the whole-request limit the failed exchange ran under, for the message.
    pub(crate) fn transport_error(&self, err: reqwest::Error, limit: Option<Duration>) -> Error {
        let ca_path = self.inner.ca.as_ref().map(|ca| ca.path());
        transport::classify(err, &self.inner.server, ca_path, limit)
    }
}

/// The TLS configuration for a `kubectl proxy`: the platform's roots for https; for plain http
/// (only ever to loopback) no roots to load at all.
fn proxy_tls(https: bool) -> Result<rustls::ClientConfig> {
    if https {
        tls::platform_tls()
    } else {
        tls::no_tls_expected()
    }
}

/// The `User-Agent` of every request.
const INCLUSTER_USER_AGENT: &str = concat!("incluster/", env!("CARGO_PKG_VERSION"));

/// The reqwest client: our TLS configuration, no redirects, no `Referer`, no environment proxies
/// (the `User-Agent` is set per request, in `send_once`).
fn http_client(tls: rustls::ClientConfig, https_only: bool) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A silent connection is noticed (see `liveness`): PING on HTTP/2, keepalive on TCP.
        .http2_keep_alive_interval(liveness::PING_INTERVAL)
        .http2_keep_alive_timeout(liveness::PING_TIMEOUT)
        .http2_keep_alive_while_idle(true)
        .tcp_keepalive(liveness::TCP_KEEPALIVE)
        .tcp_keepalive_interval(liveness::TCP_KEEPALIVE_INTERVAL)
        .tcp_keepalive_retries(3)
        .tcp_user_timeout(liveness::TCP_USER_TIMEOUT)
        .pool_idle_timeout(Duration::from_secs(90))
        // A redirect is an error (CVE-2020-8559): the request and its token stay with the server.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        // Traffic to the API server never goes through HTTP(S)_PROXY from the environment.
        .no_proxy()
        .tls_backend_preconfigured(tls)
        .https_only(https_only)
        .build()
        .map_err(|err| Error::config_with("cannot build the HTTP client", err))
}

/// The whole body in one buffer if it is at most `limit` bytes; `Err(None)` as soon as it is
/// larger.
async fn read_limited(
    response: reqwest::Response,
    limit: u64,
) -> std::result::Result<Bytes, Option<reqwest::Error>> {
    let (mut full, last) = read_blocks(response, limit, true).await?;
    if full.is_empty() {
        return Ok(last);
    }
    full.push(last);
    Ok(concatenate(full))
}

/// A body's full blocks and its last one (a body in one block needs no list).
type Blocks = (Vec<Bytes>, Bytes);

/// A body of known length below this is read into one buffer of that length and decoded as one
/// slice (the fast path: one serde_json call); a larger one, or one without a length, is read
/// into blocks of [`BODY_BLOCK`].
///
/// A body is copied out of the connection's buffers as it arrives (kept as it arrived, each
/// chunk would hold on to a read buffer often twice its size). A body in blocks is decoded from
/// them and each block released once decoded (see `chunked_json`), so that it and its objects
/// are never both whole in memory.
const ONE_BUFFER_BELOW: u64 = 1 << 20;

/// The size of the blocks a large body is read into: 60 KiB, under two thresholds of glibc's
/// allocator, measured (bench/PERF.md, "Round 2, sixth session"). Under its `mmap` threshold (128 KiB) a
/// block comes from the heap, and its space is reused by the objects decoded after it, instead
/// of being unmapped, which would also raise that threshold so that the decoded list itself left
/// the heap's fast path; under 64 KiB releasing one never sweeps the allocator's small-chunk
/// bins. 1 MiB blocks cost 6 % more CPU for a 3 MB list.
const BODY_BLOCK: usize = 60 << 10;

/// The body in blocks of [`BODY_BLOCK`] bytes — the full ones, and the last — if it is at most
/// `limit` bytes; `Err(None)` as soon as it is larger. `whole`: the caller wants one buffer, so a
/// body of known length is read into one of that length whatever its size.
///
/// Each block is sized once, never regrown by doubling: with a `Content-Length`, one buffer of
/// that size when it is under [`ONE_BUFFER_BELOW`]; else blocks of a block's size, filled to the
/// byte (the first grows up to it, so that a small body without a length takes no more than it
/// needs). A body without a length that arrives in one chunk is that chunk.
async fn read_blocks(
    mut response: reqwest::Response,
    limit: u64,
    whole: bool,
) -> std::result::Result<Blocks, Option<reqwest::Error>> {
    let length = response.content_length();
    if length.is_some_and(|length| length > limit) {
        return Err(None);
    }
    let (first, block_size) = match length {
        Some(length) if whole || length < ONE_BUFFER_BELOW => (length as usize, usize::MAX),
        Some(_) => (BODY_BLOCK, BODY_BLOCK),
        None => (0, BODY_BLOCK),
    };
    let mut blocks: Vec<Bytes> = Vec::new();
    let mut block = BytesMut::with_capacity(first);
    // Without a length, the first chunk waits to see whether a second one comes.
    let mut only: Option<Bytes> = None;
    let mut read = 0u64;
    // Each chunk is let go only once the next one has arrived. A chunk shares hyper's read
    // buffer: while one is alive, hyper makes room for the next read in a fresh buffer of the
    // size it asks for; with none alive, it grows its own buffer instead, doubling it (a 300 KB
    // page left a 480 KiB buffer where 256 KiB were asked for). Measured: w3p heap peak 1.56 ->
    // 1.33 MB, peak RSS 7.4 -> 7.3 MiB (bench/PERF.md, "Round 2, sixth session").
    let mut held: Option<Bytes> = None;
    while let Some(chunk) = response.chunk().await.map_err(Some)? {
        read += chunk.len() as u64;
        if read > limit {
            return Err(None);
        }
        if length.is_none() && read == chunk.len() as u64 {
            only = Some(chunk);
            continue;
        }
        for chunk in only.take().iter().chain([&chunk]) {
            // A chunk larger than the room left is split across blocks, so that no block
            // outgrows its size (hyper hands over up to a few hundred KiB at once on HTTP/1.1).
            let mut rest: &[u8] = chunk;
            while !rest.is_empty() {
                if block.len() >= block_size {
                    let full = std::mem::replace(&mut block, BytesMut::with_capacity(BODY_BLOCK));
                    blocks.push(full.freeze());
                }
                let (now, later) = rest.split_at(rest.len().min(block_size - block.len()));
                block.extend_from_slice(now);
                rest = later;
            }
        }
        held = Some(chunk);
    }
    drop(held);
    Ok((blocks, only.unwrap_or_else(|| block.freeze())))
}

/// The chunks in one buffer (a single chunk is the body itself).
fn concatenate(mut chunks: Vec<Bytes>) -> Bytes {
    if chunks.len() <= 1 {
        return chunks.pop().unwrap_or_default();
    }
    let mut body = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
    for chunk in chunks {
        body.extend_from_slice(&chunk);
    }
    body.freeze()
}

/// At most `limit` bytes of the body; the rest, and a failure while reading, are left alone.
async fn read_prefix(mut response: reqwest::Response, limit: u64) -> Bytes {
    let mut body = BytesMut::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit.saturating_sub(body.len() as u64) as usize;
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() as u64 >= limit {
            break;
        }
    }
    body.freeze()
}

/// Where a redirect points, as `scheme://host[:port]` only (never a path or query, which could
/// hold anything), bounded.
fn redirect_target(server: &str, headers: &HeaderMap) -> String {
    let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
        return "nowhere (no Location header)".to_string();
    };
    let target = url::Url::parse(server)
        .and_then(|base| base.join(location))
        .ok()
        .and_then(|url| {
            let host = url.host_str()?;
            Some(match url.port() {
                Some(port) => format!("{}://{host}:{port}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            })
        });
    let mut target = target.unwrap_or_else(|| "an address that is not a URL".to_string());
    if target.len() > 256 {
        let mut end = 256;
        while !target.is_char_boundary(end) {
            end -= 1;
        }
        target.truncate(end);
        target.push('…');
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_cheap_to_share_across_tasks() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<Client>();
        assert_shareable::<Config>();
        fn assert_sendable<T: Send + Sync + 'static>() {}
        assert_sendable::<Error>();
    }

    #[test]
    fn redirect_targets_show_scheme_and_host_only() {
        let mut headers = HeaderMap::new();
        headers.insert(
            LOCATION,
            "http://evil.example:8080/steal?token=x".parse().unwrap(),
        );
        assert_eq!(
            redirect_target("https://10.96.0.1:443", &headers),
            "http://evil.example:8080"
        );
        headers.insert(LOCATION, "/elsewhere".parse().unwrap());
        assert_eq!(
            redirect_target("https://10.96.0.1:443", &headers),
            "https://10.96.0.1"
        );
        assert!(redirect_target("https://10.96.0.1:443", &HeaderMap::new()).contains("no Location"));
    }
}
