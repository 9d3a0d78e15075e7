//! Certificates minted in the test with rcgen: a CA, and leaf certificates it signs.

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};

/// A date as `(year, month, day)`.
pub type Ymd = (i32, u8, u8);

/// A certificate authority that lives for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate in PEM form: what a Pod's `ca.crt` holds.
    pub cert_pem: String,
}

/// A server certificate and its key, in PEM form.
pub struct ServerCert {
    /// The certificate chain (leaf only).
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

impl TestCa {
    /// Mints a new self-signed CA named `name`.
    pub fn new(name: &str) -> TestCa {
        Self::mint(name, None)
    }

    /// Mints a CA valid only between two dates `(year, month, day)`, e.g. one that expired.
    pub fn with_validity(
        name: &str,
        not_before: (i32, u8, u8),
        not_after: (i32, u8, u8),
    ) -> TestCa {
        Self::mint(name, Some((not_before, not_after)))
    }

    fn mint(name: &str, validity: Option<(Ymd, Ymd)>) -> TestCa {
        let key = KeyPair::generate().expect("generate CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        if let Some(((by, bm, bd), (ay, am, ad))) = validity {
            params.not_before = rcgen::date_time_ymd(by, bm, bd);
            params.not_after = rcgen::date_time_ymd(ay, am, ad);
        }
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-sign CA");
        TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Mints a server certificate for the given IP addresses and DNS names.
    pub fn server_cert(&self, ips: &[&str], dns: &[&str]) -> ServerCert {
        let key = KeyPair::generate().expect("generate server key");
        let mut params =
            CertificateParams::new(dns.iter().map(|d| d.to_string()).collect::<Vec<_>>())
                .expect("server params");
        for ip in ips {
            params
                .subject_alt_names
                .push(SanType::IpAddress(ip.parse().expect("IP")));
        }
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign server cert");
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
