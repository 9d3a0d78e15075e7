//! Turning a reqwest error into [`Error::Tls`] or [`Error::Transport`]: a one-level message that
//! says what to check, with the typed cause kept as the source.

use std::error::Error as StdError;
use std::path::Path;
use std::time::Duration;

use crate::error::Error;
use crate::http::liveness;

/// Classifies a failed exchange with `server`: a rustls error anywhere in the chain is TLS.
/// `limit` is the whole-request limit the exchange ran under (for a timeout's message).
pub(crate) fn classify(
    err: reqwest::Error,
    server: &str,
    ca_path: Option<&Path>,
    limit: Option<Duration>,
) -> Error {
    // The server is named separately; the URL (possibly long, with query values) is left out.
    let err = err.without_url();
    if let Some(tls) = find_rustls_error(&err) {
        return Error::Tls {
            server: server.to_string(),
            message: tls_message(tls, server, ca_path),
            source: tls.clone(),
        };
    }
    // One level: what failed and what to check. The causes ("Connection refused", …) are the
    // source chain, so `{:#}` (anyhow) or a chain walk prints each once.
    let what = if liveness::is_ping_timeout(&err) {
        format!(
            "no answer from the server for {} (an HTTP/2 PING went unanswered: the connection \
             is dead or the server stalled); the connection was closed and the next request \
             opens a new one",
            liveness::seconds(liveness::PING_INTERVAL + liveness::PING_TIMEOUT)
        )
    } else if err.is_connect() {
        let why = if err.is_timeout() {
            "could not connect: no answer from the server within 10 s"
        } else {
            "could not connect"
        };
        format!(
            "{why}; check that the API server is reachable from here \
             (KUBERNETES_SERVICE_HOST/PORT, NetworkPolicy, a running `kubectl proxy`)"
        )
    } else if err.is_timeout() {
        match limit {
            Some(limit) => format!(
                "no complete answer from the server within {}, this request's time limit",
                liveness::seconds(limit)
            ),
            None => "no answer from the server in time".to_string(),
        }
    } else if err.is_body() || err.is_decode() {
        "the response body could not be read to the end".to_string()
    } else {
        "the exchange failed".to_string()
    };
    Error::Transport {
        server: server.to_string(),
        message: what,
        source: err,
    }
}

/// A stream's transport `error`, said better when the stream had been `silent` for longer than
/// HTTP/2 PING lets a dead connection live: hyper closes the streams of a connection whose PING
/// went unanswered with a bare "broken pipe", which says nothing of the silence before it.
pub(crate) fn after_silence(error: Error, silent: Duration) -> Error {
    let ping_bound = liveness::PING_INTERVAL + liveness::PING_TIMEOUT;
    // hyper counts the silence from when it read the last frame, the stream from when its
    // consumer took the data, a moment later: a little slack keeps a connection closed at
    // exactly the bound (19.999 s of silence on the stream's clock) from being missed.
    let noticed_after = ping_bound.saturating_sub(Duration::from_millis(250));
    match error {
        Error::Transport { server, source, .. }
            if silent >= noticed_after && is_broken_pipe(&source) =>
        {
            Error::Transport {
                server,
                message: format!(
                    "no answer from the server for {} (the connection stopped answering HTTP/2 \
                     PINGs and was closed; nothing had arrived on this stream for {}); a new \
                     request opens a new connection",
                    liveness::seconds(ping_bound),
                    // Whole seconds, never below the bound it was measured against.
                    liveness::seconds(Duration::from_secs(silent.max(ping_bound).as_secs()))
                ),
                source,
            }
        }
        other => other,
    }
}

fn is_broken_pipe(err: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        current = e.source();
    }
    // h2 keeps its io::Error inside its own error type; its text is the mark then.
    let mut current = Some(err);
    while let Some(e) = current {
        if e.to_string().contains("broken pipe") {
            return true;
        }
        current = e.source();
    }
    false
}

/// What went wrong in TLS, with a hint that fits the failure.
fn tls_message(tls: &rustls::Error, server: &str, ca_path: Option<&Path>) -> String {
    let roots = match ca_path {
        Some(path) => format!(
            "the only trusted roots are the certificates in {}",
            path.display()
        ),
        None => "the platform's trusted roots were used".to_string(),
    };
    match tls {
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented => format!(
            "the server's certificate was refused ({tls}); it must be signed by a trusted CA and valid for {server}; {roots}"
        ),
        rustls::Error::InvalidMessage(_) => format!(
            "{tls} (the server does not seem to speak TLS; incluster never falls back to plain http)"
        ),
        // A failure after the handshake (a corrupted record, a reset): not a certificate matter.
        _ => format!("{tls}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_certificate_failures_get_the_certificate_hint() {
        let server = "https://10.96.0.1:443";
        let ca = Some(Path::new("/sa/ca.crt"));
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let message = tls_message(&refused, server, ca);
        assert!(
            message.contains("signed by a trusted CA") && message.contains("/sa/ca.crt"),
            "{message}"
        );
        // A record that fails to decrypt mid-stream says nothing about certificates.
        let message = tls_message(&rustls::Error::DecryptError, server, ca);
        assert!(
            !message.contains("certificate") && !message.contains("CA"),
            "{message}"
        );
    }
}
