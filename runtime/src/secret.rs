//! A bearer token that cannot be printed.

use std::fmt;
use std::sync::Arc;

/// A bearer token. Its `Debug` and `Display` print `<redacted>`; the value is reachable only
/// where it is turned into an `Authorization` header (marked sensitive for the HTTP stack).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretToken(Arc<str>);

impl SecretToken {
    pub(crate) fn new(value: &str) -> SecretToken {
        SecretToken(Arc::from(value))
    }

    /// The `Authorization` header value, marked sensitive so no layer logs it.
    pub(crate) fn header_value(&self) -> Option<reqwest::header::HeaderValue> {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let token = SecretToken::new("hunter2-secret");
        assert!(!format!("{token:?} {token}").contains("hunter2"));
        assert!(token.header_value().unwrap().is_sensitive());
    }
}
