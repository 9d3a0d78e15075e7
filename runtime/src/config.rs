//! Where the API server is and how to authenticate: discovered inside a Pod, or a `kubectl proxy`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::tls;
use crate::token::{self, TokenSource};

/// Where the kubelet mounts a Pod's service-account credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

const HOST_VAR: &str = "KUBERNETES_SERVICE_HOST";
const PORT_HTTPS_VAR: &str = "KUBERNETES_SERVICE_PORT_HTTPS";
const PORT_VAR: &str = "KUBERNETES_SERVICE_PORT";
const NAMESPACE_VAR: &str = "POD_NAMESPACE";

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
    pub(crate) base_url: String,
    pub(crate) server_label: String,
    pub(crate) namespace: String,
    pub(crate) mode: Mode,
    pub(crate) token_reread: Duration,
    pub(crate) ca_recheck: Duration,
    pub(crate) timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// HTTPS to the API server, bearer token from `token_path`, roots from `ca_path` only.
    InCluster {
        token_path: PathBuf,
        ca_path: PathBuf,
    },
    /// A `kubectl proxy`: no credentials of ours. `https` says whether the URL is https.
    Proxy { https: bool },
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
        discover(&|name| std::env::var(name).ok(), dir.as_ref())
    }

    /// Like [`Config::in_cluster_at`], reading variables through `env` instead of the process
    /// environment: for tests, and for programs that hold several clusters' settings.
    ///
    /// ```
    /// let err = incluster::Config::in_cluster_from(|_| None, "/nonexistent").unwrap_err();
    /// assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST is not set"));
    /// ```
    pub fn in_cluster_from(
        env: impl Fn(&str) -> Option<String>,
        dir: impl AsRef<Path>,
    ) -> Result<Config> {
        discover(&env, dir.as_ref())
    }

    /// Talks to a `kubectl proxy` (the sidecar pattern): plain http, no credentials of ours.
    ///
    /// Plain http is accepted only for loopback addresses (127.0.0.0/8, `::1`, `localhost`);
    /// any other host must use https. The namespace is `POD_NAMESPACE`, else the Pod's
    /// `namespace` file if there is one, else `default`.
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
        &self.base_url
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

    /// A timeout for each whole request (there is none by default, so that long watches survive;
    /// connecting always times out after 10 s).
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
        self.token_reread = every;
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
        self.ca_recheck = every;
        self
    }

    pub(crate) fn token_source(&self) -> Result<Option<TokenSource>> {
        match &self.mode {
            Mode::InCluster { token_path, .. } => {
                TokenSource::open(token_path, self.token_reread).map(Some)
            }
            Mode::Proxy { .. } => Ok(None),
        }
    }
}

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn discover(env: Env<'_>, dir: &Path) -> Result<Config> {
    let host = service_host(env)?;
    let port = service_port(env)?;
    let token_path = dir.join("token");
    let ca_path = dir.join("ca.crt");
    // Read both now so a broken Pod fails at start-up, naming the file, not at the first request.
    TokenSource::open(&token_path, token::DEFAULT_TOKEN_REREAD)?;
    tls::read_roots(&ca_path)?;
    let authority = match host {
        IpOrName::V6(ip) => format!("[{ip}]:{port}"),
        IpOrName::V4(ip) => format!("{ip}:{port}"),
        IpOrName::Name(name) => format!("{name}:{port}"),
    };
    Ok(Config {
        base_url: format!("https://{authority}"),
        server_label: authority,
        namespace: namespace(env, dir),
        mode: Mode::InCluster {
            token_path,
            ca_path,
        },
        token_reread: token::DEFAULT_TOKEN_REREAD,
        ca_recheck: tls::DEFAULT_CA_RECHECK,
        timeout: None,
    })
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
    if rustls::pki_types::DnsName::try_from(name).is_err() || name.parse::<f64>().is_ok() {
        return Err(Error::config(format!(
            "{HOST_VAR}={raw:?} is neither an IP address nor a DNS name; it should hold the API server's address"
        )));
    }
    Ok(IpOrName::Name(name.to_ascii_lowercase()))
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
    match std::fs::read_to_string(dir.join("namespace")) {
        Ok(contents) if !contents.trim().is_empty() => contents.trim().to_string(),
        _ => "default".to_string(),
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
    let authority = format!("{host_text}:{port}");
    let base_url = format!(
        "{}://{}{}",
        parsed.scheme(),
        authority,
        parsed.path().trim_end_matches('/')
    );
    Ok(Config {
        base_url,
        server_label: authority,
        namespace: namespace(env, dir),
        mode: Mode::Proxy { https },
        token_reread: token::DEFAULT_TOKEN_REREAD,
        ca_recheck: tls::DEFAULT_CA_RECHECK,
        timeout: None,
    })
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
