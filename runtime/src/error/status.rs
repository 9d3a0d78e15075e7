//! The Kubernetes `Status` object that the API server returns with every error.

use serde::{Deserialize, Serialize};

/// Longest excerpt of a response body kept in an error, in bytes.
pub(crate) const EXCERPT_LIMIT: usize = 512;

/// A Kubernetes `Status` (`meta.k8s.io/v1`), as returned with every non-2xx response.
///
/// When the server answers with something that is not a `Status` (a load balancer's HTML page, say),
/// incluster still builds one from the HTTP code, with a bounded excerpt of the body as its message.
///
/// ```
/// let status = incluster::Status::from_response(404, br#"{"kind":"Status","code":404,"reason":"NotFound","message":"configmaps \"x\" not found"}"#);
/// assert_eq!(status.reason, "NotFound");
/// assert_eq!(status.code, 404);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Status {
    /// The HTTP status code (404, 403, …).
    #[serde(default)]
    pub code: u16,
    /// Machine-readable reason, e.g. `NotFound`, `Forbidden`, `AlreadyExists`, `Conflict`.
    #[serde(default)]
    pub reason: String,
    /// Human-readable description from the server.
    #[serde(default)]
    pub message: String,
    /// `Success` or `Failure`.
    #[serde(default)]
    pub status: String,
    /// Extra data: the object concerned, field-level causes, a retry hint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
}

/// The `details` of a [`Status`].
///
/// ```
/// let details = incluster::StatusDetails::default();
/// assert!(details.causes.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusDetails {
    /// Name of the object concerned, if any.
    #[serde(default)]
    pub name: String,
    /// API group of the object concerned.
    #[serde(default)]
    pub group: String,
    /// Kind of the object concerned (the resource, e.g. `configmaps`).
    #[serde(default)]
    pub kind: String,
    /// UID of the object concerned.
    #[serde(default)]
    pub uid: String,
    /// Field-level causes, e.g. for a validation failure.
    #[serde(default)]
    pub causes: Vec<StatusCause>,
    /// Seconds the client should wait before retrying, when the server says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    /// On a 403 to a generated method: the RBAC rules it needed (added by incluster, never
    /// sent by the server; see [`Error::rbac_needed`](crate::Error::rbac_needed)).
    #[serde(skip)]
    pub(crate) rbac_needed: Option<Box<crate::rbac::RbacNeeded>>,
}

/// One cause in [`StatusDetails::causes`].
///
/// ```
/// let cause = incluster::StatusCause::default();
/// assert_eq!(cause.field, "");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusCause {
    /// Machine-readable cause, e.g. `FieldValueInvalid`.
    #[serde(default)]
    pub reason: String,
    /// Human-readable description.
    #[serde(default)]
    pub message: String,
    /// The field concerned, e.g. `metadata.name`.
    #[serde(default)]
    pub field: String,
}

impl Status {
    /// Builds the `Status` for a non-2xx response: the server's own `Status` when the body is one,
    /// otherwise one made from the HTTP code and a bounded excerpt of the body.
    ///
    /// ```
    /// let status = incluster::Status::from_response(502, b"<html>bad gateway</html>");
    /// assert_eq!(status.code, 502);
    /// assert_eq!(status.reason, "BadGateway");
    /// assert!(status.message.contains("bad gateway"));
    /// ```
    pub fn from_response(http_code: u16, body: &[u8]) -> Status {
        if let Some(mut status) = decode_status(body) {
            if status.code == 0 {
                status.code = http_code;
            }
            if status.reason.is_empty() {
                status.reason = reason_for_code(http_code).to_string();
            }
            return status;
        }
        let excerpt = excerpt(body);
        Status {
            code: http_code,
            reason: reason_for_code(http_code).to_string(),
            message: if excerpt.is_empty() {
                format!("HTTP {http_code} with an empty body")
            } else {
                format!("HTTP {http_code} with a body that is not a Kubernetes Status: {excerpt}")
            },
            status: "Failure".to_string(),
            details: None,
        }
    }
}

