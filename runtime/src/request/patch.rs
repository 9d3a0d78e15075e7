//! PATCH bodies: the caller chooses the patch strategy, which sets the `Content-Type`.

/// A PATCH request body and its strategy. Declare a `#[patch]` method's body as `&Patch<T>`:
///
/// ```
/// use incluster::Patch;
/// #[incluster::in_cluster_client]
/// pub trait Deployments {
///     #[patch("/apis/apps/v1/namespaces/{namespace}/deployments/{name}")]
///     async fn patch(
///         &self,
///         name: &str,
///         #[body] patch: &Patch<serde_json::Value>,
///         #[query] field_manager: Option<&str>,
///         #[query] force: Option<bool>,
///     ) -> incluster::Result<serde_json::Value>;
/// }
/// // Server-side apply: `Patch::Apply` with `field_manager: Some("my-operator")`.
/// let body = Patch::Apply(serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment"}));
/// assert_eq!(body.content_type(), "application/apply-patch+yaml");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Patch<T> {
    /// JSON merge patch (RFC 7386): `application/merge-patch+json`.
    Merge(T),
    /// JSON patch (RFC 6902), a list of operations: `application/json-patch+json`.
    Json(T),
    /// Kubernetes strategic merge patch (built-in types only): `application/strategic-merge-patch+json`.
    Strategic(T),
    /// Server-side apply: `application/apply-patch+yaml` (JSON is YAML). The server requires a
    /// `fieldManager` query parameter; `force=true` takes over conflicting fields.
    Apply(T),
}

impl<T> Patch<T> {
    /// The `Content-Type` that selects this strategy on the API server.
    ///
    /// ```
    /// assert_eq!(incluster::Patch::Merge(()).content_type(), "application/merge-patch+json");
    /// ```
    pub fn content_type(&self) -> &'static str {
        match self {
            Patch::Merge(_) => "application/merge-patch+json",
            Patch::Json(_) => "application/json-patch+json",
            Patch::Strategic(_) => "application/strategic-merge-patch+json",
            Patch::Apply(_) => "application/apply-patch+yaml",
        }
    }

    /// The patch document.
    ///
    /// ```
    /// assert_eq!(incluster::Patch::Json(vec![1]).value(), &vec![1]);
    /// ```
    pub fn value(&self) -> &T {
        match self {
            Patch::Merge(v) | Patch::Json(v) | Patch::Strategic(v) | Patch::Apply(v) => v,
        }
    }
}

/// The `Content-Type` of a server-side apply ([`Patch::Apply`]).
pub(crate) const APPLY_CONTENT_TYPE: &str = "application/apply-patch+yaml";

/// The `fieldManager` to add to `request` when it is sent: none unless it is a server-side
/// apply that names none; then the client-wide `manager`, or an error naming both fixes when
/// there is none. (Added to the URL as it is sent, so the request is not copied.)
pub(crate) fn field_manager_to_add<'m>(
    request: &crate::request::Request,
    manager: Option<&'m str>,
) -> crate::error::Result<Option<&'m str>> {
    let is_apply = request
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(APPLY_CONTENT_TYPE.as_bytes()));
    if !is_apply || request.query.iter().any(|(n, _)| n == "fieldManager") {
        return Ok(None);
    }
    match manager {
        Some(manager) => Ok(Some(manager)),
        None => Err(crate::error::Error::invalid(format!(
            "{}: a server-side apply needs a field manager: set one for the whole client with \
             Config::with_field_manager(\"my-operator\"), or give the method a \
             `#[query] field_manager: &str` argument",
            request
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Method, Request};

    fn apply() -> Request {
        Request::builder(
            Method::PATCH,
            "/api/v1/namespaces/{namespace}/configmaps/{name}",
        )
        .path_param("namespace", "a")
        .path_param("name", "b")
        .patch_body(&Patch::Apply(serde_json::json!({})))
        .build()
        .unwrap()
    }

    #[test]
    fn an_apply_gets_the_client_wide_manager() {
        let request = apply();
        assert_eq!(
            field_manager_to_add(&request, Some("op")).unwrap(),
            Some("op")
        );
    }

    #[test]
    fn a_manager_of_the_request_wins() {
        let request = apply().with_query("fieldManager", "mine");
        assert_eq!(field_manager_to_add(&request, Some("op")).unwrap(), None);
    }

    #[test]
    fn an_apply_without_any_manager_is_refused_naming_both_fixes() {
        let err = field_manager_to_add(&apply(), None).unwrap_err();
        assert!(matches!(err, crate::Error::InvalidRequest { .. }));
        let text = err.to_string();
        assert!(text.contains("Config::with_field_manager"), "{text}");
        assert!(text.contains("field_manager"), "{text}");
    }

    #[test]
    fn other_requests_are_left_alone() {
        let merge = Request::builder(Method::PATCH, "/x")
            .patch_body(&Patch::Merge(serde_json::json!({})))
            .build()
            .unwrap();
        assert_eq!(field_manager_to_add(&merge, None).unwrap(), None);
    }
}
