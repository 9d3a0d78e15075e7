//! What an error never shows of a response body: the values of members that hold secrets — a
//! Secret's `data` and `stringData`, a TokenRequest's `token`, a `password`, a `clientSecret` —
//! wherever they are in the JSON (also inside a string that holds JSON, as kubectl's
//! `last-applied-configuration` annotation does), nor a string the decoder quotes in its message.
//! An error about a body that did not decode (a list of Secrets, say) cannot carry one into a
//! log. Names are matched as JSON has them; YAML or plain text is shown as it is.

use std::fmt;

/// Members whose values are hidden, by their whole name.
const HIDDEN_NAMES: &[&[u8]] = &[b"data", b"stringData", b"binaryData"];

/// Members whose values are hidden, by how their name ends (in any case): `token`,
/// `accessToken`, `password`, `clientSecret`, `privateKey`, `apiKey`, …
const HIDDEN_ENDINGS: &[&[u8]] = &[b"token", b"password", b"secret", b"privatekey", b"apikey"];

/// What a hidden value is replaced by.
const HIDDEN: &str = "(hidden)";

/// Whether a member named `name` (its JSON text, between the quotes) has its value hidden.
fn is_hidden_name(name: &[u8]) -> bool {
    HIDDEN_NAMES.contains(&name)
        || HIDDEN_ENDINGS.iter().any(|ending| {
            name.len() >= ending.len()
                && name[name.len() - ending.len()..].eq_ignore_ascii_case(ending)
        })
}

/// Whether a string's JSON text holds JSON with a hidden member (`\"data\":`, …).
fn embeds_hidden(content: &[u8]) -> bool {
    let mut rest = content;
    while let Some(at) = rest.windows(2).position(|w| w == b"\\\"") {
        let name_start = at + 2;
        let Some(len) = rest[name_start..].windows(2).position(|w| w == b"\\\"") else {
            return false;
        };
        if is_hidden_name(&rest[name_start..name_start + len]) {
            return true;
        }
        rest = &rest[name_start + len + 2..];
    }
    false
}

/// `text` with the values of hidden members (see the module's doc) replaced by `"(hidden)"`:
/// strings and numbers, and every string and number inside an object or array value. Works on
/// any text, JSON or not, and on a body cut anywhere (an excerpt is a body's beginning): a string
/// the text ends inside is hidden if it would have been.
///
/// For example `{"data":{"a":"c2VjcmV0"}}` becomes `{"data":{"a":"(hidden)"}}`.
#[cold]
pub(crate) fn redacted(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // Nesting depth (objects and arrays, outside strings); the depth of the hidden container
    // being read, if any; and whether the next value is a hidden member's.
    let (mut depth, mut hidden_at, mut value_hidden) = (0usize, None::<usize>, false);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hiding = value_hidden || hidden_at.is_some();
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                let is_key = bytes[end..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .is_some_and(|b| *b == b':');
                let content = &bytes[i + 1..end.max(i + 2) - 1];
                if is_key {
                    value_hidden = is_hidden_name(content);
                } else if hiding || embeds_hidden(content) {
                    out.push_str(&text[copied..i]);
                    out.push('"');
                    out.push_str(HIDDEN);
                    out.push('"');
                    copied = end;
                    value_hidden = false;
                }
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' if hiding => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .map_or(bytes.len(), |n| i + n);
                out.push_str(&text[copied..i]);
                out.push_str(HIDDEN);
                copied = end;
                value_hidden = false;
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

/// A decoder's error with the strings it quoted hidden: serde's messages quote the value they
/// refused (`invalid type: string "c2VjcmV0", expected a sequence`), which may be a secret. It
/// stands in for the decoder's error, which is dropped (a cause chain printed in full would
/// show it again).
pub(crate) struct QuotedHidden(String);

impl QuotedHidden {
    /// `error`, itself when its message quotes no string, else its message with each quoted
    /// string hidden.
    #[cold]
    pub(crate) fn of(error: super::BoxError) -> super::BoxError {
        const QUOTED: &[u8] = b"string \"";
        let message = error.to_string();
        let bytes = message.as_bytes();
        let mut hidden = String::new();
        let (mut copied, mut i) = (0, 0);
        while i + QUOTED.len() <= bytes.len() {
            if &bytes[i..i + QUOTED.len()] != QUOTED {
                i += 1;
                continue;
            }
            let open = i + QUOTED.len() - 1;
            hidden.push_str(&message[copied..=open]);
            hidden.push_str(HIDDEN);
            hidden.push('"');
            copied = string_end(bytes, open).min(bytes.len());
            i = copied;
        }
        if copied == 0 {
            return error;
        }
        hidden.push_str(&message[copied..]);
        Box::new(QuotedHidden(hidden))
    }
}

impl fmt::Display for QuotedHidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for QuotedHidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for QuotedHidden {}

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
    use super::{redacted, QuotedHidden};

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
                r#"{"data":{"nested":{"deep":["(hidden)","(hidden)"]},"n":(hidden)},"after":"shown"}"#,
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
            (
                r#"{"token":null,"data":5}"#,
                r#"{"token":null,"data":(hidden)}"#,
            ),
            (
                r#"{"password":123456,"pin":{"data":[1,-2.5e3,true]}}"#,
                r#"{"password":(hidden),"pin":{"data":[(hidden),(hidden),true]}}"#,
            ),
            (
                r#"{"accessToken":"a","clientSecret":"b","privateKey":"c","Token":"d","tokens":"e"}"#,
                r#"{"accessToken":"(hidden)","clientSecret":"(hidden)","privateKey":"(hidden)","Token":"(hidden)","tokens":"e"}"#,
            ),
            // JSON inside a string, as kubectl's last-applied-configuration annotation holds it.
            (
                r#"{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"c2VjcmV0\"}}\n","note":"a \"quoted\" word"}}"#,
                r#"{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"(hidden)","note":"a \"quoted\" word"}}"#,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(redacted(text), expected, "{text}");
        }
    }

    #[test]
    fn a_decoder_message_never_quotes_a_string() {
        let error = serde_json::from_str::<Vec<u8>>(r#""c2VjcmV0 \" with a quote""#).unwrap_err();
        let hidden = QuotedHidden::of(Box::new(error));
        let shown = format!("{hidden} {hidden:?}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(
            shown.starts_with(
                r#"invalid type: string "(hidden)", expected a sequence at line 1 column"#
            ),
            "{shown}"
        );
        let error = serde_json::from_str::<String>("5").unwrap_err();
        let message = error.to_string();
        assert_eq!(
            QuotedHidden::of(Box::new(error)).to_string(),
            message,
            "nothing quoted: as it was"
        );
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
