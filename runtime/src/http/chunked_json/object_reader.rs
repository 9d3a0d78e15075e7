//! A body whose top-level object is read one member at a time, and one array member one element at
//! a time, between calls: what lets a list page hand out its items as they are decoded, so that a
//! page's body and its decoded items are never all in memory together.

use bytes::Bytes;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess};

use super::scan::is_whitespace;
use super::segments::{Place, Segments};
use super::{excerpt_head, Entries, Failure, Open, ValueError};

/// A body whose value is not an object.
pub(crate) struct NotAnObject {
    /// The body is empty or only whitespace.
    pub(crate) empty: bool,
    /// Its first block, for an error's excerpt.
    pub(crate) head: Bytes,
}

/// A JSON object read member by member (see the module's doc). Each method reads on from where
/// the last one stopped; after an error, nothing more should be read. The methods are
/// `#[inline]`: only a program that reads lists this way compiles them (`ListStream` is generic),
/// not every user of the library.
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
    /// Starts reading the body of the `full` blocks and the `last` one, if its value is an object.
    #[inline]
    pub(crate) fn open(full: Vec<Bytes>, last: Bytes) -> Result<ObjectReader, NotAnObject> {
        let first = full
            .iter()
            .chain([&last])
            .flat_map(|chunk| chunk.iter())
            .find(|byte| !is_whitespace(**byte));
        if first != Some(&b'{') {
            return Err(NotAnObject {
                empty: first.is_none(),
                head: full.into_iter().next().unwrap_or(last),
            });
        }
        // The blocks of a body in several are released as it is read: its start is kept for an
        // error's excerpt (a body in one block is held until the reader goes).
        let head = match full.first() {
            Some(first) => excerpt_head(first),
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
    #[inline]
    fn with_body<R>(&mut self, read: impl FnOnce(&mut Segments<'_>) -> R) -> R {
        let mut body = Segments::resume(&mut self.chunks, self.at);
        let result = read(&mut body);
        self.at = body.at;
        result
    }

    /// serde_json's `error`, with where the value it was decoding began.
    #[inline]
    fn failure(&self, error: serde_json::Error) -> Failure {
        self.failure_at(self.at.failed_at, error)
    }

    /// serde_json's `error`, about a value that began at `failed_at` if known.
    #[inline]
    fn failure_at(&self, failed_at: Option<u64>, error: serde_json::Error) -> Failure {
        Failure {
            error: ValueError::boxed(failed_at, error),
            head: self.head.clone(),
        }
    }

    /// A failure of the body's, `what` was wrong at the read position.
    #[inline]
    pub(crate) fn refuse(&mut self, what: &str) -> Failure {
        let error = self.with_body(|body| body.syntax(what));
        self.failure(error)
    }

    /// The next member's name; `None` once the object has ended and nothing but whitespace
    /// follows it.
    #[inline]
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
    #[inline]
    pub(crate) fn value<V: DeserializeOwned>(&mut self) -> Result<V, Failure> {
        let object = self.object;
        self.with_body(|body| (&mut Entries { body, open: object }).next_value::<V>())
            .map_err(|error| self.failure(error))
    }

    /// The value of the member `name` among those after the member just named, decoded without
    /// reading on: what is read here is read again (from the same blocks, which are kept) by the
    /// calls that follow. `None` if the object has no such member after it. Only the object's
    /// syntax and the value of `name` are checked on the way.
    #[inline]
    pub(crate) fn look_ahead<V: DeserializeOwned>(&self, name: &str) -> Result<Option<V>, Failure> {
        let mut chunks = self.chunks.clone();
        let mut body = Segments::resume(&mut chunks, self.at);
        let mut members = Entries {
            body: &mut body,
            open: self.object,
        };
        let found = (|| {
            (&mut members).next_value::<IgnoredAny>()?;
            while let Some(member) = (&mut members).next_key::<String>()? {
                if member == name {
                    return (&mut members).next_value::<V>().map(Some);
                }
                (&mut members).next_value::<IgnoredAny>()?;
            }
            Ok(None)
        })();
        let failed_at = body.at.failed_at;
        found.map_err(|error| self.failure_at(failed_at, error))
    }

    /// If the value of the member just named is an array, starts reading it element by element
    /// ([`ObjectReader::next_element`]) and returns `true`; else reads no further than the value.
    #[inline]
    pub(crate) fn enter_array(&mut self) -> bool {
        let array = self.with_body(|body| {
            (body.peek() == Some(b'[')).then(|| Entries::open(body, b']', "array").open)
        });
        self.array = array;
        array.is_some()
    }

    /// Whether the array being read has no elements left (peeked: no further than the next one).
    #[inline]
    pub(crate) fn array_is_at_end(&mut self) -> bool {
        match self.array {
            Some(array) => self.with_body(|body| body.peek() == Some(array.closer)),
            None => true,
        }
    }

    /// Decodes the next element of the array entered; `None` once it has ended (its member's
    /// value is then read, and [`ObjectReader::next_member`] goes on).
    #[inline]
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
