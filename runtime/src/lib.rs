//! # incluster
//!
//! The shortest safe path from code in a Pod to the Kubernetes API: annotate a trait, get a typed
//! client that finds the API server, trusts only the Pod's `ca.crt`, and follows token rotation.
//!
//! ```no_run
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! pub struct ConfigMap {
//!     pub data: Option<std::collections::BTreeMap<String, String>>,
//! }
//!
//! #[incluster::in_cluster_client]
//! pub trait ConfigMaps {
//!     /// Read one ConfigMap in the Pod's own namespace.
//!     #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
//!     async fn get(&self, name: &str) -> incluster::Result<ConfigMap>;
//! }
//!
//! # async fn run() -> incluster::Result<()> {
//! let configmaps = ConfigMapsClient::in_cluster()?;
//! match configmaps.get("settings").await {
//!     Ok(cm) => println!("{:?}", cm.data),
//!     Err(err) if err.is_not_found() => println!("no settings yet"),
//!     Err(err) => return Err(err),
//! }
//! # Ok(()) }
//! ```
//!
//! Outside a cluster, run `kubectl proxy` and use [`Config::proxy`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod patch;
mod path;
mod query;
mod request;
mod secret;
mod status;
mod tls;
mod token;
mod transport_error;
mod watch;

pub use client::{Client, Response};
pub use config::{Config, SERVICE_ACCOUNT_DIR};
pub use error::{Error, Result};
pub use incluster_macros::in_cluster_client;
pub use patch::Patch;
pub use query::{ParamValue, QueryValue};
pub use request::{HeaderArg, Method, Request, RequestBuilder};
pub use status::{Status, StatusCause, StatusDetails};
pub use watch::{Bookmark, WatchEvent, WatchStream};

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// What generated clients call. Not a public API: names here change without notice.
///
/// The functions spell out `impl Future + Send` (rather than `async fn`) so that the `Send`
/// guarantee generated methods promise is checked here, once.
#[doc(hidden)]
#[allow(clippy::manual_async_fn)]
pub mod __private {
    pub use crate::client::Client;
    pub use crate::error::Result;
    pub use crate::request::{Method, Request};
    pub use ::core::future::Future;

    /// Sends `request` (if it was built) and decodes a JSON response into `T`.
    pub fn json<T: serde::de::DeserializeOwned>(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<T>> + Send + '_ {
        async move { client.json(request?).await }
    }

    /// Sends `request` (if it was built) and returns the response body as text.
    pub fn text(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<String>> + Send + '_ {
        async move { client.text(request?).await }
    }

    /// Sends a watch `request` (if it was built) and returns its events as a stream.
    pub fn watch<T: serde::de::DeserializeOwned + Send + 'static>(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<crate::watch::WatchStream<T>>> + Send + '_ {
        async move { client.watch(request?).await }
    }

    /// Sends `request` (if it was built) and ignores the body of its 2xx response.
    pub fn empty(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        async move { client.empty(request?).await }
    }
}
