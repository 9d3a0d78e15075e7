#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// How a user names things (the rule, for every module added later, is in README.md,
// "Public paths"):
// 1. the client core at the root;
// 2. each feature area a public module holding all its items;
// 3. at the root too, only a feature type that a generated method returns.

// The architecture, private: its public types are re-exported at the root below.
mod discovery;
mod error;
mod http;
mod request;
mod stream;
mod tls;

// Feature areas: one public module each, holding every public item of the area.
#[cfg(feature = "controller")]
pub mod controller;
#[cfg(feature = "leader-election")]
pub mod leader;
pub mod metrics;
pub mod rbac;
pub mod time;
#[cfg(feature = "watcher")]
pub mod watcher;

// The client core: discovery and configuration, the client, requests, errors.
pub use discovery::config::{
    Config, InClusterOptions, DEFAULT_MAX_ERROR_BYTES, DEFAULT_MAX_RESPONSE_BYTES,
    SERVICE_ACCOUNT_DIR,
};
pub use error::status::{Status, StatusCause, StatusDetails};
pub use error::{BoxError, Error, Result};
pub use http::client::{Client, Response};
pub use http::retry::Retry;
#[doc = include_str!("vocabulary.md")]
pub use incluster_macros::in_cluster_client;
pub use request::patch::Patch;
pub use request::query::ParamValue;
pub use request::{Method, Request, RequestBuilder};
// The client core: the stream types a generated method returns, and what they yield.
pub use stream::lines::{LineStream, CUT_MARKER, DEFAULT_MAX_LINE_BYTES};
pub use stream::list::{ListStream, DEFAULT_PAGE_SIZE};
pub use stream::watch::{Bookmark, WatchEvent, WatchStream};
// A feature type a generated method returns (`-> incluster::Result<incluster::Watcher<T>>`),
// so it is spelled like the stream types; `incluster::watcher::Watcher` is the same type.
#[cfg(feature = "watcher")]
pub use watcher::Watcher;

/// What generated clients call. Not a public API: names here change without notice.
///
/// The functions spell out `impl Future + Send` (rather than `async fn`) so that the `Send`
/// guarantee generated methods promise is checked here, once.
#[doc(hidden)]
#[allow(clippy::manual_async_fn)]
pub mod __private {
    pub use crate::error::Result;
    pub use crate::http::client::Client;
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
    ) -> impl Future<Output = Result<crate::stream::watch::WatchStream<T>>> + Send + '_ {
        async move { client.watch(request?).await }
    }

    /// Sends a LIST `request` (if it was built) and returns its items across pages as a stream.
    pub fn list_stream<T: serde::de::DeserializeOwned + Send + 'static>(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<crate::stream::list::ListStream<T>>> + Send + '_ {
        async move { client.list_stream(request?).await }
    }

    /// A watcher of the collection the LIST `request` (if it was built) reads; no I/O yet.
    #[cfg(feature = "watcher")]
    pub fn watcher<T: serde::de::DeserializeOwned + Send + 'static>(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<crate::watcher::Watcher<T>>> + Send + '_ {
        async move { Ok(client.watcher(request?)) }
    }

    /// Sends `request` (if it was built) and returns the lines of its response as a stream.
    pub fn lines(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<crate::stream::lines::LineStream>> + Send + '_ {
        async move { client.lines(request?).await }
    }

    /// A [`WatchStream`](crate::WatchStream) over bytes already in memory (benchmarks, fuzzing):
    /// the same line splitter and decoder as a live watch.
    pub fn watch_stream_from_chunks<T: serde::de::DeserializeOwned + Send + 'static>(
        chunks: Vec<bytes::Bytes>,
    ) -> crate::stream::watch::WatchStream<T> {
        crate::stream::watch::WatchStream::from_chunks(chunks)
    }

    /// Sends `request` (if it was built) and ignores the body of its 2xx response.
    pub fn empty(
        client: &Client,
        request: Result<Request>,
    ) -> impl Future<Output = Result<()>> + Send + '_ {
        async move { client.send_ignoring_body(request?).await }
    }
}