/// The body as a [`Status`] if it is one: an object whose `kind` is `Status` and whose known
/// members have their types (as the derived `Deserialize` reads them: unknown members skipped, a
/// member twice an error; only a struct written as an array, which no server sends, is not read). One pass over the body, written out rather than derived: every
/// program links it, and the derived decoder and a separate `kind` probe cost 8 KB more.
fn decode_status(body: &[u8]) -> Option<Status> {
    use serde::de::{Deserializer, Error, IgnoredAny, MapAccess, Visitor};

    struct StatusVisitor;

    impl<'de> Visitor<'de> for StatusVisitor {
        type Value = Option<Status>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Kubernetes Status")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Status>, A::Error> {
            let mut status = Status::default();
            let mut kind = String::new();
            let mut seen = [false; 6];
            while let Some(key) = map.next_key::<String>()? {
                let index = match key.as_str() {
                    "kind" => 0,
                    "code" => 1,
                    "reason" => 2,
                    "message" => 3,
                    "status" => 4,
                    "details" => 5,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if std::mem::replace(&mut seen[index], true) {
                    return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                }
                match index {
                    0 => kind = map.next_value()?,
                    1 => status.code = map.next_value()?,
                    2 => status.reason = map.next_value()?,
                    3 => status.message = map.next_value()?,
                    4 => status.status = map.next_value()?,
                    _ => status.details = map.next_value::<Option<Details>>()?.map(|d| d.0),
                }
            }
            Ok((kind == "Status").then_some(status))
        }
    }

    /// [`StatusDetails`], read the same way.
    struct Details(StatusDetails);

    impl<'de> serde::Deserialize<'de> for Details {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Details, D::Error> {
            deserializer.deserialize_map(DetailsVisitor)
        }
    }

    struct DetailsVisitor;

    impl<'de> Visitor<'de> for DetailsVisitor {
        type Value = Details;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Status's details")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Details, A::Error> {
            let mut details = StatusDetails::default();
            let mut seen = [false; 6];
            while let Some(key) = map.next_key::<String>()? {
                let index = match key.as_str() {
                    "name" => 0,
                    "group" => 1,
                    "kind" => 2,
                    "uid" => 3,
                    "causes" => 4,
                    "retryAfterSeconds" => 5,
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if std::mem::replace(&mut seen[index], true) {
                    return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                }
                match index {
                    0 => details.name = map.next_value()?,
                    1 => details.group = map.next_value()?,
                    2 => details.kind = map.next_value()?,
                    3 => details.uid = map.next_value()?,
                    4 => {
                        details.causes = map
                            .next_value::<Vec<Cause>>()?
                            .into_iter()
                            .map(|c| c.0)
                            .collect()
                    }
                    _ => details.retry_after_seconds = map.next_value()?,
                }
            }
            Ok(Details(details))
        }
    }

    /// A [`StatusCause`], read the same way.
    struct Cause(StatusCause);

    impl<'de> serde::Deserialize<'de> for Cause {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cause, D::Error> {
            deserializer.deserialize_map(CauseVisitor)
        }
    }

    struct CauseVisitor;

    impl<'de> Visitor<'de> for CauseVisitor {
        type Value = Cause;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a Status's cause")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Cause, A::Error> {
            let mut cause = StatusCause::default();
            let mut seen = [false; 3];
            while let Some(key) = map.next_key::<String>()? {
                let (index, field) = match key.as_str() {
                    "reason" => (0, &mut cause.reason),
                    "message" => (1, &mut cause.message),
                    "field" => (2, &mut cause.field),
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                };
                if std::mem::replace(&mut seen[index], true) {
                    return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                }
                *field = map.next_value()?;
            }
            Ok(Cause(cause))
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    let status = de.deserialize_map(StatusVisitor).ok()?;
    de.end().ok()?;
    status
}

/// The `metav1.StatusReason` the API server uses for an HTTP code.
pub(crate) fn reason_for_code(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Expired",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

/// At most [`EXCERPT_LIMIT`] bytes of `body` as text, cut at a character boundary, with `…` when
/// cut, and the values of members that hold secrets hidden (see `redact`).
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_LIMIT * 4)]);
    let text = crate::error::redact::redacted(&text);
    let trimmed = text.trim();
    if trimmed.len() <= EXCERPT_LIMIT {
        return trimmed.to_string();
    }
    let mut end = EXCERPT_LIMIT;
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &trimmed[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the derived decoders make of a body: a `kind` probe, then `Status` (the oracle of
    /// `decode_status`).
    fn derived(body: &[u8]) -> Option<Status> {
        #[derive(Deserialize)]
        struct Kind {
            #[serde(default)]
            kind: String,
        }
        let kind = serde_json::from_slice::<Kind>(body).ok()?;
        (kind.kind == "Status").then(|| serde_json::from_slice::<Status>(body).ok())?
    }

    #[test]
    fn the_one_pass_decoder_agrees_with_the_derived_one() {
        let bodies: &[&str] = &[
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"m","reason":"NotFound","details":{"name":"x","kind":"configmaps","causes":[{"reason":"r","message":"m","field":"f","extra":1}],"retryAfterSeconds":3},"code":404}"#,
            r#"{"kind":"Status","code":409}"#,
            r#"{"kind":"Status"}"#,
            r#"{"code":404,"kind":"Status"}"#,
            r#"{"kind":"NotStatus","code":404}"#,
            r#"{"code":404}"#,
            r#"{"kind":"Status","code":404,"code":405}"#,
            r#"{"kind":"Status","kind":"Status"}"#,
            r#"{"kind":"Status","details":{"name":"a","name":"b"}}"#,
            r#"{"kind":"Status","details":{"causes":[{"field":"a","field":"b"}]}}"#,
            r#"{"kind":"Status","details":null,"code":500}"#,
            r#"{"kind":"Status","details":{"retryAfterSeconds":null}}"#,
            r#"{"kind":"Status","details":{"causes":null}}"#,
            r#"{"kind":"Status","code":null}"#,
            r#"{"kind":"Status","code":70000}"#,
            r#"{"kind":"Status","code":"404"}"#,
            r#"{"kind":"Status","message":7}"#,
            r#"{"ki\u006ed":"Status","co\u0064e":404}"#,
            r#"{"kind":"Status"} trailing"#,
            r#"{"kind":"Status""#,
            r#"["Status",404]"#,
            r#"["Status"]"#,
            r#"null"#,
            r#""#,
            r#"<html>bad gateway</html>"#,
        ];
        for body in bodies {
            assert_eq!(
                decode_status(body.as_bytes()),
                derived(body.as_bytes()),
                "{body}"
            );
        }
        // The one difference: the derived decoder also reads a struct from an array, by position;
        // no server sends one, and here it makes the body "not a Status".
        for body in [
            r#"{"kind":"Status","details":[]}"#,
            r#"{"kind":"Status","details":{"causes":[[]]}}"#,
        ] {
            assert!(derived(body.as_bytes()).is_some());
            assert_eq!(decode_status(body.as_bytes()), None, "{body}");
        }
    }

    #[test]
    fn decodes_a_full_status() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"x is invalid","reason":"Invalid","code":422,
            "details":{"name":"x","kind":"configmaps","causes":[{"reason":"FieldValueInvalid","message":"bad","field":"data"}],"retryAfterSeconds":3}}"#;
        let status = Status::from_response(422, body);
        assert_eq!(status.reason, "Invalid");
        let details = status.details.unwrap();
        assert_eq!(details.causes[0].field, "data");
        assert_eq!(details.retry_after_seconds, Some(3));
    }

    #[test]
    fn non_status_body_is_bounded() {
        let body = "é".repeat(10_000);
        let status = Status::from_response(500, body.as_bytes());
        assert_eq!(status.reason, "InternalError");
        assert!(status.message.len() < EXCERPT_LIMIT + 200);
        assert!(status.message.ends_with('…'));
    }

    #[test]
    fn json_that_is_not_a_status_is_an_excerpt() {
        let status = Status::from_response(404, br#"{"kind":"ConfigMap"}"#);
        assert_eq!(status.reason, "NotFound");
        assert!(status.message.contains("ConfigMap"));
    }
}
