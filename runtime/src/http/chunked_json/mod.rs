//! Decodes a JSON body straight from the chunks it arrived in, dropping each chunk once read.
//!
//! A list's body and its decoded objects are never both whole in memory: the body's top-level
//! object and the arrays in it (a list's `items`) are walked here, and each element is handed to
//! serde_json as one slice — of its chunk where it lies inside one, else copied out of the two or
//! three it spans. Nothing is copied into one buffer first. Everything serde_json decides (types,
//! numbers, escapes, errors) it still decides: only the outer object and arrays, which carry no
//! data of their own, are read here; their syntax is checked as strictly.
//!
//! Only two levels are walked (the body, and the arrays among its members), so the code
//! compiled for a response type is the type's own decoder plus one more copy of its top-level
//! visitor, and nothing here recurses on input.
//!
//! One difference remains, on the lenient side: serde_json counts nesting from the top of the
//! body (it stops at 128 levels for types that descend), while each element handed to it here
//! starts its count afresh, so an element nested 127 or 128 levels deep inside a list's `items`
//! decodes where serde_json over the whole body would stop. Every element's recursion is still
//! bounded by serde_json's limit.

mod access;
mod launder;
mod scan;
mod segments;
mod walk;

use std::fmt;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use launder::LaunderDe;
use segments::Segments;
use walk::{decode_slice, Walk, BODY};

/// A body that did not decode.
pub(crate) struct Failure {
    /// serde_json's error, with where in the body the value it was reading began.
    pub(crate) error: Box<dyn std::error::Error + Send + Sync>,
    /// The beginning of the body, for the error's excerpt.
    pub(crate) head: Bytes,
}

/// serde_json's error about a value that began at `at` in the body: its line and column count
/// from the value's start.
#[derive(Debug)]
struct ValueError {
    at: u64,
    error: serde_json::Error,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (in the value at byte {} of the body)",
            self.error, self.at
        )
    }
}

impl std::error::Error for ValueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Decodes `T` from a body read as `full` blocks and the `last` one (so that a body in one block
/// needs no list of blocks at all).
pub(crate) fn from_blocks<T: DeserializeOwned>(
    mut full: Vec<Bytes>,
    mut last: Bytes,
) -> Result<T, Failure> {
    if full.is_empty() {
        return decode(std::slice::from_mut(&mut last));
    }
    full.push(last);
    decode(&mut full)
}

/// Decodes `T` from a body in `chunks`.
#[cfg(test)]
pub(crate) fn from_chunks<T: DeserializeOwned>(mut chunks: Vec<Bytes>) -> Result<T, Failure> {
    decode(&mut chunks)
}

/// Decodes `T` from the body in `chunks`; a body in one chunk is one serde_json call over it.
fn decode<T: DeserializeOwned>(chunks: &mut [Bytes]) -> Result<T, Failure> {
    if let [only] = chunks {
        // The common case, a body in one block: serde_json over it, through the same laundered
        // decoder of `T` that the elements of a longer body go through (one copy of it).
        return decode_slice(only, |de| T::deserialize(LaunderDe::new(de))).map_err(|error| {
            Failure {
                error: Box::new(error),
                head: only.clone(),
            }
        });
    }
    let several = chunks.len() > 1;
    // The chunks of a body in several are released as it is decoded: its start is kept for the
    // error's excerpt (a real first block holds about 1 MiB).
    let head = match chunks {
        [first, _, ..] => {
            let limit = crate::error::status::EXCERPT_LIMIT * 4;
            Some(Bytes::copy_from_slice(&first[..first.len().min(limit)]))
        }
        _ => None,
    };
    let mut body = Segments::new(chunks);
    let error = match decode_body(&mut body) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    let failed_at = body.failed_at;
    Err(Failure {
        error: match failed_at {
            Some(at) if several => Box::new(ValueError { at, error }),
            _ => Box::new(error),
        },
        head: head.unwrap_or_else(|| chunks.first().cloned().unwrap_or_default()),
    })
}

fn decode_body<T: DeserializeOwned>(body: &mut Segments<'_>) -> Result<T, serde_json::Error> {
    let value = T::deserialize(Walk::<BODY>::new(body))?;
    match body.peek() {
        None => Ok(value),
        Some(_) => Err(body.syntax("trailing characters after the body's value")),
    }
}

#[cfg(test)]
mod tests;
