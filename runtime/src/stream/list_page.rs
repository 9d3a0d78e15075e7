//! One page of a list, its items decoded one at a time as they are asked for: a page's body and
//! all its decoded items are never in memory together, so a [`ListStream`](super::list::ListStream)
//! whose caller handles each item and lets it go holds a page's body and one item, not the page's
//! body and then its 500 decoded items.
//!
//! The page's `metadata` (its `continue` token and `resourceVersion`) is read before the first
//! item is handed out. Kubernetes writes it before `items` in lists of built-in types; lists of
//! custom resources have their keys sorted (`apiVersion`, `items`, `kind`, `metadata`), so there
//! the reader looks ahead for it, skipping over the items once (their JSON syntax only), and then
//! comes back to decode them.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::http::chunked_json::{Failure, NotAnObject, ObjectReader};

/// A list's `metadata`: what paging needs of it.
#[derive(Deserialize, Default)]
pub(crate) struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    pub(crate) resource_version: String,
    #[serde(rename = "continue", default)]
    pub(crate) continue_token: String,
}

/// A page whose list metadata has been read.
pub(crate) struct OpenPage {
    pub(crate) metadata: ListMeta,
    pub(crate) items: PageItems,
}

/// The items of a page still to be handed out.
#[derive(Default)]
pub(crate) struct PageItems {
    /// The page, read up to the next item (inside its `items` array, or just after an `items`
    /// that is `null`); `None` once the page is over.
    page: Option<Box<ObjectReader>>,
    /// The page's `metadata` came before its `items`, so one after them is a second one.
    metadata_first: bool,
}

/// Starts reading the page in `full` blocks and the `last` one: its members up to `items`, and
/// its `metadata` wherever it is. (`#[inline]`, as the reader's methods: compiled only by a
/// program that uses a `ListStream`.)
#[inline]
pub(crate) fn open_page(full: Vec<bytes::Bytes>, last: bytes::Bytes) -> Result<OpenPage, Failure> {
    let mut page = ObjectReader::open(full, last).map_err(not_a_list)?;
    let mut metadata: Option<ListMeta> = None;
    while let Some(name) = page.next_member()? {
        match name.as_str() {
            "metadata" if metadata.is_some() => {
                return Err(page.refuse("duplicate field `metadata`"))
            }
            "metadata" => metadata = Some(page.value()?),
            "items" => {
                let metadata_first = metadata.is_some();
                let metadata = match metadata {
                    Some(metadata) => metadata,
                    None => page.look_ahead("metadata")?.unwrap_or_default(),
                };
                if !page.enter_array() {
                    // `"items": null` is what an empty list of some resources looks like; any
                    // other value that is not an array is serde_json's error about a sequence.
                    page.value::<Option<Vec<IgnoredAny>>>()?;
                }
                return Ok(OpenPage {
                    metadata,
                    items: PageItems {
                        page: Some(Box::new(page)),
                        metadata_first,
                    },
                });
            }
            _ => {
                page.value::<IgnoredAny>()?;
            }
        }
    }
    // No `items` at all: an empty page.
    Ok(OpenPage {
        metadata: metadata.unwrap_or_default(),
        items: PageItems::default(),
    })
}

impl PageItems {
    /// The next item; `None` once the page is over (its members after `items` read and checked).
    pub(crate) fn next_item<T: DeserializeOwned>(&mut self) -> Result<Option<T>, Failure> {
        let Some(page) = &mut self.page else {
            return Ok(None);
        };
        if let Some(item) = page.next_element()? {
            return Ok(Some(item));
        }
        // The members after `items`; a `metadata` among them was read by looking ahead.
        let mut metadata_seen = self.metadata_first;
        while let Some(name) = page.next_member()? {
            match name.as_str() {
                "items" => return Err(page.refuse("duplicate field `items`")),
                "metadata" if metadata_seen => {
                    return Err(page.refuse("duplicate field `metadata`"))
                }
                "metadata" => {
                    metadata_seen = true;
                    page.value::<IgnoredAny>()?;
                }
                _ => {
                    page.value::<IgnoredAny>()?;
                }
            }
        }
        self.page = None;
        Ok(None)
    }

    /// Whether the page has no items (left), found without decoding one.
    #[inline]
    pub(crate) fn is_empty(&mut self) -> bool {
        self.page.as_mut().is_none_or(|page| page.array_is_at_end())
    }
}

/// The failure of a body whose value is not an object.
#[inline]
fn not_a_list(body: NotAnObject) -> Failure {
    let message = if body.empty {
        "the body is empty where a list (a JSON object) was expected"
    } else {
        "the body is not a JSON object, so not a list"
    };
    Failure {
        error: message.into(),
        head: body.head,
    }
}

#[cfg(test)]
mod tests;
