//! Paginated lists: `limit` + `continue`, one page's body in memory at a time, its items
//! decoded as they are asked for.

use std::collections::HashSet;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use serde::de::DeserializeOwned;
#[cfg(any(feature = "watcher", test))]
use serde::{Deserialize, Deserializer};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::http::chunked_json::Failure;
use crate::http::client::Client;
use crate::request::Request;
use crate::stream::list_page::{open_page, PageItems};

/// The page size a [`ListStream`] asks for when the request has no `limit`.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// The items of a list, across pages, as a `Stream`: the list is read `limit` items at a time
/// (500 unless the request already has a `limit`), following the server's `continue` token, so
/// memory holds one page's body however long the list. Each item is decoded from the body when
/// the stream is polled for it: a consumer that handles each item and lets it go never holds a
/// page of decoded objects.
///
/// All pages come from one consistent snapshot of the collection (the server's guarantee for
/// `continue`). The first page is fetched by the call that returns the stream, so a `403` or a
/// `404` is an error there; later pages are fetched as the stream is polled.
///
/// **A list that does not advance is an error.** A `continue` token that the server already
/// sent (the same one again, or any earlier one) or more than 100 empty pages in a row end the
/// stream with [`Error::Protocol`]: following them would send requests forever.
///
/// **A `410 Gone` ends the stream.** When a `continue` token has expired (etcd compacted the
/// snapshot, typically after ~5 minutes between pages), the stream yields one `Err(e)` with
/// `e.is_gone()` and ends. The items already yielded are not repeated by a restart, so what
/// to do is the caller's call: usually start the list again (or use the `watcher` feature's
/// `Watcher`, which re-lists by itself). Any other failure also yields `Err` and ends the stream;
/// an item that does not decode, or a page whose body breaks off, does so after the items
/// before it in the page.
///
/// A trait method returning `incluster::Result<incluster::ListStream<Item>>` on a LIST path gets
/// one; by hand:
///
/// ```no_run
/// use futures::TryStreamExt;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// pub struct ConfigMap {
///     pub metadata: Meta,
/// }
/// #[derive(Deserialize)]
/// pub struct Meta {
///     pub name: String,
/// }
///
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/namespaces/{namespace}/configmaps")
///     .path_param("namespace", "default")
///     .query("limit", &100)
///     .build()?;
/// let mut items = client.list_stream::<ConfigMap>(list).await?;
/// while let Some(cm) = items.try_next().await? {
///     println!("{}", cm.metadata.name);
/// }
/// # Ok(()) }
/// ```
pub struct ListStream<T> {
    client: Client,
    request: Request,
    progress: Progress,
    /// The items of the page being read (see `list_page`).
    items: PageItems,
    resource_version: String,
    next: Next,
    _item: PhantomData<fn() -> T>,
}

// Items are moved out, never pinned.
impl<T> Unpin for ListStream<T> {}

/// The body of a page on its way: the same future for every item type.
type PageFuture = Pin<Box<dyn Future<Output = Result<(Vec<Bytes>, Bytes)>> + Send>>;

enum Next {
    /// Fetch the page after this `continue` token when the items run out.
    Continue(String),
    /// A page is on its way.
    Fetching(PageFuture),
    /// The list (or the stream, after an error) is over.
    Done,
}

impl<T> std::fmt::Debug for ListStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListStream")
            .field("request", &self.request.to_string())
            .field("resource_version", &self.resource_version)
            .finish_non_exhaustive()
    }
}

/// One page of a list response, decoded whole (the `Watcher`'s lists).
#[cfg(any(feature = "watcher", test))]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) resource_version: String,
    pub(crate) continue_token: String,
}

#[cfg(any(feature = "watcher", test))]
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Page<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use crate::stream::list_page::ListMeta;
        #[derive(Deserialize)]
        #[serde(bound = "T: Deserialize<'de>")]
        struct Wire<T> {
            #[serde(default)]
            metadata: ListMeta,
            // `"items": null` is what an empty list of some resources looks like.
            #[serde(default)]
            items: Option<Vec<T>>,
        }
        let wire = Wire::<T>::deserialize(deserializer)?;
        Ok(Page {
            items: wire.items.unwrap_or_default(),
            resource_version: wire.metadata.resource_version,
            continue_token: wire.metadata.continue_token,
        })
    }
}

