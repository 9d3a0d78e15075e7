//! The one error type of incluster.

use crate::status::Status;

/// `Result` with incluster's [`Error`] as the default error type.
///
/// ```
/// fn parse(n: &str) -> incluster::Result<u16> {
///     n.parse().map_err(|_| incluster::Error::InvalidRequest { message: format!("{n:?} is not a number") })
/// }
/// assert!(parse("x").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a method call and a decoded response.
///
/// Every message says what was wrong and what to do about it. No variant ever holds a bearer token.
///
/// ```
/// let err = incluster::Config::in_cluster_at("/nonexistent").unwrap_err();
/// // Outside a Pod: either KUBERNETES_SERVICE_HOST is missing or the token file is.
/// assert!(matches!(err, incluster::Error::Config { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The environment or the service-account files do not describe a usable cluster.
    #[error("{message}")]
    Config {
        /// What was wrong, naming the variable or file, and what to do.
        message: String,
    },
    /// The TLS handshake with the API server failed: wrong CA, a certificate for another address,
    /// or a server that does not speak TLS. There is never a fallback to plain http.
    #[error("TLS with {server} failed: {message}")]
    Tls {
        /// The server (`host:port`) that was contacted.
        server: String,
        /// The reason from rustls, and where the trusted roots came from.
        message: String,
    },
    /// The request could not be sent or its response not read (connection refused, reset, timeout).
    #[error("request to {server} failed: {message}")]
    Transport {
        /// The server (`host:port`) that was contacted.
        server: String,
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The API server answered with a non-2xx status.
    #[error("the API server answered {} {}: {}", .0.code, .0.reason, .0.message)]
    Api(Box<Status>),
    /// A 2xx response body did not decode into the declared type.
    #[error("the response to {request} did not decode into {type_name}: {message}; the body began with: {excerpt}")]
    Decode {
        /// The method and path of the request, e.g. `GET /api`.
        request: String,
        /// The Rust type the body was decoded into.
        type_name: &'static str,
        /// What serde reported.
        message: String,
        /// A bounded excerpt of the body.
        excerpt: String,
    },
    /// The request was rejected before any I/O: an empty, `.` or `..` path segment, a header value
    /// that is not valid, a body that does not serialize.
    #[error("{message}")]
    InvalidRequest {
        /// What was wrong, naming the method, path template and argument.
        message: String,
    },
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidRequest {
            message: message.into(),
        }
    }

    /// The server's [`Status`], when this is an [`Error::Api`].
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(409, b"")));
    /// assert_eq!(err.status().map(|s| s.code), Some(409));
    /// ```
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Api(status) => Some(status),
            _ => None,
        }
    }

    fn is(&self, code: u16, reasons: &[&str]) -> bool {
        self.status()
            .is_some_and(|s| s.code == code || reasons.contains(&s.reason.as_str()))
    }

    /// 404 / `NotFound`: the object (or the resource) does not exist.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(404, b"")));
    /// assert!(err.is_not_found());
    /// ```
    pub fn is_not_found(&self) -> bool {
        self.is(404, &["NotFound"])
    }

    /// 403 / `Forbidden`: RBAC does not grant this verb on this resource to the ServiceAccount.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(403, b"")));
    /// assert!(err.is_forbidden());
    /// ```
    pub fn is_forbidden(&self) -> bool {
        self.is(403, &["Forbidden"])
    }

    /// 401 / `Unauthorized`: the token was rejected even after re-reading it once.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(401, b"")));
    /// assert!(err.is_unauthorized());
    /// ```
    pub fn is_unauthorized(&self) -> bool {
        self.is(401, &["Unauthorized"])
    }

    /// 409 / `AlreadyExists` or `Conflict`: a create of an existing name, or a stale `resourceVersion`.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(409, b"")));
    /// assert!(err.is_conflict());
    /// ```
    pub fn is_conflict(&self) -> bool {
        self.is(409, &["AlreadyExists", "Conflict"])
    }

    /// 410 / `Expired` or `Gone`: a watch or list continuation whose `resourceVersion` is too old.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(410, b"")));
    /// assert!(err.is_gone());
    /// ```
    pub fn is_gone(&self) -> bool {
        self.is(410, &["Expired", "Gone"])
    }
}
