//! Turning a reqwest error into [`Error::Tls`] or [`Error::Transport`].

use std::error::Error as StdError;
use std::path::Path;

use crate::error::Error;

/// Classifies a failed exchange with `server`: a rustls error anywhere in the chain is TLS.
pub(crate) fn classify(err: reqwest::Error, server: &str, ca_path: Option<&Path>) -> Error {
    // The server is named separately; the URL (possibly long, with query values) is left out.
    let err = err.without_url();
    if let Some(tls) = find_rustls_error(&err) {
        let roots = match ca_path {
            Some(path) => format!(
                "the only trusted roots are the certificates in {}",
                path.display()
            ),
            None => "the platform's trusted roots were used".to_string(),
        };
        let hint = match tls {
            rustls::Error::InvalidMessage(_) => {
                " (the server does not seem to speak TLS; incluster never falls back to plain http)"
            }
            _ => "",
        };
        return Error::Tls {
            server: server.to_string(),
            message: format!("{tls}{hint}; the certificate must be signed by a trusted CA and valid for {server}; {roots}"),
        };
    }
    let (what, hint) = if err.is_timeout() {
        (
            "timed out",
            "; raise the limit with Config::with_timeout or Request::timeout",
        )
    } else if err.is_connect() {
        (
            "could not connect",
            "; check that the API server is reachable from here (KUBERNETES_SERVICE_HOST/PORT, NetworkPolicy, a running `kubectl proxy`)",
        )
    } else if err.is_body() || err.is_decode() {
        ("the response body could not be read", "")
    } else {
        ("the exchange failed", "")
    };
    Error::Transport {
        server: server.to_string(),
        message: format!("{what}: {}{hint}", chain(&err)),
        source: Some(Box::new(err)),
    }
}

fn find_rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // io::Error::source() skips the wrapped error itself, so look inside explicitly.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(tls) = find_rustls_error(inner) {
                return Some(tls);
            }
        }
        current = e.source();
    }
    None
}

/// "outer: inner: innermost", without repeating a message that its source already says.
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}
