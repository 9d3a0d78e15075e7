//! Where the API server is and how to authenticate: discovered inside a Pod, or a `kubectl proxy`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use crate::discovery::mounted_file::{read_with_deadline, FIRST_READ_DEADLINE};
use crate::discovery::token::{self, TokenFile};
use crate::error::{Error, Result};
use crate::http::retry::Retry;
use crate::tls::{self, CaFile};

/// Where the kubelet mounts a Pod's service-account credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const HOST_VAR: &str = "KUBERNETES_SERVICE_HOST";
const PORT_HTTPS_VAR: &str = "KUBERNETES_SERVICE_PORT_HTTPS";
const PORT_VAR: &str = "KUBERNETES_SERVICE_PORT";
const NAMESPACE_VAR: &str = "POD_NAMESPACE";
const PROXY_VAR: &str = "INCLUSTER_PROXY";

/// The default [`Config::with_max_response_bytes`]: 256 MiB, room for a large unpaged list.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// The default [`Config::with_max_error_bytes`]: 1 MiB (a `Status` is well under 1 KiB).
pub const DEFAULT_MAX_ERROR_BYTES: u64 = 1024 * 1024;

/// How to reach the Kubernetes API: the server, the credentials, the default namespace.
///
/// ```no_run
/// // Inside a Pod:
/// let config = incluster::Config::in_cluster()?;
/// println!("talking to {} as namespace {}", config.server(), config.namespace());
/// // Beside a `kubectl proxy` sidecar:
/// let config = incluster::Config::proxy("http://127.0.0.1:8001")?;
/// # Ok::<(), incluster::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// The base URL, e.g. `https://10.96.0.1:443`: what errors and logs call "the server".
    pub(crate) server: String,
    pub(crate) namespace: String,
    pub(crate) mode: Mode,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Retry,
    pub(crate) max_response_bytes: u64,
    pub(crate) max_error_bytes: u64,
    pub(crate) field_manager: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// HTTPS to the API server, the bearer token from the token file, roots from `ca.crt` only.
    /// Both were read (once) at discovery and are followed as the kubelet replaces them.
    InCluster {
        token: Arc<TokenFile>,
        ca: Arc<CaFile>,
    },
    /// A `kubectl proxy`: no credentials of ours. `https` says whether the URL is https.
    Proxy { https: bool },
}

/// Where [`Config::in_cluster_with`] looks: the service-account directory and the environment.
///
/// ```
/// let options = incluster::InClusterOptions::new()
///     .dir("/etc/my-projected-token")
///     .env(|name| (name == "KUBERNETES_SERVICE_HOST").then(|| "10.96.0.1".to_string()));
/// let err = incluster::Config::in_cluster_with(options).unwrap_err();
/// assert!(err.to_string().contains("KUBERNETES_SERVICE_PORT"));
/// ```
pub struct InClusterOptions {
    dir: PathBuf,
    env: Box<EnvFn>,
}

/// Looks up an environment variable.
type EnvFn = dyn Fn(&str) -> Option<String>;

impl Default for InClusterOptions {
    fn default() -> Self {
        InClusterOptions::new()
    }
}

