//! TLS for the in-cluster path: trust exactly the certificates in `ca.crt` that are valid now.
//! The file is followed as it is replaced by [`MountedFile`]; the client builds a new TLS
//! configuration (and connection pool) whenever the roots change.

pub(crate) mod cert_validity;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::RootCertStore;

use crate::discovery::file_error::FileError;
use crate::discovery::mounted_file::MountedFile;
use crate::error::{Error, Result};
use crate::time::format_unix as format_utc;
use crate::time::UnixSeconds;
use crate::tls::cert_validity::validity;

/// How often `ca.crt` is checked for a new version by default.
pub(crate) const DEFAULT_CA_RECHECK: Duration = Duration::from_secs(60);

/// The crypto provider compiled in: `ring` by default, `aws-lc-rs` with that feature.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    return Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    return Arc::new(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    compile_error!("incluster needs one of the features `ring` (default) or `aws-lc-rs`");
}

/// The trust roots read from `ca.crt`.
#[derive(Debug)]
pub(crate) struct CaBundle {
    roots: Arc<RootCertStore>,
    /// When the set of anchors valid now changes by itself (the first `notAfter` of a trusted
    /// anchor, or the first `notBefore` of one not valid yet): the bundle must be parsed again
    /// then, even if `ca.crt` did not change, so that an anchor that expires while the process
    /// runs stops being trusted.
    recheck_at: Option<UnixSeconds>,
}

impl CaBundle {
    /// Whether the anchors' validity must be checked again (see `recheck_at`).
    pub(crate) fn recheck_due(&self) -> bool {
        self.recheck_at
            .is_some_and(|at| UnixTime::now().as_secs() as i64 >= at)
    }
}

/// `ca.crt`, followed as it is replaced.
pub(crate) type CaFile = MountedFile<CaBundle>;

/// Reads `ca.crt` once; a missing, unreadable, empty or unusable bundle is an error naming it.
pub(crate) fn open_ca_file(path: &Path) -> Result<CaFile> {
    MountedFile::open(path, parse_ca_bundle, DEFAULT_CA_RECHECK).map_err(|err| {
        err.explain_missing(format!(
            "CA bundle {} does not exist: mount the ServiceAccount's ca.crt into the Pod, \
             or use Config::proxy with a `kubectl proxy` sidecar",
            path.display()
        ))
        .into()
    })
}

/// Parses a PEM bundle into a root store holding exactly its certificates that are valid now.
///
/// An anchor outside its validity period is left out (webpki would trust it; Go would not), with
/// a warning; a bundle left with none is an error naming the file and the dates.
pub(crate) fn parse_ca_bundle(path: &Path, pem: &[u8]) -> Result<CaBundle, FileError> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::new(format!(
            "CA bundle {} is empty: it should hold the cluster CA certificate in PEM form; check the Pod's projected volume",
            path.display()
        )));
    }
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|err| {
            FileError::with_source(
                format!("CA bundle {} is not valid PEM", path.display()),
                err,
            )
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(FileError::new(format!(
            "CA bundle {} holds no certificate (no -----BEGIN CERTIFICATE----- block): it should hold the cluster CA in PEM form",
            path.display()
        )));
    }
    let now = UnixTime::now().as_secs() as i64;
    let mut roots = RootCertStore::empty();
    let mut refused = Vec::new();
    let mut recheck_at: Option<UnixSeconds> = None;
    let mut recheck = |at: UnixSeconds| {
        recheck_at = Some(recheck_at.map_or(at, |earlier| earlier.min(at)));
    };
    for (index, cert) in certs.into_iter().enumerate() {
        let number = index + 1;
        match validity(&cert) {
            Some((not_before, _)) if now < not_before => {
                recheck(not_before);
                refused.push(format!(
                    "certificate #{number} is not valid before {}",
                    format_utc(not_before)
                ));
                continue;
            }
            Some((_, not_after)) if now > not_after => {
                refused.push(format!(
                    "certificate #{number} expired on {}",
                    format_utc(not_after)
                ));
                continue;
            }
            Some((_, not_after)) => recheck(not_after.saturating_add(1)),
            None => {
                refused.push(format!(
                    "certificate #{number} is not a well-formed X.509 certificate"
                ));
                continue;
            }
        }
        roots.add(cert).map_err(|err| {
            FileError::with_source(
                format!(
                    "certificate #{number} in CA bundle {} cannot be a trust anchor",
                    path.display()
                ),
                err,
            )
        })?;
    }
    if roots.is_empty() {
        return Err(FileError::new(format!(
            "CA bundle {} holds no certificate that is valid now ({}); the cluster CA must be rotated, \
             or the clock of this machine is wrong",
            path.display(),
            refused.join("; ")
        )));
    }
    for why in &refused {
        tracing::warn!(path = %path.display(), "{why}; it is not trusted");
    }
    Ok(CaBundle {
        roots: Arc::new(roots),
        recheck_at,
    })
}

