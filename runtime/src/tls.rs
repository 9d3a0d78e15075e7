//! TLS for the in-cluster path: trust exactly the certificates in `ca.crt`, and follow that file
//! when it is replaced (checked at most once per period), keeping the old roots if the new file
//! does not parse.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

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

/// Parses a PEM bundle into a root store holding exactly its certificates.
pub(crate) fn parse_roots(path: &Path, pem: &[u8]) -> Result<RootCertStore> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::config(format!(
            "CA bundle {} is empty: it should hold the cluster CA certificate in PEM form; check the Pod's projected volume",
            path.display()
        )));
    }
    let mut certs = Vec::new();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|err| {
            Error::config(format!(
                "CA bundle {} is not valid PEM: {err}",
                path.display()
            ))
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(Error::config(format!(
            "CA bundle {} holds no certificate (no -----BEGIN CERTIFICATE----- block): it should hold the cluster CA in PEM form",
            path.display()
        )));
    }
    let mut roots = RootCertStore::empty();
    for (index, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|err| {
            Error::config(format!(
                "certificate #{} in CA bundle {} cannot be a trust anchor: {err}",
                index + 1,
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

/// Reads and parses `ca.crt`, naming the file in every error.
pub(crate) fn read_roots(path: &Path) -> Result<(RootCertStore, Vec<u8>)> {
    let pem = std::fs::read(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            Error::config(format!(
                "CA bundle {} does not exist: mount the ServiceAccount's ca.crt into the Pod, \
                 or use Config::proxy with a `kubectl proxy` sidecar",
                path.display()
            ))
        } else {
            Error::config(format!(
                "cannot read the CA bundle {}: {err}",
                path.display()
            ))
        }
    })?;
    let roots = parse_roots(path, &pem)?;
    Ok((roots, pem))
}

/// Verifies the API server against the roots in `ca.crt`, re-reading the file when it changes.
#[derive(Debug)]
pub(crate) struct RotatingCaVerifier {
    path: PathBuf,
    recheck_every: Duration,
    provider: Arc<CryptoProvider>,
    state: Mutex<CaState>,
}

#[derive(Debug)]
struct CaState {
    verifier: Arc<WebPkiServerVerifier>,
    pem: Vec<u8>,
    checked_at: Instant,
}

impl RotatingCaVerifier {
    pub(crate) fn new(
        path: &Path,
        recheck_every: Duration,
        provider: Arc<CryptoProvider>,
    ) -> Result<RotatingCaVerifier> {
        let (roots, pem) = read_roots(path)?;
        let verifier = build_verifier(path, roots, &provider)?;
        Ok(RotatingCaVerifier {
            path: path.to_path_buf(),
            recheck_every,
            provider,
            state: Mutex::new(CaState {
                verifier,
                pem,
                checked_at: Instant::now(),
            }),
        })
    }

    fn current(&self) -> Arc<WebPkiServerVerifier> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.checked_at.elapsed() >= self.recheck_every {
            state.checked_at = Instant::now();
            self.reload(&mut state);
        }
        state.verifier.clone()
    }

    fn reload(&self, state: &mut CaState) {
        let pem = match std::fs::read(&self.path) {
            Ok(pem) => pem,
            Err(err) => {
                tracing::warn!(path = %self.path.display(), %err, "cannot re-read the CA bundle; keeping the previous roots");
                return;
            }
        };
        if pem == state.pem {
            return;
        }
        match parse_roots(&self.path, &pem)
            .and_then(|roots| build_verifier(&self.path, roots, &self.provider))
        {
            Ok(verifier) => {
                tracing::info!(path = %self.path.display(), "CA bundle changed; trusting the new roots");
                state.verifier = verifier;
                state.pem = pem;
            }
            Err(err) => {
                tracing::warn!(%err, "the new CA bundle does not parse; keeping the previous roots");
            }
        }
    }
}

fn build_verifier(
    path: &Path,
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|err| {
            Error::config(format!(
                "CA bundle {} cannot be used to verify servers: {err}",
                path.display()
            ))
        })
}

impl ServerCertVerifier for RotatingCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.current().verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.current().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A rustls client configuration trusting only `ca.crt`, offering HTTP/2 and HTTP/1.1.
pub(crate) fn in_cluster_tls(
    ca_path: &Path,
    recheck_every: Duration,
) -> Result<rustls::ClientConfig> {
    let provider = provider();
    // webpki's verifier over roots we choose, re-read when ca.crt changes; nothing is skipped.
    let verifier = RotatingCaVerifier::new(ca_path, recheck_every, provider.clone())?;
    client_config(provider, Arc::new(verifier))
}

/// A rustls configuration for an https `kubectl proxy` elsewhere: the platform's roots.
pub(crate) fn platform_tls() -> Result<rustls::ClientConfig> {
    let provider = provider();
    // The platform verifier: the OS's roots and rules, nothing skipped.
    let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|err| Error::config(format!("cannot load the platform's trusted roots: {err}")))?;
    client_config(provider, Arc::new(verifier))
}

/// Safe protocol versions, `verifier` for the server, no client certificate, ALPN h2 then http/1.1.
fn client_config(
    provider: Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<rustls::ClientConfig> {
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| Error::config(format!("TLS setup failed: {err}")))?
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
        let err = parse_roots(path, b"hello\n").unwrap_err().to_string();
        assert!(
            err.contains("/x/ca.crt") && err.contains("no certificate"),
            "{err}"
        );
        let err = parse_roots(path, b"  \n").unwrap_err().to_string();
        assert!(err.contains("/x/ca.crt") && err.contains("empty"), "{err}");
    }
}
