//! Metadata-only lists and watches (`PartialObjectMetadata`): the server sends each object's
//! `metadata` and nothing else, so watching every ConfigMap or Secret of a cluster holds names
//! and labels, not data.

use serde::{Deserialize, Serialize};

use super::meta::{Object, ObjectMeta};
use crate::http::client::Client;
use crate::request::Request;
use crate::watcher::Watcher;

/// The `Accept` header that asks a LIST for metadata only (`PartialObjectMetadataList`; plain
/// JSON as the last resort of servers without the transformation). kube-apiserver wants the
/// object form (`PartialObjectMetadata`, [`WATCH_ACCEPT`]) on a watch of the same list — it
/// answers a watch asking for the list form with no events at all, and a list asking for the
/// object form with `406` — so the client sends [`WATCH_ACCEPT`] instead on every `watch=true`
/// request that carries this header (a watcher's list and watch requests are one `Request`).
pub const ACCEPT: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";

/// The `Accept` header of a metadata-only watch (see [`ACCEPT`]).
pub const WATCH_ACCEPT: &str =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json";

/// `meta.k8s.io/v1` `PartialObjectMetadata`: an object's metadata without its body.
///
/// ```
/// use incluster::controller::{Object, PartialObjectMetadata};
/// let object: PartialObjectMetadata = serde_json::from_value(serde_json::json!({
///     "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
///     "metadata": {"name": "a", "namespace": "b", "labels": {"x": "y"}},
/// }))?;
/// assert_eq!(object.metadata().labels["x"], "y");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialObjectMetadata {
    /// `apiVersion` (`meta.k8s.io/v1`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `kind` (`PartialObjectMetadata`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

impl Object for PartialObjectMetadata {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// `list` (a LIST request) asking for metadata only.
///
/// ```
/// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/configmaps").build()?;
/// let list = incluster::controller::metadata_only(list);
/// # Ok::<(), incluster::Error>(())
/// ```
pub fn metadata_only(mut list: Request) -> Request {
    list.headers.insert(
        reqwest::header::ACCEPT,
        reqwest::header::HeaderValue::from_static(ACCEPT),
    );
    list
}

/// Whether `request` is a watch of a metadata-only list: it is sent asking for the watch form
/// of that `Accept` ([`WATCH_ACCEPT`]).
pub(crate) fn is_metadata_watch(request: &Request) -> bool {
    let is_watch = request
        .query
        .iter()
        .any(|(n, v)| n == "watch" && v == "true");
    is_watch
        && request
            .headers
            .get(reqwest::header::ACCEPT)
            .is_some_and(|accept| accept.as_bytes() == ACCEPT.as_bytes())
}

/// A [`Watcher`] of the metadata of the objects `list` reads (kube-rs' `metadata_watcher`).
///
/// ```no_run
/// # fn f(client: incluster::Client) -> incluster::Result<()> {
/// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/configmaps").build()?;
/// let configmaps = incluster::controller::metadata_watcher(client, list);
/// # Ok(()) }
/// ```
pub fn metadata_watcher(client: Client, list: Request) -> Watcher<PartialObjectMetadata> {
    Watcher::new(client, metadata_only(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Method;

    #[test]
    fn a_watch_of_a_metadata_only_list_asks_for_the_object_form() {
        let list = metadata_only(
            Request::builder(Method::GET, "/api/v1/configmaps")
                .build()
                .unwrap(),
        );
        assert!(!is_metadata_watch(&list), "a list keeps the list form");
        assert!(is_metadata_watch(&list.clone().with_query("watch", "true")));
        let plain = Request::builder(Method::GET, "/api/v1/configmaps")
            .build()
            .unwrap();
        assert!(!is_metadata_watch(&plain.with_query("watch", "true")));
    }
}
