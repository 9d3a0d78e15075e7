//! A body whose top-level object is read one member at a time, and one array member one element at
//! a time, between calls: what lets a list page hand out its items as they are decoded, so that a
//! page's body and its decoded items are never all in memory together.

use bytes::Bytes;
use serde::de::{DeserializeOwned, MapAccess, SeqAccess};

use super::scan::is_whitespace;
use super::segments::{Place, Segments};
use super::{Entries, Failure, Open, ValueError};

/// A JSON object read member by member (see the module's doc). Each method reads on from where
/// the last one stopped; after an error, nothing more should be read.
pub(crate) struct ObjectReader {
    chunks: Vec<Bytes>,
    at: Place,
    object: Open,
    /// The array member being read element by element, if any.
    array: Option<Open>,
    /// The beginning of the body, for an error's excerpt.
    head: Bytes,
}

impl ObjectReader {
    /// Starts reading the body of the `full` blocks and the `last` one; gives them back when its
    /// value is not an object (or there is none).
    pub(crate) fn open(full: Vec<Bytes>, last: Bytes) -> Result<ObjectReader, (Vec<Bytes>, Bytes)> {
        let first = full
            .iter()
            .chain([&last])
            .flat_map(|chunk| chunk.iter())
            .find(|byte| !is_whitespace(**byte));
        if first != Some(&b'{') {
            return Err((full, last));
        }
        // The blocks of a body in several are released as it is read: its start is kept for an
        // error's excerpt (a body in one block is held until the reader goes).
        let head = match full.first() {
            Some(first) => {
                let limit = crate::error::status::EXCERPT_LIMIT * 4;
                Bytes::copy_from_slice(&first[..first.len().min(limit)])
            }
            None => last.clone(),
        };
        let mut chunks = full;
        chunks.push(last);
        let mut body = Segments::new(&mut chunks);
        body.peek();
        let object = Entries::open(&mut body, b'}', "object").open;
        let at = body.at;
        Ok(ObjectReader {
            chunks,
            at,
            object,
            array: None,
            head,
        })
    }

    /// Runs `read` on the body from where reading stopped, and keeps where it stops.
    fn with_body<R>(&mut self, read: impl FnOnce(&mut Segments<'_>) -> R) -> R {
        let mut body = Segments::resume(&mut self.chunks, self.at);
        let result = read(&mut body);
        self.at = body.at;
        result
    }

    /// serde_json's `error`, with where the value it was decoding began.
    fn failure(&self, error: serde_json::Error) -> Failure {
        Failure {
            error: match self.at.failed_at {
                Some(at) => Box::new(ValueError { at, error }),
                None => Box::new(error),
            },
            head: self.head.clone(),
        }
    }

    /// A failure of the body's, `what` was wrong at the read position.
    pub(crate) fn refuse(&mut self, what: &str) -> Failure {
        let error = self.with_body(|body| body.syntax(what));
        self.failure(error)
    }

    /// The next member's name; `None` once the object has ended and nothing but whitespace
    /// follows it.
    pub(crate) fn next_member(&mut self) -> Result<Option<String>, Failure> {
        let mut object = self.object;
        let name = self.with_body(|body| {
            let mut members = Entries { body, open: object };
            let name = (&mut members).next_key::<String>();
            object = members.open;
            match name? {
                Some(name) => Ok(Some(name)),
                None => match body.peek() {
                    None => Ok(None),
                    Some(_) => Err(body.syntax("trailing characters after the body's value")),
                },
            }
        });
        self.object = object;
        name.map_err(|error| self.failure(error))
    }

    /// Decodes the value of the member just named.
    pub(crate) fn value<V: DeserializeOwned>(&mut self) -> Result<V, Failure> {
        let object = self.object;
        self.with_body(|body| (&mut Entries { body, open: object }).next_value::<V>())
            .map_err(|error| self.failure(error))
    }

    /// If the value of the member just named is an array, starts reading it element by element
    /// ([`ObjectReader::next_element`]) and returns `true`; else reads nothing.
    pub(crate) fn enter_array(&mut self) -> bool {
        let array = self.with_body(|body| {
            (body.peek() == Some(b'[')).then(|| Entries::open(body, b']', "array").open)
        });
        self.array = array;
        array.is_some()
    }

    /// Whether the array being read has no elements left (peeked: nothing is read).
    pub(crate) fn array_is_at_end(&mut self) -> bool {
        match self.array {
            Some(array) => self.with_body(|body| body.peek() == Some(array.closer)),
            None => true,
        }
    }

    /// Decodes the next element of the array entered; `None` once it has ended (its member's
    /// value is then read, and [`ObjectReader::next_member`] goes on).
    pub(crate) fn next_element<T: DeserializeOwned>(&mut self) -> Result<Option<T>, Failure> {
        let Some(mut array) = self.array else {
            return Ok(None);
        };
        let element = self.with_body(|body| {
            let mut elements = Entries { body, open: array };
            let element = (&mut elements).next_element::<T>();
            array = elements.open;
            element
        });
        self.array = (!array.done).then_some(array);
        element.map_err(|error| self.failure(error))
    }
}
