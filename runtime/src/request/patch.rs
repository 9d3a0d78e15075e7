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
