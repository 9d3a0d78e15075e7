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

/// `request` as the client sends it: with `fieldManager` set when it is a server-side apply
/// that names none (the client-wide `manager`, or an error naming both fixes when there is
/// none), and — feature `controller` — with the metadata-only `Accept` of a watch when it is a
/// watch of a metadata-only list.
pub(crate) fn prepare<'r>(
    request: &'r crate::request::Request,
    manager: &Option<String>,
) -> crate::error::Result<std::borrow::Cow<'r, crate::request::Request>> {
    let request = with_field_manager(request, manager.as_deref())?;
    #[cfg(feature = "controller")]
    if let Some(watch) = crate::controller::metadata::for_watch(&request) {
        return Ok(std::borrow::Cow::Owned(watch));
    }
    Ok(request)
}

/// `request` with `fieldManager` set when it is a server-side apply that names none: the
/// client-wide `manager`, or an error naming both fixes when there is none.
pub(crate) fn with_field_manager<'r>(
    request: &'r crate::request::Request,
    manager: Option<&str>,
) -> crate::error::Result<std::borrow::Cow<'r, crate::request::Request>> {
    use std::borrow::Cow;
    let is_apply = request
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(APPLY_CONTENT_TYPE.as_bytes()));
    if !is_apply || request.query.iter().any(|(n, _)| n == "fieldManager") {
        return Ok(Cow::Borrowed(request));
    }
    match manager {
        Some(manager) => Ok(Cow::Owned(
            request.clone().with_query("fieldManager", manager),
        )),
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
        let sent = with_field_manager(&request, Some("op")).unwrap();
        assert!(sent.path_and_query().ends_with("?fieldManager=op"));
    }

    #[test]
    fn a_manager_of_the_request_wins() {
        let request = apply().with_query("fieldManager", "mine");
        let sent = with_field_manager(&request, Some("op")).unwrap();
        assert!(sent.path_and_query().ends_with("?fieldManager=mine"));
    }

    #[test]
    fn an_apply_without_any_manager_is_refused_naming_both_fixes() {
        let err = with_field_manager(&apply(), None).unwrap_err();
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
        assert_eq!(
            with_field_manager(&merge, None).unwrap().path_and_query(),
            "/x"
        );
    }
}