impl Request {
    /// This request with `name` set to `value` (replacing any earlier value).
    pub(crate) fn with_query(mut self, name: &str, value: &str) -> Request {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// This request without the query parameter `name`.
    pub(crate) fn without_query(mut self, name: &str) -> Request {
        self.query.retain(|(n, _)| n != name);
        self
    }

    /// Whether the request has the query parameter `name`.
    pub(crate) fn has_query(&self, name: &str) -> bool {
        self.query.iter().any(|(n, _)| n == name)
    }
}

/// Fetches one page: `request` with `continue` set to `token` (none for the first page).
#[cfg(feature = "watcher")]
pub(crate) async fn fetch_page<T: DeserializeOwned>(
    client: &Client,
    request: &Request,
    token: &str,
) -> Result<Page<T>> {
    client
        .json_as::<Page<T>>(&page_request(request, token), std::any::type_name::<T>())
        .await
}

/// `request` with `continue` set to `token` (none for the first page).
fn page_request(request: &Request, token: &str) -> Request {
    if token.is_empty() {
        request.clone().without_query("continue")
    } else {
        request.clone().with_query("continue", token)
    }
}

impl<T: DeserializeOwned + Send + 'static> ListStream<T> {
    /// Fetches the first page of `request` (adding `limit` if it has none).
    pub(crate) async fn start(client: Client, request: Request) -> Result<ListStream<T>> {
        let request = if request.has_query("limit") {
            request
        } else {
            request.with_query("limit", &DEFAULT_PAGE_SIZE.to_string())
        };
        let (full, last) = client.exchange_blocks(&page_request(&request, "")).await?;
        let mut stream = ListStream {
            client,
            request,
            progress: Progress::default(),
            items: PageItems::default(),
            resource_version: String::new(),
            next: Next::Done,
            _item: PhantomData,
        };
        stream.accept(full, last, true)?;
        Ok(stream)
    }
}

impl<T: DeserializeOwned> ListStream<T> {
    /// Takes in the body of the next (or the `first`) page: reads its list metadata and checks
    /// that the list advances; its items are decoded as they are asked for.
    fn accept(&mut self, full: Vec<Bytes>, last: Bytes, first: bool) -> Result<()> {
        let mut page = open_page(full, last).map_err(|failure| self.decode_error(failure))?;
        let token = page.metadata.continue_token;
        let empty = page.items.is_empty();
        tracing::debug!(request = %self.request, empty, more = !token.is_empty(), "list page");
        self.progress.check(&self.request, empty, &token)?;
        if first {
            // The snapshot's: every page is read at it.
            self.resource_version = page.metadata.resource_version;
        }
        self.items = page.items;
        self.next = if token.is_empty() {
            Next::Done
        } else {
            Next::Continue(token)
        };
        Ok(())
    }

    /// The error of a page that did not decode.
    fn decode_error(&self, failure: Failure) -> Error {
        Error::decode(
            &self.request,
            std::any::type_name::<T>(),
            failure.error,
            &failure.head,
        )
    }
}

/// Most empty pages in a row a list may send before it is given up as not advancing.
pub(crate) const MAX_EMPTY_PAGES: u32 = 100;

/// Checks that a paginated list advances: each `continue` token is new, and empty pages do not
/// go on and on. Keeps one 64-bit hash per page, never a token.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    seen: HashSet<u64>,
    empty_in_a_row: u32,
    hasher: std::collections::hash_map::RandomState,
}

impl Progress {
    /// Takes in a page (`empty`: without items) whose `continue` token is `token`.
    pub(crate) fn check(&mut self, request: &Request, empty: bool, token: &str) -> Result<()> {
        if token.is_empty() {
            return Ok(());
        }
        let mut hasher = self.hasher.build_hasher();
        hasher.write(token.as_bytes());
        if !self.seen.insert(hasher.finish()) {
            return Err(Error::Protocol {
                request: request.to_string(),
                message: format!(
                    "page {} of the list carries a continue token the server already sent, so \
                     the list would never end; it was stopped (a broken server or proxy)",
                    self.seen.len() + 1
                ),
            });
        }
        self.empty_in_a_row = if empty { self.empty_in_a_row + 1 } else { 0 };
        if self.empty_in_a_row > MAX_EMPTY_PAGES {
            return Err(Error::Protocol {
                request: request.to_string(),
                message: format!(
                    "the server sent {} empty pages in a row, each with a new continue token; \
                     the list was stopped",
                    self.empty_in_a_row
                ),
            });
        }
        Ok(())
    }
}

