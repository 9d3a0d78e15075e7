//! Path segments: each argument becomes exactly one percent-encoded segment.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters is encoded, so a value can never add a
/// segment (`/`), start a query (`?`) or a fragment (`#`), or be decoded twice (`%`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest value accepted for one segment (Kubernetes names are at most 253 characters; the
/// HTTP stack refuses URIs over 64 KiB with an error that would not name the argument).
const MAX_SEGMENT_BYTES: usize = 8 * 1024;

/// Encodes `value` as one path segment, or says why it cannot be one.
///
/// Empty, `.` and `..` are refused: the first would merge two segments, the others would climb
/// the path once a server or proxy normalises it.
pub(crate) fn encode_segment(value: &str) -> Result<String, &'static str> {
    if value.len() > MAX_SEGMENT_BYTES {
        return Err("is longer than 8 KiB; Kubernetes names are at most 253 characters");
    }
    match value {
        "" => Err("is empty"),
        "." => Err("is `.`, which would address the parent collection"),
        ".." => Err("is `..`, which would climb out of the path"),
        _ => Ok(utf8_percent_encode(value, SEGMENT).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_segment_whatever_the_value() {
        assert_eq!(encode_segment("a/b").unwrap(), "a%2Fb");
        assert_eq!(encode_segment("%2F").unwrap(), "%252F");
        assert_eq!(encode_segment("ü").unwrap(), "%C3%BC");
        assert_eq!(encode_segment("a b?c#d").unwrap(), "a%20b%3Fc%23d");
        assert_eq!(encode_segment("my-app.v1_x~y").unwrap(), "my-app.v1_x~y");
        assert_eq!(encode_segment("...").unwrap(), "...");
        assert!(encode_segment("").is_err());
        assert!(encode_segment(".").is_err());
        assert!(encode_segment("..").is_err());
        assert!(encode_segment(&"a".repeat(8 * 1024)).is_ok());
        assert!(encode_segment(&"a".repeat(8 * 1024 + 1)).is_err());
    }
}