impl std::fmt::Debug for InClusterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InClusterOptions")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl InClusterOptions {
    /// The process environment and [`SERVICE_ACCOUNT_DIR`], as inside a Pod.
    ///
    /// ```
    /// let options = incluster::InClusterOptions::new();
    /// ```
    pub fn new() -> InClusterOptions {
        InClusterOptions {
            dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// Reads `token`, `ca.crt` and `namespace` under `dir` instead.
    ///
    /// ```
    /// let options = incluster::InClusterOptions::new().dir("/etc/sa");
    /// ```
    pub fn dir(mut self, dir: impl AsRef<Path>) -> InClusterOptions {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// Reads `KUBERNETES_SERVICE_HOST`, `KUBERNETES_SERVICE_PORT(_HTTPS)` and `POD_NAMESPACE`
    /// through `env` instead of the process environment: for tests, and for programs that hold
    /// several clusters' settings.
    ///
    /// ```
    /// let options = incluster::InClusterOptions::new().env(|_| None);
    /// ```
    pub fn env(mut self, env: impl Fn(&str) -> Option<String> + 'static) -> InClusterOptions {
        self.env = Box::new(env);
        self
    }
}

impl Config {
    /// Discovers the API server from inside a Pod: `KUBERNETES_SERVICE_HOST`,
    /// `KUBERNETES_SERVICE_PORT_HTTPS` (else `KUBERNETES_SERVICE_PORT`), and `token`, `ca.crt`,
    /// `namespace` under `/var/run/secrets/kubernetes.io/serviceaccount`.
    ///
    /// The namespace is `POD_NAMESPACE` if set, else the `namespace` file, else `default`.
    ///
    /// ```no_run
    /// let config = incluster::Config::in_cluster()?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn in_cluster() -> Result<Config> {
        Config::in_cluster_at(SERVICE_ACCOUNT_DIR)
    }

    /// Like [`Config::in_cluster`], with the service-account files under `dir`.
    ///
    /// ```no_run
    /// let config = incluster::Config::in_cluster_at("/etc/my-projected-token")?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn in_cluster_at(dir: impl AsRef<Path>) -> Result<Config> {
        Config::in_cluster_with(InClusterOptions::new().dir(dir))
    }

    /// Like [`Config::in_cluster`], with the directory and environment of `options`.
    ///
    /// ```
    /// let options = incluster::InClusterOptions::new().env(|_| None).dir("/nonexistent");
    /// let err = incluster::Config::in_cluster_with(options).unwrap_err();
    /// assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST is not set"));
    /// ```
    pub fn in_cluster_with(options: InClusterOptions) -> Result<Config> {
        discover(&*options.env, &options.dir)
    }

    /// The usual choice: with `INCLUSTER_PROXY` set (e.g. `http://127.0.0.1:8001`, beside a
    /// `kubectl proxy` sidecar or on a developer's machine), [`Config::proxy`] of that URL;
    /// otherwise inside a Pod (`KUBERNETES_SERVICE_HOST` is set), [`Config::in_cluster`];
    /// otherwise an error that names both ways. The explicit variable wins over the ambient one,
    /// since the kubelet sets `KUBERNETES_SERVICE_HOST` in every container, sidecar Pods included.
    ///
    /// ```no_run
    /// let client = incluster::Client::new(incluster::Config::infer()?)?;
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn infer() -> Result<Config> {
        infer_with(
            &|name| std::env::var(name).ok(),
            Path::new(SERVICE_ACCOUNT_DIR),
        )
    }

    /// Talks to a `kubectl proxy` (the sidecar pattern, or `kubectl proxy` on a developer's
    /// machine): no credentials of ours, the proxy adds them.
    ///
    /// `url` is `scheme://host:port` with an optional path prefix, nothing else (no credentials,
    /// query or fragment). `http://` is accepted only for a loopback host (127.0.0.0/8, `::1`,
    /// `localhost`), where nothing leaves the machine or Pod; any other host must be `https://`
    /// and is verified against the platform's trusted roots. The namespace is `POD_NAMESPACE`,
    /// else the Pod's `namespace` file if there is one, else `default`.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?;
    /// assert_eq!(config.server(), "http://127.0.0.1:8001");
    /// assert!(incluster::Config::proxy("http://10.0.0.8:8001").is_err());
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn proxy(url: &str) -> Result<Config> {
        proxy_with(
            &|name| std::env::var(name).ok(),
            Path::new(SERVICE_ACCOUNT_DIR),
            url,
        )
    }

    /// The default namespace: what `{namespace}` means when a method has no `namespace` argument.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?.with_namespace("team-a");
    /// assert_eq!(config.namespace(), "team-a");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The base URL requests go to, e.g. `https://10.96.0.1:443`.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://localhost:8001/")?;
    /// assert_eq!(config.server(), "http://localhost:8001");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Replaces the default namespace.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?.with_namespace("kube-system");
    /// assert_eq!(config.namespace(), "kube-system");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Config {
        self.namespace = namespace.into();
        self
    }

    /// The whole-request limit of every call that is not a stream (`send`, `json`, `text`,
    /// `send_ignoring_body`, each page of a `ListStream`): 70 s by default, longer than the API
    /// server's own 60 s. Streams (`watch`, `lines`, the `Watcher`) are never cut by it: a dead
    /// connection under them is noticed by HTTP/2 PING within about 20 s. A call's own
    /// [`RequestBuilder::timeout`](crate::RequestBuilder::timeout) wins over this one (and does
    /// apply to streams). Connecting always times out after 10 s.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?
    ///     .with_timeout(std::time::Duration::from_secs(30));
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = Some(timeout);
        self
    }

    /// How often the token file is re-read (default 60 s; a 401 always forces a re-read).
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?
    ///     .with_token_reread_interval(std::time::Duration::from_secs(10));
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_token_reread_interval(mut self, every: Duration) -> Config {
        if let Mode::InCluster { token, .. } = &mut self.mode {
            *token = Arc::new(token.with_period(every));
        }
        self
    }

    /// How often `ca.crt` is checked for a new version (default 60 s).
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?
    ///     .with_ca_recheck_interval(std::time::Duration::from_secs(10));
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_ca_recheck_interval(mut self, every: Duration) -> Config {
        if let Mode::InCluster { ca, .. } = &mut self.mode {
            *ca = Arc::new(ca.with_period(every));
        }
        self
    }

    /// How failed requests are retried (see [`Retry`]; on by default).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?
    ///     .with_retry(incluster::Retry::default().max_attempts(3).max_elapsed(Duration::from_secs(10)));
    /// let no_retries = incluster::Config::proxy("http://127.0.0.1:8001")?.with_retry(incluster::Retry::none());
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_retry(mut self, retry: Retry) -> Config {
        self.retry = retry;
        self
    }

    /// The largest successful response body read, in bytes (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`], 256 MiB). A larger one is [`Error::ResponseTooLarge`],
    /// found while streaming it, before it is all in memory. Watch events and log lines have
    /// their own per-line limits. A `Watcher`'s list is held to the same limit, as the one
    /// response it stands for: a paginated list, whose pages it holds until the last one, for all
    /// its pages together; a streaming list (`sendInitialEvents=true`) for all its initial events
    /// (the lines read off the wire) until the initial-events-end bookmark — the watch that
    /// follows is not limited. A list past the limit is an [`Error::Protocol`] and a re-list after
    /// the watcher's backoff: raise the limit if a list is really that large. The limit counts the
    /// bytes on the wire; the objects decoded from them (often several times larger in memory)
    /// that a `Store` holds for an unfinished list are dropped when the next list starts.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?.with_max_response_bytes(16 << 20);
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_max_response_bytes(mut self, limit: u64) -> Config {
        self.max_response_bytes = limit;
        self
    }

    /// The most of an error (non-2xx) body read, in bytes (default [`DEFAULT_MAX_ERROR_BYTES`],
    /// 1 MiB). The rest is not read; the error is built from what was.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?.with_max_error_bytes(64 << 10);
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_max_error_bytes(mut self, limit: u64) -> Config {
        self.max_error_bytes = limit;
        self
    }

    /// The client-wide server-side-apply field manager: every request whose body is a
    /// [`Patch::Apply`](crate::Patch::Apply) (`Content-Type: application/apply-patch+yaml`) and
    /// that names no `fieldManager` itself gets `fieldManager=<manager>`. Without one, such a
    /// request is an [`Error::InvalidRequest`](crate::Error::InvalidRequest) before any I/O.
    ///
    /// ```
    /// let config = incluster::Config::proxy("http://127.0.0.1:8001")?.with_field_manager("my-operator");
    /// # Ok::<(), incluster::Error>(())
    /// ```
    pub fn with_field_manager(mut self, manager: impl Into<String>) -> Config {
        self.field_manager = Some(manager.into());
        self
    }

    fn new(server: String, namespace: String, mode: Mode) -> Config {
        Config {
            server,
            namespace,
            mode,
            timeout: None,
            retry: Retry::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_error_bytes: DEFAULT_MAX_ERROR_BYTES,
            field_manager: None,
        }
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn infer_with(env: Env<'_>, dir: &Path) -> Result<Config> {
    if let Some(url) = env(PROXY_VAR) {
        return proxy_with(env, dir, &url).map_err(|err| match err {
            Error::Config { message, source } => Error::Config {
                message: format!("{PROXY_VAR}: {message}"),
                source,
            },
            other => other,
        });
    }
    match env(HOST_VAR) {
        Some(_) => discover(env, dir),
        None => Err(Error::config(format!(
            "no Kubernetes API server found: not inside a Pod ({HOST_VAR} is not set) and {PROXY_VAR} is not set; \
             run in a Pod with a ServiceAccount, or run `kubectl proxy` and set {PROXY_VAR}=http://127.0.0.1:8001"
        ))),
    }
}

fn discover(env: Env<'_>, dir: &Path) -> Result<Config> {
    let host = service_host(env)?;
    let port = service_port(env)?;
    // Read both now, once, so a broken Pod fails at start-up naming the file; the client
    // follows them from here.
    let token = token::open(&dir.join("token"))?;
    let ca = tls::open_ca_file(&dir.join("ca.crt"))?;
    let authority = match host {
        IpOrName::V6(ip) => format!("[{ip}]:{port}"),
        IpOrName::V4(ip) => format!("{ip}:{port}"),
        IpOrName::Name(name) => format!("{name}:{port}"),
    };
    Ok(Config::new(
        format!("https://{authority}"),
        namespace(env, dir),
        Mode::InCluster {
            token: Arc::new(token),
            ca: Arc::new(ca),
        },
    ))
}

enum IpOrName {
    V4(std::net::Ipv4Addr),
    V6(std::net::Ipv6Addr),
    Name(String),
}

fn service_host(env: Env<'_>) -> Result<IpOrName> {
    let raw = env(HOST_VAR).ok_or_else(|| {
        Error::config(format!(
            "not running inside a cluster: {HOST_VAR} is not set (outside a cluster, use Config::proxy with `kubectl proxy`)"
        ))
    })?;
    let host = raw.trim();
    if host.is_empty() {
        return Err(Error::config(format!(
            "{HOST_VAR} is set but empty: it should hold the API server's IP address or DNS name; \
             check that the Pod spec does not override it"
        )));
    }
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match unbracketed.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => return Ok(IpOrName::V4(ip)),
        Ok(IpAddr::V6(ip)) => return Ok(IpOrName::V6(ip)),
        Err(_) => {}
    }
    let name = host.trim_end_matches('.');
    if rustls::pki_types::DnsName::try_from(name).is_err() || reads_as_a_number(name) {
        return Err(Error::config(format!(
            "{HOST_VAR}={raw:?} is neither an IP address nor a DNS name; it should hold the API server's address"
        )));
    }
    Ok(IpOrName::Name(name.to_ascii_lowercase()))
}

