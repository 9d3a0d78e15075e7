//! The HTTP client every generated client calls into.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde::de::DeserializeOwned;

use crate::config::{Config, Mode};
use crate::error::{Error, Result};
use crate::request::Request;
use crate::secret::SecretToken;
use crate::status::{excerpt, Status};
use crate::token::TokenSource;
use crate::watch::WatchStream;
use crate::{tls, transport_error};

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
    http: reqwest::Client,
    base_url: String,
    authority: String,
    namespace: String,
    token: Option<TokenSource>,
    ca_path: Option<PathBuf>,
    timeout: Option<Duration>,
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
            .field("server", &self.inner.base_url)
            .field("namespace", &self.inner.namespace)
            .field("authenticated", &self.inner.token.is_some())
            .finish()
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
        let token = config.token_source()?;
        let builder = reqwest::Client::builder()
            .user_agent(concat!("incluster/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .tcp_keepalive(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            // Traffic to the API server never goes through HTTP(S)_PROXY from the environment.
            .no_proxy();
        let (builder, ca_path) = match &config.mode {
            Mode::InCluster { ca_path, .. } => {
                let tls = tls::in_cluster_tls(ca_path, config.ca_recheck)?;
                (
                    builder.tls_backend_preconfigured(tls).https_only(true),
                    Some(ca_path.clone()),
                )
            }
            Mode::Proxy { https } => {
                let tls = tls::platform_tls()?;
                (
                    builder.tls_backend_preconfigured(tls).https_only(*https),
                    None,
                )
            }
        };
        let http = builder
            .build()
            .map_err(|err| Error::config(format!("cannot build the HTTP client: {err}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url,
                authority: config.server_label,
                namespace: config.namespace,
                token,
                ca_path,
                timeout: config.timeout,
            }),
        })
    }

    /// `Client::new(Config::in_cluster()?)`.
    ///
    /// ```no_run
    /// let client = incluster::Client::in_cluster()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn in_cluster() -> Result<Client> {
        Client::new(Config::in_cluster()?)
    }

    /// The default namespace (see [`Config::namespace`]).
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) { println!("{}", client.namespace()); }
    /// ```
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The base URL, e.g. `https://10.96.0.1:443`.
    ///
    /// ```no_run
    /// # fn f(client: incluster::Client) { println!("{}", client.server()); }
    /// ```
    pub fn server(&self) -> &str {
        &self.inner.base_url
    }

    /// Sends a request; a non-2xx answer is [`Error::Api`].
    ///
    /// On a 401 the token file is re-read at once and, if it holds a new token, the request is
    /// retried once with it.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let response = client.send(incluster::Request::builder(incluster::Method::GET, "/readyz").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, request: Request) -> Result<Response> {
        let response = self.send_streaming(&request).await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|err| self.transport_error(err))?;
        tracing::debug!(request = %request, status, bytes = body.len(), "response");
        Ok(Response {
            status,
            headers,
            body,
        })
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
        let response = self.send_streaming(&request).await?;
        tracing::debug!(request = %request, "watch started");
        let (authority, ca_path) = (self.inner.authority.clone(), self.inner.ca_path.clone());
        let classify =
            Box::new(move |err| transport_error::classify(err, &authority, ca_path.as_deref()));
        Ok(WatchStream::new(response, request.to_string(), classify))
    }

    /// Sends the request (retrying once on a 401 with a re-read token) and returns the response
    /// with its body unread; a non-2xx answer is read and returned as [`Error::Api`].
    pub(crate) async fn send_streaming(&self, request: &Request) -> Result<reqwest::Response> {
        let token = self.inner.token.as_ref().map(TokenSource::current);
        let mut response = self.execute(request, token.as_ref()).await?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            if let (Some(source), Some(rejected)) = (&self.inner.token, &token) {
                if let Some(fresh) = source.refresh_after_rejection(rejected) {
                    tracing::info!(request = %request, "401 Unauthorized; retrying once with the re-read service-account token");
                    response = self.execute(request, Some(&fresh)).await?;
                } else {
                    tracing::debug!(request = %request, path = %source.path().display(), "401 Unauthorized and the token file is unchanged");
                }
            }
        }
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let body = response
                .bytes()
                .await
                .map_err(|err| self.transport_error(err))?;
            tracing::debug!(request = %request, status, "error response");
            return Err(Error::Api(Box::new(Status::from_response(status, &body))));
        }
        Ok(response)
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
        let description = request.to_string();
        let response = self.send(request).await?;
        serde_json::from_slice(&response.body).map_err(|err| Error::Decode {
            request: description,
            type_name: std::any::type_name::<T>(),
            message: err.to_string(),
            excerpt: excerpt(&response.body),
        })
    }

    /// Sends a request and returns the body as text (e.g. Pod logs).
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// let health = client.text(incluster::Request::builder(incluster::Method::GET, "/healthz").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn text(&self, request: Request) -> Result<String> {
        let description = request.to_string();
        let response = self.send(request).await?;
        String::from_utf8(response.body.to_vec()).map_err(|err| Error::Decode {
            request: description,
            type_name: "String",
            message: err.to_string(),
            excerpt: excerpt(&response.body),
        })
    }

    /// Sends a request and ignores the body of its 2xx response.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client) -> incluster::Result<()> {
    /// client.empty(incluster::Request::builder(incluster::Method::GET, "/livez").build()?).await?;
    /// # Ok(()) }
    /// ```
    pub async fn empty(&self, request: Request) -> Result<()> {
        self.send(request).await.map(drop)
    }

    async fn execute(
        &self,
        request: &Request,
        token: Option<&SecretToken>,
    ) -> Result<reqwest::Response> {
        let url = format!("{}{}", self.inner.base_url, request.path_and_query());
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .headers(request.headers.clone());
        if let Some(value) = token.and_then(SecretToken::header_value) {
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        if let Some(timeout) = request.timeout.or(self.inner.timeout) {
            builder = builder.timeout(timeout);
        }
        builder
            .send()
            .await
            .map_err(|err| self.transport_error(err))
    }

    pub(crate) fn transport_error(&self, err: reqwest::Error) -> Error {
        transport_error::classify(err, &self.inner.authority, self.inner.ca_path.as_deref())
    }
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
}
