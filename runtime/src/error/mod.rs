//! The one error type of incluster.

pub(crate) mod redact;
pub(crate) mod status;
pub(crate) mod transport;

use crate::error::status::Status;

/// `Result` with incluster's [`Error`] as the default error type.
///
/// ```
/// fn parse(n: &str) -> incluster::Result<u16> {
///     n.parse().map_err(|err| incluster::Error::InvalidRequest {
///         message: format!("{n:?} is not a number"),
///         source: Some(Box::new(err)),
///     })
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
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The environment or the service-account files do not describe a usable cluster.
    Config {
        /// What was wrong, naming the variable or file, and what to do.
        message: String,
        /// The underlying error, e.g. the `io::Error` of a file read.
        source: Option<BoxError>,
    },
    /// The TLS handshake with the API server failed: wrong CA, a certificate for another address,
    /// or a server that does not speak TLS. There is never a fallback to plain http.
    Tls {
        /// The server's URL, e.g. `https://10.96.0.1:443`.
        server: String,
        /// What failed and where the trusted roots came from.
        message: String,
        /// What rustls reported.
        source: rustls::Error,
    },
    /// The request could not be sent or its response not read (connection refused, reset, timeout).
    Transport {
        /// The server's URL, e.g. `https://10.96.0.1:443`.
        server: String,
        /// What failed and what to check.
        message: String,
        /// The underlying error (its own causes are reachable through `source()`).
        source: reqwest::Error,
    },
    /// The API server answered with a non-2xx status.
    Api(Box<Status>),
    /// The server answered with a redirect. incluster never follows one: a redirect from the
    /// API server (or a proxy in front of it) could send the request and its credentials elsewhere
    /// (CVE-2020-8559).
    Redirect {
        /// The server's URL.
        server: String,
        /// The 3xx status code.
        status: u16,
        /// Where the redirect pointed: its scheme and host only.
        location: String,
    },
    /// The response body is larger than the client's limit; it was not read to the end.
    ResponseTooLarge {
        /// The method and path of the request, e.g. `GET /api/v1/configmaps`.
        request: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A 2xx response body did not decode into the declared type.
    Decode {
        /// The method and path of the request, e.g. `GET /api`.
        request: String,
        /// The Rust type the body was decoded into.
        type_name: &'static str,
        /// A bounded excerpt of the body.
        excerpt: String,
        /// What the decoder reported (a `serde_json::Error`, or a UTF-8 error for text).
        source: BoxError,
    },
    /// The server's answers cannot be followed: a list whose `continue` token does not advance, a
    /// list or watch that reports no `resourceVersion`. Retrying the same way would loop.
    Protocol {
        /// The method and path of the request, e.g. `GET /api/v1/configmaps`.
        request: String,
        /// What the server did and what happened next.
        message: String,
    },
    /// The request was rejected before any I/O: an empty, `.` or `..` path segment, a header value
    /// that is not valid, a body that does not serialize.
    InvalidRequest {
        /// What was wrong, naming the method, path template and argument.
        message: String,
        /// The underlying error, e.g. the `serde_json::Error` of a body.
        source: Option<BoxError>,
    },
}

// Written out rather than derived: a derive crate (and its build script) costs each cold build
// of every user about 0.8 s of CPU for these few arms (bench/PERF.md, "w5: what the build pays
// for").
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Config { message, .. } | Error::InvalidRequest { message, .. } => {
                f.write_str(message)
            }
            Error::Tls {
                server, message, ..
            } => write!(f, "TLS with {server} failed: {message}"),
            Error::Transport {
                server, message, ..
            } => write!(f, "request to {server} failed: {message}"),
            Error::Api(status) => write!(
                f,
                "the API server answered {} {}: {}{}",
                status.code,
                bounded(&status.reason),
                bounded(&status.message),
                crate::rbac::Hint(status)
            ),
            Error::Redirect {
                server,
                status,
                location,
            } => write!(
                f,
                "the API server at {server} answered {status} with a redirect to {location}; \
                 incluster does not follow redirects: check the server address \
                 (KUBERNETES_SERVICE_HOST, or the Config::proxy URL)"
            ),
            Error::ResponseTooLarge { request, limit } => write!(
                f,
                "the response to {request} is larger than {limit} bytes, the limit of this \
                 client; raise it with Config::with_max_response_bytes, or page the list \
                 (limit/continue, incluster::ListStream)"
            ),
            // The decoder's message is a leaf (it has no further cause) and is the whole point
            // of this error, so it is shown here as well as kept as the source.
            Error::Decode {
                request,
                type_name,
                excerpt,
                source,
            } => write!(
                f,
                "the response to {request} did not decode into {type_name}: {source}; the body \
                 began with: {excerpt}"
            ),
            Error::Protocol { request, message } => {
                write!(f, "the answers to {request} cannot be followed: {message}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config { source, .. } | Error::InvalidRequest { source, .. } => {
                source.as_deref().map(|source| source as _)
            }
            Error::Tls { source, .. } => Some(source),
            Error::Transport { source, .. } => Some(source),
            Error::Decode { source, .. } => Some(&**source),
            Error::Api(_)
            | Error::Redirect { .. }
            | Error::ResponseTooLarge { .. }
            | Error::Protocol { .. } => None,
        }
    }
}

/// The boxed cause kept by some [`Error`] variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Longest server-provided string shown in an error message.
const SHOWN_LIMIT: usize = 1024;

/// `text`, cut to [`SHOWN_LIMIT`] bytes at a character boundary.
pub(crate) fn bounded(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= SHOWN_LIMIT {
        return text.into();
    }
    let mut end = SHOWN_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end).into()
}

impl Error {
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn config_with(message: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::Config {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::InvalidRequest {
            message: message.into(),
            source: None,
        }
    }

    /// A body that did not decode into `type_name`, with an excerpt of it.
    pub(crate) fn decode(
        request: impl ToString,
        type_name: &'static str,
        source: impl Into<BoxError>,
        body: &[u8],
    ) -> Error {
        Error::Decode {
            request: request.to_string(),
            type_name,
            excerpt: crate::error::status::excerpt(body),
            // A value the decoder quotes may be a secret (see `redact`).
            source: crate::error::redact::QuotedHidden::of(source.into()),
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

    /// On a 403 to a generated method (or a request given [`RequestBuilder::rbac`](crate::RequestBuilder::rbac)):
    /// the method and the exact RBAC rules it needs, with the refused namespace.
    ///
    /// ```
    /// let err = incluster::Error::Api(Box::new(incluster::Status::from_response(403, b"")));
    /// assert!(err.rbac_needed().is_none()); // not from a generated method
    /// ```
    pub fn rbac_needed(&self) -> Option<&crate::rbac::RbacNeeded> {
        self.status()
            .and_then(|s| s.details.as_ref())
            .and_then(|d| d.rbac_needed.as_deref())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_server_message_is_cut_in_display() {
        let mut status = Status::from_response(500, b"");
        status.message = "é".repeat(1_000_000);
        let shown = Error::Api(Box::new(status)).to_string();
        assert!(shown.len() < SHOWN_LIMIT + 200, "{} bytes", shown.len());
        assert!(shown.ends_with("more bytes)"), "{shown}");
    }
}