/// A rustls client configuration trusting only the roots of `bundle`, offering HTTP/2 and HTTP/1.1.
///
/// Each call has its own TLS session cache, so a client built for new roots never resumes a
/// session that the old roots verified.
pub(crate) fn in_cluster_tls(path: &Path, bundle: &CaBundle) -> Result<rustls::ClientConfig> {
    let provider = provider();
    // webpki's verifier over exactly these roots; nothing is skipped.
    let verifier =
        WebPkiServerVerifier::builder_with_provider(bundle.roots.clone(), provider.clone())
            .build()
            .map_err(|err| {
                Error::config_with(
                    format!(
                        "CA bundle {} cannot be used to verify servers",
                        path.display()
                    ),
                    err,
                )
            })?;
    client_config(provider, verifier)
}

/// A rustls configuration for an https `kubectl proxy` elsewhere: the platform's roots.
pub(crate) fn platform_tls() -> Result<rustls::ClientConfig> {
    let provider = provider();
    // The platform verifier: the OS's roots and rules, nothing skipped.
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|err| Error::config_with("cannot load the platform's trusted roots", err))?;
    client_config(provider, Arc::new(verifier))
}

/// A rustls configuration for a plain-http `kubectl proxy` on loopback: TLS is never used there
/// (every URL is the proxy's `http://` one, and redirects are not followed), so no roots are
/// loaded — a container image needs no CA bundle — and a TLS server, should one ever be met, is
/// refused.
pub(crate) fn no_tls_expected() -> Result<rustls::ClientConfig> {
    let provider = provider();
    client_config(provider.clone(), Arc::new(RefuseEveryServer(provider)))
}

/// Refuses every server certificate: for configurations that must never complete a TLS handshake.
#[derive(Debug)]
struct RefuseEveryServer(Arc<CryptoProvider>);

impl ServerCertVerifier for RefuseEveryServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Err(rustls::Error::General(
            "this client talks plain http to a loopback kubectl proxy and trusts no TLS server"
                .into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("no TLS server is trusted".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // The same refusal, whatever the version.
        self.verify_tls12_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Safe protocol versions, `verifier` for the server, no client certificate, ALPN h2 then http/1.1.
fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::config_with("TLS setup failed", err))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_rejected() {
        let path = Path::new("/x/ca.crt");
        let err = parse_ca_bundle(path, b"hello\n").unwrap_err().to_string();
        assert!(
            err.contains("/x/ca.crt") && err.contains("no certificate"),
            "{err}"
        );
        let err = parse_ca_bundle(path, b"  \n").unwrap_err().to_string();
        assert!(err.contains("/x/ca.crt") && err.contains("empty"), "{err}");
    }

    /// A CA valid from an hour ago until `lifetime` from now, as PEM.
    fn ca_expiring_in(lifetime: Duration) -> String {
        let now = UnixTime::now().as_secs();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = epoch + Duration::from_secs(now - 3600);
        params.not_after = epoch + Duration::from_secs(now) + lifetime;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    #[test]
    fn an_anchor_that_expires_while_the_process_runs_is_rechecked() {
        let path = Path::new("/x/ca.crt");
        let pem = ca_expiring_in(Duration::from_secs(2));
        let bundle = parse_ca_bundle(path, pem.as_bytes()).unwrap();
        assert!(!bundle.recheck_due());
        std::thread::sleep(Duration::from_secs(4));
        assert!(bundle.recheck_due(), "the anchor's notAfter has passed");
        // The same bytes, parsed again now: the expired anchor is refused.
        let err = parse_ca_bundle(path, pem.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains("expired"), "{err}");
        let lasting =
            parse_ca_bundle(path, ca_expiring_in(Duration::from_secs(3600)).as_bytes()).unwrap();
        assert!(!lasting.recheck_due());
    }
}
