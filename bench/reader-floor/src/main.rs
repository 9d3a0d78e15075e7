//! Reads one ConfigMap of the Pod's namespace and prints its data: by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rustls::pki_types::{pem::PemObject, CertificateDer};

type Error = Box<dyn std::error::Error + Send + Sync>;

const SA: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, serde::Deserialize)]
pub struct ConfigMap {
    pub data: Option<BTreeMap<String, String>>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "settings".into());
    let host = std::env::var("KUBERNETES_SERVICE_HOST")?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT_HTTPS")?;
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(format!("{SA}/ca.crt"))? {
        roots.add(cert?)?;
    }
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .no_proxy()
        .build()?;
    let token = std::fs::read_to_string(format!("{SA}/token"))?;
    let namespace = std::fs::read_to_string(format!("{SA}/namespace"))?;
    let url = format!(
        "https://{host}:{port}/api/v1/namespaces/{}/configmaps/{}",
        utf8_percent_encode(namespace.trim(), SEGMENT),
        utf8_percent_encode(&name, SEGMENT)
    );
    let response = http.get(url).bearer_auth(token.trim()).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)).into());
    }
    let configmap: ConfigMap = serde_json::from_slice(&body)?;
    println!("{:?}", configmap.data);
    Ok(())
}