/// Whether `text` is a number in the grammar `f64::from_str` accepts (`1e5`, `1.5`, `.5`, `inf`,
/// `NaN`, an optional sign): such a host is a mistake, not a name. Checked by hand rather than by
/// parsing, which would link the float parser and its tables (17 KB of a stripped binary) for
/// this one check.
fn reads_as_a_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if ["inf", "infinity", "nan"]
        .iter()
        .any(|word| unsigned.eq_ignore_ascii_case(word))
    {
        return true;
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mantissa_is_a_number =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_is_a_number = exponent.is_none_or(|exponent| {
        let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !unsigned.is_empty() && digits(unsigned)
    });
    mantissa_is_a_number && exponent_is_a_number
}

fn service_port(env: Env<'_>) -> Result<u16> {
    let https = env(PORT_HTTPS_VAR).filter(|v| !v.trim().is_empty());
    let (var, raw) = match (https, env(PORT_VAR)) {
        (Some(value), _) => (PORT_HTTPS_VAR, value),
        (None, Some(value)) => (PORT_VAR, value),
        (None, None) => {
            let detail = if env(PORT_HTTPS_VAR).is_some() {
                format!("{PORT_HTTPS_VAR} is set but empty and {PORT_VAR} is not set")
            } else {
                format!("neither {PORT_HTTPS_VAR} nor {PORT_VAR} is set")
            };
            return Err(Error::config(format!(
                "cannot find the API server's port: {detail}; the kubelet sets them inside a Pod \
                 (outside a cluster, use Config::proxy with `kubectl proxy`)"
            )));
        }
    };
    let value = raw.trim();
    if value.is_empty() {
        return Err(Error::config(format!(
            "{var} is set but empty: it should hold the API server's port, e.g. 443"
        )));
    }
    match value.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(Error::config(format!(
            "{var}={raw:?} is not a port number (1-65535): it should hold the API server's port, e.g. 443"
        ))),
    }
}

