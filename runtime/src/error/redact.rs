//! What an excerpt of a response body never shows: the values of members that hold secrets — a
//! Secret's `data` and `stringData`, a TokenRequest's `token`, a `password` — wherever they are
//! in the JSON, so that an error about a body that did not decode (a list of Secrets, say)
//! cannot carry one into a log.

/// Members whose values are hidden (every string inside them, when they are objects or arrays).
const HIDDEN_MEMBERS: &[&[u8]] = &[b"data", b"stringData", b"binaryData", b"token", b"password"];

/// What a hidden string value is replaced by (quotes included).
const HIDDEN: &str = "\"(hidden)\"";

/// `text` with the string values of [`HIDDEN_MEMBERS`] replaced by `"(hidden)"`. Works on any
/// text, JSON or not, and on a body cut anywhere (an excerpt is a body's beginning): a string
/// the text ends inside is hidden if it would have been.
///
/// For example `{"data":{"a":"c2VjcmV0"}}` becomes `{"data":{"a":"(hidden)"}}`.
pub(crate) fn redacted(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // Nesting depth (objects and arrays, outside strings); the depth of the hidden container
    // being read, if any; and whether the next value is a hidden member's.
    let (mut depth, mut hidden_at, mut value_hidden) = (0usize, None::<usize>, false);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                let is_key = bytes[end..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b':');
                if is_key {
                    value_hidden = HIDDEN_MEMBERS.contains(&&bytes[i + 1..end - 1]);
                } else if value_hidden || hidden_at.is_some() {
                    out.push_str(&text[copied..i]);
                    out.push_str(HIDDEN);
                    copied = end;
                    value_hidden = false;
                }
                i = end;
                continue;
            }
            b'{' | b'[' => {
                if value_hidden && hidden_at.is_none() {
                    hidden_at = Some(depth);
                }
                value_hidden = false;
                depth += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if hidden_at == Some(depth) {
                    hidden_at = None;
                }
            }
            b',' => value_hidden = false,
            _ => {}
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The index just past the string that opens at `start` (its closing quote), or the text's end.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn secret_values_are_hidden_wherever_they_are() {
        let cases = [
            (
                r#"{"kind":"Secret","data":{"password":"c2VjcmV0","tls.key":"LS0t"},"type":"Opaque"}"#,
                r#"{"kind":"Secret","data":{"password":"(hidden)","tls.key":"(hidden)"},"type":"Opaque"}"#,
            ),
            (
                r#"{"items":[{"stringData":{"a":"plain \"quoted\" text"}},{"data":{}}],"kind":"SecretList"}"#,
                r#"{"items":[{"stringData":{"a":"(hidden)"}},{"data":{}}],"kind":"SecretList"}"#,
            ),
            (
                r#"{"status":{"token":"eyJhbGciOi.x.y","expirationTimestamp":"2026-01-01T00:00:00Z"}}"#,
                r#"{"status":{"token":"(hidden)","expirationTimestamp":"2026-01-01T00:00:00Z"}}"#,
            ),
            (
                r#"{ "password" : "hunter2" , "user" : "me" }"#,
                r#"{ "password" : "(hidden)" , "user" : "me" }"#,
            ),
            (
                r#"{"data":{"nested":{"deep":["a","b"]},"n":5},"after":"shown"}"#,
                r#"{"data":{"nested":{"deep":["(hidden)","(hidden)"]},"n":5},"after":"shown"}"#,
            ),
            // Cut inside a hidden value, as an excerpt is.
            (
                r#"{"data":{"key":"c2VjcmV0c2VjcmV0"#,
                r#"{"data":{"key":"(hidden)""#,
            ),
            (r#"{"token":"eyJhbGc"#, r#"{"token":"(hidden)""#),
            // Nothing to hide: as it was.
            (
                r#"{"kind":"ConfigMapList","items":[]}"#,
                r#"{"kind":"ConfigMapList","items":[]}"#,
            ),
            ("<html>token</html>", "<html>token</html>"),
            (r#"{"token":null,"data":5}"#, r#"{"token":null,"data":5}"#),
        ];
        for (text, expected) in cases {
            assert_eq!(redacted(text), expected, "{text}");
        }
    }

    #[test]
    fn any_text_is_redacted_without_a_panic() {
        for text in [
            "\"",
            "\"data\"",
            "\"data\":",
            "\"data\":\"\\",
            "\\\"data\":{\"",
            "]]}}\"data\":[{",
        ] {
            let _ = redacted(text);
        }
    }
}
