//! Path segments: each argument becomes exactly one percent-encoded segment, written straight
//! into the request's path (no intermediate strings).

use std::fmt::{self, Write};

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

/// Appends `value`, percent-encoded as one path segment, to `out`; or leaves `out` as it was and
/// says why the value cannot be one.
///
/// Empty, `.` and `..` are refused: the first would merge two segments, the others would climb
/// the path once a server or proxy normalises it.
pub(crate) fn push_segment(
    out: &mut String,
    value: &impl fmt::Display,
) -> Result<(), &'static str> {
    let start = out.len();
    let mut writer = SegmentWriter { out, raw: 0 };
    let written = write!(writer, "{value}");
    let raw = writer.raw;
    let why = if written.is_err() || raw > MAX_SEGMENT_BYTES {
        "is longer than 8 KiB; Kubernetes names are at most 253 characters"
    } else {
        // `.` is unreserved, so these compare equal before and after encoding.
        match &out[start..] {
            "" => "is empty",
            "." => "is `.`, which would address the parent collection",
            ".." => "is `..`, which would climb out of the path",
            _ => return Ok(()),
        }
    };
    out.truncate(start);
    Err(why)
}

/// Percent-encodes what a `Display` impl writes, as it writes it.
struct SegmentWriter<'a> {
    out: &'a mut String,
    raw: usize,
}

impl Write for SegmentWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.raw += s.len();
        if self.raw > MAX_SEGMENT_BYTES {
            return Err(fmt::Error);
        }
        // Kubernetes names are unreserved characters only: copy them as they are.
        if s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
        {
            self.out.push_str(s);
        } else {
            self.out.extend(utf8_percent_encode(s, SEGMENT));
        }
        Ok(())
    }
}

/// Checks a path template built at run time (literal templates are not checked: they are the
/// programmer's, and the macro checks the ones it generates). It must start with `/`; between the
/// slashes, each segment is non-empty, not `.` or `..`, and holds only `{placeholder}`s and
/// characters a path needs no encoding for, so nothing in it can add a query, a fragment, an
/// escape or a climb: values belong in placeholders, which are encoded.
pub(crate) fn check_runtime_template(template: &str) -> Result<(), &'static str> {
    let Some(segments) = template.strip_prefix('/') else {
        return Err("does not start with `/`");
    };
    if segments.is_empty() {
        return Ok(());
    }
    for segment in segments.split('/') {
        match segment {
            "" => return Err("has an empty segment (`//` or a trailing `/`)"),
            "." | ".." => return Err("has a `.` or `..` segment"),
            _ => {}
        }
        let mut open = false;
        for b in segment.bytes() {
            match b {
                b'{' if !open => open = true,
                b'}' if open => open = false,
                b'{' | b'}' => return Err("has an unbalanced `{` or `}`"),
                _ if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') => {}
                _ => return Err("holds a character that would need encoding (only letters, digits, `-._~`, `/` and `{placeholder}`s)"),
            }
        }
        if open {
            return Err("has an unbalanced `{` or `}`");
        }
    }
    Ok(())
}

/// When the next placeholder of `rest` (the unfilled tail of a path template) is `{name}` and
/// no other `{name}` follows: the literal text before it and the template after it.
pub(crate) fn placeholder_ahead<'t>(rest: &'t str, name: &str) -> Option<(&'t str, &'t str)> {
    // Bytes, not chars: `{` and `}` are ASCII, and this runs for every path parameter.
    let open = rest.bytes().position(|b| b == b'{')?;
    let after = rest[open + 1..].strip_prefix(name)?.strip_prefix('}')?;
    let (name, tail) = (name.as_bytes(), after.as_bytes());
    let repeated = (0..tail.len()).any(|i| {
        tail[i] == b'{'
            && tail[i + 1..].starts_with(name)
            && tail.get(i + 1 + name.len()) == Some(&b'}')
    });
    (!repeated).then_some((&rest[..open], after))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(value: &str) -> Result<String, &'static str> {
        let mut out = String::from("/x/");
        push_segment(&mut out, &value)
            .map(|()| out[3..].to_string())
            .inspect_err(|_| assert_eq!(out, "/x/"))
    }

    #[test]
    fn one_segment_whatever_the_value() {
        assert_eq!(encode("a/b").unwrap(), "a%2Fb");
        assert_eq!(encode("%2F").unwrap(), "%252F");
        assert_eq!(encode("ü").unwrap(), "%C3%BC");
        assert_eq!(encode("a b?c#d").unwrap(), "a%20b%3Fc%23d");
        assert_eq!(encode("my-app.v1_x~y").unwrap(), "my-app.v1_x~y");
        assert_eq!(encode("...").unwrap(), "...");
        assert!(encode("").is_err());
        assert!(encode(".").is_err());
        assert!(encode("..").is_err());
        assert!(encode(&"a".repeat(8 * 1024)).is_ok());
        assert!(encode(&"a".repeat(8 * 1024 + 1)).is_err());
        assert!(encode(&"ü".repeat(4 * 1024 + 1)).is_err());
        let mut out = String::new();
        push_segment(&mut out, &42u64).unwrap();
        assert_eq!(out, "42");
    }

    #[test]
    fn runtime_templates_hold_only_placeholders_and_plain_segments() {
        for good in [
            "/",
            "/api",
            "/apis/{group}/{version}/namespaces/{namespace}/{plural}",
            "/apis/stable.example.com/v1/crontabs",
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            "/a/cm-{name}",
            "/.well-known/openid-configuration",
        ] {
            assert_eq!(check_runtime_template(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("", "start with `/`"),
            ("api/v1", "start with `/`"),
            ("/api/v1?watch=true", "need encoding"),
            ("/api#x", "need encoding"),
            ("/api/%2e%2e/secrets", "need encoding"),
            ("/api/v1 /pods", "need encoding"),
            ("/api/ü", "need encoding"),
            ("/api//v1", "empty segment"),
            ("/api/", "empty segment"),
            ("/api/../secrets", "`..`"),
            ("/api/./v1", "`.`"),
            ("/api/{name", "unbalanced"),
            ("/api/name}", "unbalanced"),
            ("/api/{{name}}", "unbalanced"),
        ] {
            let err = check_runtime_template(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn placeholders_ahead() {
        assert_eq!(
            placeholder_ahead("/ns/{namespace}/cm/{name}", "namespace"),
            Some(("/ns/", "/cm/{name}"))
        );
        assert_eq!(placeholder_ahead("/cm/{name}", "name"), Some(("/cm/", "")));
        assert_eq!(placeholder_ahead("/ns/{namespace}/cm/{name}", "name"), None);
        assert_eq!(placeholder_ahead("/{x}/{x}", "x"), None);
        assert_eq!(placeholder_ahead("/{x}/{xy}", "x"), Some(("/", "/{xy}")));
        assert_eq!(placeholder_ahead("/{xy}", "x"), None);
        assert_eq!(placeholder_ahead("/api", "x"), None);
    }
}