fn namespace(env: Env<'_>, dir: &Path) -> String {
    if let Some(ns) = env(NAMESPACE_VAR) {
        let ns = ns.trim();
        if !ns.is_empty() {
            return ns.to_string();
        }
    }
    let path = dir.join("namespace");
    // A missing file is normal (proxy mode); only a regular file of bounded size is read.
    if !path.exists() {
        return "default".to_string();
    }
    match read_with_deadline(&path, FIRST_READ_DEADLINE) {
        Ok(bytes) => match std::str::from_utf8(&bytes).map(str::trim) {
            Ok(ns) if !ns.is_empty() => ns.to_string(),
            _ => "default".to_string(),
        },
        Err(err) => {
            tracing::warn!(%err, "using the namespace \"default\"");
            "default".to_string()
        }
    }
}

fn proxy_with(env: Env<'_>, dir: &Path, url: &str) -> Result<Config> {
    let parsed = reqwest::Url::parse(url).map_err(|err| {
        Error::config(format!(
            "Config::proxy: {url:?} is not a URL ({err}); expected e.g. \"http://127.0.0.1:8001\""
        ))
    })?;
    let https = match parsed.scheme() {
        "https" => true,
        "http" => false,
        other => {
            return Err(Error::config(format!(
                "Config::proxy: {url:?} has scheme {other:?}; use http:// for a loopback kubectl proxy, https:// otherwise"
            )))
        }
    };
    if parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return Err(Error::config(format!(
            "Config::proxy: {url:?} must be just scheme://host:port (no credentials, query or fragment)"
        )));
    }
    let host = parsed
        .host()
        .ok_or_else(|| Error::config(format!("Config::proxy: {url:?} has no host")))?;
    let loopback = match &host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    };
    if !https && !loopback {
        return Err(Error::config(format!(
            "Config::proxy: plain http is only allowed to a loopback address (127.0.0.0/8, ::1, localhost), \
             and {url:?} is not one; run `kubectl proxy` in the Pod (a sidecar) or use an https:// URL"
        )));
    }
    let port = parsed
        .port_or_known_default()
        .unwrap_or(if https { 443 } else { 80 });
    let host_text = match &host {
        url::Host::Ipv6(ip) => format!("[{ip}]"),
        other => other.to_string(),
    };
    let server = format!(
        "{}://{host_text}:{port}{}",
        parsed.scheme(),
        parsed.path().trim_end_matches('/')
    );
    Ok(Config::new(
        server,
        namespace(env, dir),
        Mode::Proxy { https },
    ))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
