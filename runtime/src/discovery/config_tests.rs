//! Every discovery case: each error names the variable or file and says what to do.

use super::*;
use std::collections::HashMap;

struct Pod {
    dir: PathBuf,
    env: HashMap<&'static str, String>,
}

impl Pod {
    /// A complete, valid Pod: host, port, token, ca.crt, namespace.
    fn new(name: &str) -> Pod {
        let dir =
            std::env::temp_dir().join(format!("incluster-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "a-token\n").unwrap();
        std::fs::write(dir.join("ca.crt"), test_ca_pem()).unwrap();
        std::fs::write(dir.join("namespace"), "from-file\n").unwrap();
        let mut env = HashMap::new();
        env.insert(HOST_VAR, "10.96.0.1".to_string());
        env.insert(PORT_HTTPS_VAR, "443".to_string());
        env.insert(PORT_VAR, "443".to_string());
        Pod { dir, env }
    }

    fn set(mut self, var: &'static str, value: &str) -> Pod {
        self.env.insert(var, value.to_string());
        self
    }

    fn unset(mut self, var: &'static str) -> Pod {
        self.env.remove(var);
        self
    }

    fn file(self, name: &str, contents: Option<&str>) -> Pod {
        let path = self.dir.join(name);
        match contents {
            Some(text) => std::fs::write(path, text).unwrap(),
            None => std::fs::remove_file(path).unwrap(),
        }
        self
    }

    fn discover(&self) -> Result<Config> {
        discover(&|name| self.env.get(name).cloned(), &self.dir)
    }

    fn error(&self) -> String {
        match self.discover() {
            Err(Error::Config { message, .. }) => message,
            other => panic!("expected Error::Config, got {other:?}"),
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn test_ca_pem() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).unwrap().pem()
}

#[test]
fn a_complete_pod_is_discovered() {
    let config = Pod::new("ok").discover().unwrap();
    assert_eq!(config.server(), "https://10.96.0.1:443");
    assert_eq!(config.namespace(), "from-file");
    assert!(!format!("{config:?}").contains("a-token"));
}

#[test]
fn no_host() {
    let err = Pod::new("nohost").unset(HOST_VAR).error();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST is not set") && err.contains("Config::proxy"),
        "{err}"
    );
}

#[test]
fn empty_host() {
    let err = Pod::new("emptyhost").set(HOST_VAR, " ").error();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST") && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn invalid_host() {
    let err = Pod::new("badhost").set(HOST_VAR, "https://x/y").error();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST") && err.contains("neither"),
        "{err}"
    );
}

#[test]
fn a_host_that_is_a_number_is_refused() {
    for number in ["443", "1e5", "1e-5", "1.5e3", "inf", "NaN", "Infinity"] {
        let err = Pod::new("numberhost").set(HOST_VAR, number).error();
        assert!(err.contains("neither"), "{number}: {err}");
    }
}

#[test]
fn numbers_are_what_f64_parses() {
    for text in [
        "1", "1.", ".5", "1.5", "1e5", "1E+5", "1e-5", "-1", "+.5e0", "inf", "-INF", "infinity",
        "nan", "NaN", "", ".", "e5", "1e", "1e+", "1.2.3", "1..2", "1e5e5", "0x10", "in", "nana",
        "1_000", "--1", "+-1", "1e--5", "ab", "a1", "1a",
    ] {
        assert_eq!(
            reads_as_a_number(text),
            text.parse::<f64>().is_ok(),
            "{text:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn numbers_are_what_f64_parses_for_any_text(
        text in proptest::collection::vec(
            proptest::sample::select(&b"0159.eE+-infatyNIxa_"[..]),
            0..12,
        )
    ) {
        let text = String::from_utf8(text).unwrap();
        proptest::prop_assert_eq!(reads_as_a_number(&text), text.parse::<f64>().is_ok(), "{:?}", text);
    }
}

#[test]
fn ipv6_host_is_bracketed() {
    let config = Pod::new("v6").set(HOST_VAR, "fd00::1").discover().unwrap();
    assert_eq!(config.server(), "https://[fd00::1]:443");
    let config = Pod::new("v6b")
        .set(HOST_VAR, "[fd00::1]")
        .discover()
        .unwrap();
    assert_eq!(config.server(), "https://[fd00::1]:443");
}

#[test]
fn dns_host() {
    let config = Pod::new("dns")
        .set(HOST_VAR, "API.example.internal.")
        .discover()
        .unwrap();
    assert_eq!(config.server(), "https://api.example.internal:443");
}

#[test]
fn no_port() {
    let err = Pod::new("noport")
        .unset(PORT_HTTPS_VAR)
        .unset(PORT_VAR)
        .error();
    assert!(
        err.contains("KUBERNETES_SERVICE_PORT_HTTPS")
            && err.contains("KUBERNETES_SERVICE_PORT ")
            && err.contains("neither"),
        "{err}"
    );
}

#[test]
fn empty_port() {
    let err = Pod::new("emptyport")
        .unset(PORT_HTTPS_VAR)
        .set(PORT_VAR, "")
        .error();
    assert!(
        err.contains("KUBERNETES_SERVICE_PORT is set but empty"),
        "{err}"
    );
    let err = Pod::new("emptyport2")
        .set(PORT_HTTPS_VAR, "")
        .unset(PORT_VAR)
        .error();
    assert!(
        err.contains("KUBERNETES_SERVICE_PORT_HTTPS is set but empty"),
        "{err}"
    );
}

#[test]
fn bad_port() {
    for bad in ["https", "0", "70000", "-1"] {
        let err = Pod::new("badport").set(PORT_HTTPS_VAR, bad).error();
        assert!(
            err.contains("KUBERNETES_SERVICE_PORT_HTTPS") && err.contains("not a port number"),
            "{bad}: {err}"
        );
    }
    let err = Pod::new("badport2")
        .unset(PORT_HTTPS_VAR)
        .set(PORT_VAR, "tcp://10.0.0.1:443")
        .error();
    assert!(
        err.contains("KUBERNETES_SERVICE_PORT=") && err.contains("not a port number"),
        "{err}"
    );
}

#[test]
fn port_https_takes_precedence() {
    let config = Pod::new("prec")
        .set(PORT_HTTPS_VAR, "6443")
        .set(PORT_VAR, "443")
        .discover()
        .unwrap();
    assert_eq!(config.server(), "https://10.96.0.1:6443");
    let config = Pod::new("prec2")
        .unset(PORT_HTTPS_VAR)
        .set(PORT_VAR, "8443")
        .discover()
        .unwrap();
    assert_eq!(config.server(), "https://10.96.0.1:8443");
    let config = Pod::new("prec3")
        .set(PORT_HTTPS_VAR, "")
        .set(PORT_VAR, "8443")
        .discover()
        .unwrap();
    assert_eq!(config.server(), "https://10.96.0.1:8443");
}

#[test]
fn no_token_file() {
    let pod = Pod::new("notoken").file("token", None);
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("token").display().to_string())
            && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn empty_token_file() {
    let pod = Pod::new("emptytoken").file("token", Some(" \n"));
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("token").display().to_string()) && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn no_ca_file() {
    let pod = Pod::new("noca").file("ca.crt", None);
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("ca.crt").display().to_string())
            && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn empty_ca_file() {
    let pod = Pod::new("emptyca").file("ca.crt", Some(""));
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("ca.crt").display().to_string()) && err.contains("empty"),
        "{err}"
    );
}