impl<T> ListStream<T> {
    /// The `resourceVersion` of the list's snapshot: start a watch from it to see every change
    /// after the list.
    ///
    /// ```no_run
    /// # async fn run(client: incluster::Client, request: incluster::Request) -> incluster::Result<()> {
    /// let items = client.list_stream::<serde_json::Value>(request).await?;
    /// println!("listed at resourceVersion {}", items.resource_version());
    /// # Ok(()) }
    /// ```
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }
}

impl<T: DeserializeOwned + Send + 'static> Stream for ListStream<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.items.next_item() {
                Ok(Some(item)) => return Poll::Ready(Some(Ok(item))),
                Ok(None) => {}
                Err(failure) => {
                    this.items = PageItems::default();
                    this.next = Next::Done;
                    return Poll::Ready(Some(Err(this.decode_error(failure))));
                }
            }
            match &mut this.next {
                Next::Done => return Poll::Ready(None),
                Next::Continue(token) => {
                    let (client, request) =
                        (this.client.clone(), page_request(&this.request, token));
                    this.next =
                        Next::Fetching(Box::pin(
                            async move { client.exchange_blocks(&request).await },
                        ));
                }
                Next::Fetching(page) => match std::task::ready!(page.as_mut().poll(cx)) {
                    Ok((full, last)) => {
                        if let Err(err) = this.accept(full, last, false) {
                            this.next = Next::Done;
                            return Poll::Ready(Some(Err(err)));
                        }
                    }
                    Err(err) => {
                        this.next = Next::Done;
                        if err.is_gone() {
                            tracing::debug!(request = %this.request, "continue token expired (410); the list stream ends");
                        }
                        return Poll::Ready(Some(Err(err)));
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_decode_with_null_or_missing_items() {
        let page: Page<u32> = serde_json::from_str(
            r#"{"kind":"List","metadata":{"resourceVersion":"5","continue":"abc"},"items":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(
            (
                page.items,
                page.resource_version.as_str(),
                page.continue_token.as_str()
            ),
            (vec![1, 2], "5", "abc")
        );
        let page: Page<u32> = serde_json::from_str(r#"{"metadata":{},"items":null}"#).unwrap();
        assert!(page.items.is_empty() && page.continue_token.is_empty());
        let page: Page<u32> = serde_json::from_str(r#"{}"#).unwrap();
        assert!(page.items.is_empty());
    }

    #[test]
    fn a_list_that_does_not_advance_is_refused() {
        let request = Request::builder(crate::Method::GET, "/api/v1/configmaps")
            .build()
            .unwrap();
        let mut progress = Progress::default();
        progress.check(&request, false, "a").unwrap();
        progress.check(&request, false, "b").unwrap();
        progress.check(&request, false, "").unwrap();
        let err = progress.check(&request, false, "a").unwrap_err();
        assert!(matches!(err, Error::Protocol { .. }), "{err}");
        let mut progress = Progress::default();
        for n in 0..MAX_EMPTY_PAGES {
            progress.check(&request, true, &n.to_string()).unwrap();
        }
        assert!(matches!(
            progress.check(&request, true, "last"),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn query_helpers_replace_values() {
        let request = Request::builder(crate::Method::GET, "/api")
            .query("limit", &5)
            .query("labelSelector", "a=b")
            .build()
            .unwrap()
            .with_query("limit", "7")
            .with_query("continue", "x");
        assert_eq!(
            request.path_and_query(),
            "/api?labelSelector=a%3Db&limit=7&continue=x"
        );
        assert!(request.has_query("continue"));
        assert_eq!(
            request.without_query("continue").path_and_query(),
            "/api?labelSelector=a%3Db&limit=7"
        );
    }

    #[test]
    fn list_stream_is_unpin_and_send() {
        fn check<S: Unpin + Send>() {}
        struct NotSync(PhantomData<std::cell::Cell<u8>>);
        check::<ListStream<NotSync>>();
        check::<crate::LineStream>();
        check::<crate::WatchStream<NotSync>>();
    }
}
