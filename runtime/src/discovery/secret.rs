//! A bearer token that cannot be printed.

use std::fmt;

use reqwest::header::HeaderValue;

/// A bearer token, kept as its ready `Authorization: Bearer …` header value (marked sensitive for
/// the HTTP stack, built once per token rather than once per request). Its `Debug` and `Display`
/// print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SecretToken(HeaderValue);

impl SecretToken {
    /// `None` when the token holds bytes that cannot go into a header (control characters,
    /// non-ASCII).
    pub(crate) fn new(token: &str) -> Option<SecretToken> {
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        value.set_sensitive(true);
        Some(SecretToken(value))
    }

    /// The `Authorization` header value.
    pub(crate) fn header_value(&self) -> &HeaderValue {
        &self.0
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
        let token = SecretToken::new("hunter2-secret").unwrap();
        assert!(!format!("{token:?} {token}").contains("hunter2"));
        assert!(token.header_value().is_sensitive());
    }

    #[test]
    fn refuses_what_cannot_be_a_header() {
        assert!(SecretToken::new("tök").is_none());
        assert!(SecretToken::new("a b").is_none());
        assert!(SecretToken::new("a\u{7f}").is_none());
    }
}
