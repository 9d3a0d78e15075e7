//! One page of a list, its items decoded one at a time as they are asked for: a page's body and
//! all its decoded items are never in memory together, so a [`ListStream`](super::list::ListStream)
//! whose caller handles each item and lets it go holds a page's body and one item, not the page's
//! body and then its 500 decoded items.
//!
//! Kubernetes writes a list's `metadata` (with the `continue` token) before its `items`, so the
//! next page is known before the first item is handed out. A page written the other way round
//! (no server does; a proxy could) is decoded whole, as before.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;

use crate::http::chunked_json::{Failure, ObjectReader};

/// A list's `metadata`: what paging needs of it.
#[derive(Deserialize, Default)]
pub(crate) struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    pub(crate) resource_version: String,
    #[serde(rename = "continue", default)]
    pub(crate) continue_token: String,
}

/// A page whose list metadata has been read.
pub(crate) struct OpenPage<T> {
    pub(crate) metadata: ListMeta,
    pub(crate) items: PageItems<T>,
}

/// The items of a page still to be handed out.
pub(crate) enum PageItems<T> {
    /// Decoded already (a page whose `items` came before its `metadata`, or were `null`).
    Decoded(std::vec::IntoIter<T>),
    /// Decoded from the body one by one: the reader stands inside the `items` array.
    Reading(Box<ObjectReader>),
}

/// Starts reading the page in `full` blocks and the `last` one: its members up to `items`.
pub(crate) fn open_page<T: DeserializeOwned>(
    full: Vec<bytes::Bytes>,
    last: bytes::Bytes,
) -> Result<OpenPage<T>, Failure> {
    let mut page = match ObjectReader::open(full, last) {
        Ok(reader) => reader,
        Err((full, last)) => return Err(not_a_list(&full, &last)),
    };
    let mut metadata: Option<ListMeta> = None;
    let mut items: Option<Vec<T>> = None;
    while let Some(name) = page.next_member()? {
        match name.as_str() {
            "metadata" if metadata.is_some() => {
                return Err(page.refuse("duplicate field `metadata`"))
            }
            "metadata" => metadata = Some(page.value()?),
            "items" if items.is_some() => return Err(page.refuse("duplicate field `items`")),
            "items" => {
                if metadata.is_some() && page.enter_array() {
                    return Ok(OpenPage {
                        metadata: metadata.unwrap_or_default(),
                        items: PageItems::Reading(Box::new(page)),
                    });
                }
                // `"items": null` is what an empty list of some resources looks like.
                items = Some(page.value::<Option<Vec<T>>>()?.unwrap_or_default());
            }
            _ => {
                page.value::<IgnoredAny>()?;
            }
        }
    }
    Ok(OpenPage {
        metadata: metadata.unwrap_or_default(),
        items: PageItems::Decoded(items.unwrap_or_default().into_iter()),
    })
}

impl<T: DeserializeOwned> PageItems<T> {
    /// The next item; `None` once the page is over (its members after `items` read and checked).
    pub(crate) fn next_item(&mut self) -> Result<Option<T>, Failure> {
        let page = match self {
            PageItems::Decoded(items) => return Ok(items.next()),
            PageItems::Reading(page) => page,
        };
        if let Some(item) = page.next_element()? {
            return Ok(Some(item));
        }
        // The members after `items`: both the page's own were read before it.
        while let Some(name) = page.next_member()? {
            match name.as_str() {
                "metadata" | "items" => {
                    return Err(page.refuse(&format!("duplicate field `{name}`")));
                }
                _ => {
                    page.value::<IgnoredAny>()?;
                }
            }
        }
        *self = PageItems::Decoded(Vec::new().into_iter());
        Ok(None)
    }

    /// Whether the page has no items (left), read without decoding one.
    pub(crate) fn is_empty(&mut self) -> bool {
        match self {
            PageItems::Decoded(items) => items.as_slice().is_empty(),
            PageItems::Reading(page) => page.array_is_at_end(),
        }
    }
}

/// The failure of a body whose value is not an object.
fn not_a_list(full: &[bytes::Bytes], last: &bytes::Bytes) -> Failure {
    let head = full.first().unwrap_or(last).clone();
    let message = if full.iter().chain([last]).all(|chunk| {
        chunk
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\n' | b'\r' | b'\t'))
    }) {
        "the body is empty where a list (a JSON object) was expected"
    } else {
        "the body is not a JSON object, so not a list"
    };
    Failure {
        error: message.into(),
        head,
    }
}

#[cfg(test)]
mod tests;