#[test]
fn ca_file_without_a_certificate() {
    let pod = Pod::new("garbageca").file("ca.crt", Some("not a certificate\n"));
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("ca.crt").display().to_string())
            && err.contains("no certificate"),
        "{err}"
    );
}

#[test]
fn ca_file_with_a_broken_certificate() {
    let pod = Pod::new("brokenca").file(
        "ca.crt",
        Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    );
    let err = pod.error();
    assert!(
        err.contains(&pod.dir.join("ca.crt").display().to_string()),
        "{err}"
    );
}

#[test]
fn namespace_precedence() {
    let config = Pod::new("ns1")
        .set(NAMESPACE_VAR, "from-env")
        .discover()
        .unwrap();
    assert_eq!(config.namespace(), "from-env");
    let config = Pod::new("ns2").set(NAMESPACE_VAR, "").discover().unwrap();
    assert_eq!(config.namespace(), "from-file");
    let config = Pod::new("ns3").file("namespace", None).discover().unwrap();
    assert_eq!(config.namespace(), "default");
    let config = Pod::new("ns4")
        .file("namespace", Some("\n"))
        .discover()
        .unwrap();
    assert_eq!(config.namespace(), "default");
}

fn proxy(url: &str) -> Result<Config> {
    proxy_with(&|_| None, Path::new("/nonexistent"), url)
}

#[test]
fn proxy_accepts_loopback_http() {
    for (url, base) in [
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://127.1.2.3:8001/", "http://127.1.2.3:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("https://kube.example.com", "https://kube.example.com:443"),
    ] {
        let config = proxy(url).unwrap();
        assert_eq!(config.server(), base);
        assert_eq!(config.namespace(), "default");
    }
}

#[test]
fn proxy_refuses_plain_http_elsewhere() {
    for url in [
        "http://10.0.0.8:8001",
        "http://kube.example.com:8001",
        "http://[fd00::1]:8001",
    ] {
        let err = proxy(url).unwrap_err().to_string();
        assert!(err.contains("loopback") && err.contains(url), "{err}");
    }
    assert!(proxy("ftp://127.0.0.1")
        .unwrap_err()
        .to_string()
        .contains("scheme"));
    assert!(proxy("127.0.0.1:8001").is_err());
    assert!(proxy("http://user:pw@127.0.0.1:8001").is_err());
}

#[test]
fn proxy_namespace_precedence() {
    let pod = Pod::new("proxyns");
    let config = proxy_with(&|_| None, &pod.dir, "http://127.0.0.1:8001").unwrap();
    assert_eq!(config.namespace(), "from-file");
    let config = proxy_with(
        &|n| (n == NAMESPACE_VAR).then(|| "env-ns".to_string()),
        &pod.dir,
        "http://127.0.0.1:8001",
    )
    .unwrap();
    assert_eq!(config.namespace(), "env-ns");
}

#[test]
fn infer_prefers_an_explicit_proxy_then_the_pod_then_says_both_ways() {
    let pod = Pod::new("infer");
    let env = |extra: &[(&'static str, &str)]| {
        let mut env = pod.env.clone();
        for (k, v) in extra {
            env.insert(*k, v.to_string());
        }
        move |name: &str| env.get(name).cloned()
    };
    let config = infer_with(&env(&[]), &pod.dir).unwrap();
    assert_eq!(config.server(), "https://10.96.0.1:443");
    let config = infer_with(&env(&[(PROXY_VAR, "http://127.0.0.1:8001")]), &pod.dir).unwrap();
    assert_eq!(
        config.server(),
        "http://127.0.0.1:8001",
        "a proxy sidecar wins"
    );
    let err = infer_with(&env(&[(PROXY_VAR, "http://10.0.0.1:8001")]), &pod.dir)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("INCLUSTER_PROXY: "), "{err}");
    let err = infer_with(&|_| None, &pod.dir).unwrap_err().to_string();
    assert!(
        err.contains("KUBERNETES_SERVICE_HOST is not set") && err.contains("INCLUSTER_PROXY"),
        "{err}"
    );
}
