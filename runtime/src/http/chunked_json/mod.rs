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

mod launder;
mod object_reader;
mod scan;
mod segments;

pub(crate) use object_reader::{NotAnObject, ObjectReader};

use std::fmt;

use bytes::Bytes;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::de::SliceRead;

use launder::{Launder, LaunderDe, LaunderSeed};
use scan::is_whitespace;
use segments::{Next, Segments};

/// What serde_json names its raw-value newtype; such a value is always decoded whole.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A body that did not decode.
#[cfg_attr(test, derive(Debug))]
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

impl ValueError {
    /// serde_json's `error`, saying where the value began when that is known (`at`).
    /// (`#[inline]`, as `excerpt_head`: out of line, the two helpers cost the minimal reader
    /// program 8.7 KB of stripped size through other code-generation choices; inline, the
    /// binary is byte for byte what it was before they were shared.)
    #[inline]
    fn boxed(
        at: Option<u64>,
        error: serde_json::Error,
    ) -> Box<dyn std::error::Error + Send + Sync> {
        match at {
            Some(at) => Box::new(ValueError { at, error }),
            None => Box::new(error),
        }
    }
}

/// A copy of the start of a body's first `block`, kept for an error's excerpt while the blocks
/// are released as they are read.
#[inline]
fn excerpt_head(block: &Bytes) -> Bytes {
    let limit = crate::error::status::EXCERPT_LIMIT * 4;
    Bytes::copy_from_slice(&block[..block.len().min(limit)])
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
    // error's excerpt.
    let head = match chunks {
        [first, _, ..] => Some(excerpt_head(first)),
        _ => None,
    };
    let mut body = Segments::new(chunks);
    let error = match decode_body(&mut body) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    Err(Failure {
        error: ValueError::boxed(body.at.failed_at.filter(|_| several), error),
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

/// The body's top-level value: its objects and arrays are walked; it runs to the body's end.
const BODY: u8 = 0;
/// A member of the body's top-level object: arrays are walked.
const MEMBER: u8 = 1;
/// An element of a walked array: decoded whole.
const ELEMENT: u8 = 2;

impl Segments<'_> {
    /// A syntax error at the read position.
    fn syntax(&self, what: &str) -> serde_json::Error {
        de::Error::custom(format_args!("{what} at byte {} of the body", self.offset()))
    }

    /// The body ended inside the `kind` (object or array) that began at `start`.
    fn ended_inside(&self, kind: &str, start: u64) -> serde_json::Error {
        de::Error::custom(format_args!(
            "the body ended inside the {kind} at byte {start} of the body"
        ))
    }

    /// Decodes the next value whole with serde_json: `f` runs on a decoder over its bytes.
    fn decode_whole<R>(
        &mut self,
        next: Next,
        f: impl FnOnce(&mut serde_json::Deserializer<SliceRead<'_>>) -> Result<R, serde_json::Error>,
    ) -> Result<R, serde_json::Error> {
        let start = self.offset();
        let result = match next {
            Next::Fits(end) => {
                let result = decode_slice(&self.front()[..end], f);
                self.advance(end);
                result
            }
            Next::Spans(_) | Next::Cut | Next::End => decode_slice(&self.gather(), f),
        };
        if result.is_err() {
            self.at.failed_at.get_or_insert(start);
        }
        result
    }
}

impl Segments<'_> {
    /// Decodes the next value straight from the front chunk, without finding its end first, if
    /// it lies wholly inside the chunk and is followed there by a `,` or a closer; `None`
    /// otherwise, with nothing read. serde_json stops at the value's end, so a value decoded here
    /// is the one the careful way (find the end, decode that slice) yields; anything else — an
    /// error, a value cut by the chunk's end — is left to the careful way, which names it. Only
    /// a decoder that can run twice (a type, not a seed) comes here. A value is not tried when
    /// the chunk has less left than the last entry's length, so a list of values larger than a
    /// chunk is not decoded twice over.
    fn decode_in_front<T: de::Deserialize<'static>>(&mut self) -> Option<T> {
        let front = self.front();
        if (front.len() as u64) < self.at.last_entry {
            return None;
        }
        let mut de = serde_json::Deserializer::from_slice(front);
        let value = T::deserialize(LaunderDe::new(&mut de)).ok()?;
        let end = de.into_iter::<de::IgnoredAny>().byte_offset();
        let after = front
            .get(end..)?
            .iter()
            .find(|byte| !is_whitespace(**byte))?;
        if !matches!(after, b',' | b']' | b'}') {
            return None;
        }
        self.advance(end);
        self.at.last_entry = end as u64;
        Some(value)
    }

    /// Decodes the next value, straight from the front chunk if it can, else the careful way
    /// (`careful`), and notes its length.
    fn decode_entry<T: de::Deserialize<'static>>(
        &mut self,
        careful: impl FnOnce(&mut Self) -> Result<T, serde_json::Error>,
    ) -> Result<T, serde_json::Error> {
        if let Some(value) = self.decode_in_front() {
            return Ok(value);
        }
        let start = self.offset();
        let value = careful(self)?;
        self.at.last_entry = self.offset() - start;
        Ok(value)
    }
}

fn decode_slice<R>(
    bytes: &[u8],
    f: impl FnOnce(&mut serde_json::Deserializer<SliceRead<'_>>) -> Result<R, serde_json::Error>,
) -> Result<R, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = f(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The decoder of one value at `LEVEL` ([`BODY`], [`MEMBER`] or [`ELEMENT`]).
struct Walk<'a, 'b, const LEVEL: u8> {
    body: &'a mut Segments<'b>,
    /// Where the value lies, once looked at (`deserialize_option` looks before handing on).
    next: Option<Next>,
}

impl<'a, 'b, const LEVEL: u8> Walk<'a, 'b, LEVEL> {
    fn new(body: &'a mut Segments<'b>) -> Self {
        Walk { body, next: None }
    }

    fn next(&mut self) -> Next {
        match self.next.take() {
            Some(next) => next,
            None => self.body.next(Self::WALKED, LEVEL == BODY),
        }
    }

    /// The openers of the containers walked at this level.
    const WALKED: &'static [u8] = match LEVEL {
        BODY => b"{[",
        MEMBER => b"[",
        _ => b"",
    };

    /// Whether the next value is an object or array that is walked here.
    fn walks(next: Next) -> bool {
        matches!(next, Next::Spans(opener) if Self::WALKED.contains(&opener))
    }

    fn visit_object<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        let mut members = Entries::open(self.body, b'}', "object");
        let value = visitor.visit_map(&mut members)?;
        members.finish()?;
        Ok(value)
    }

    fn visit_array<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        let mut elements = Entries::open(self.body, b']', "array");
        let value = visitor.visit_seq(&mut elements)?;
        elements.finish()?;
        Ok(value)
    }
}

/// The `deserialize_*` methods that always hand the whole value to serde_json.
macro_rules! decode_whole {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'static>>(
            mut self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, serde_json::Error> {
            let next = self.next();
            self.body
                .decode_whole(next, |de| de.$method($($arg,)* Launder::new(visitor)))
        }
    )*};
}

impl<const LEVEL: u8> Deserializer<'static> for Walk<'_, '_, LEVEL> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'static>>(mut self, visitor: V) -> Result<V::Value, Self::Error> {
        let next = self.next();
        match next {
            Next::Spans(b'{') if Self::walks(next) => self.visit_object(visitor),
            Next::Spans(b'[') if Self::walks(next) => self.visit_array(visitor),
            _ => self
                .body
                .decode_whole(next, |de| de.deserialize_any(Launder::new(visitor))),
        }
    }

    fn deserialize_map<V: Visitor<'static>>(mut self, visitor: V) -> Result<V::Value, Self::Error> {
        let next = self.next();
        match next {
            Next::Spans(b'{') if Self::walks(next) => self.visit_object(visitor),
            _ => self
                .body
                .decode_whole(next, |de| de.deserialize_map(Launder::new(visitor))),
        }
    }

    fn deserialize_struct<V: Visitor<'static>>(
        mut self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let next = self.next();
        match next {
            // (A struct written as an array is decoded whole: walking it would compile each
            // struct's sequence visitor once more, for a shape no Kubernetes response has.)
            Next::Spans(b'{') if Self::walks(next) => self.visit_object(visitor),
            _ => self.body.decode_whole(next, |de| {
                de.deserialize_struct(name, fields, Launder::new(visitor))
            }),
        }
    }

    fn deserialize_seq<V: Visitor<'static>>(mut self, visitor: V) -> Result<V::Value, Self::Error> {
        let next = self.next();
        match next {
            Next::Spans(b'[') if Self::walks(next) => self.visit_array(visitor),
            _ => self
                .body
                .decode_whole(next, |de| de.deserialize_seq(Launder::new(visitor))),
        }
    }

    fn deserialize_option<V: Visitor<'static>>(
        mut self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let next = self.next();
        if Self::walks(next) {
            self.next = Some(next);
            return visitor.visit_some(self);
        }
        self.body
            .decode_whole(next, |de| de.deserialize_option(Launder::new(visitor)))
    }

    fn deserialize_newtype_struct<V: Visitor<'static>>(
        mut self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let next = self.next();
        if Self::walks(next) && name != RAW_VALUE_TOKEN {
            self.next = Some(next);
            return visitor.visit_newtype_struct(self);
        }
        self.body.decode_whole(next, |de| {
            de.deserialize_newtype_struct(name, Launder::new(visitor))
        })
    }

    decode_whole!(
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
    );

    /// A walked object or array that is not wanted is still walked, not copied out whole.
    fn deserialize_ignored_any<V: Visitor<'static>>(
        mut self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let next = self.next();
        match next {
            Next::Spans(b'{') if Self::walks(next) => self.visit_object(visitor),
            Next::Spans(b'[') if Self::walks(next) => self.visit_array(visitor),
            _ => self
                .body
                .decode_whole(next, |de| de.deserialize_ignored_any(Launder::new(visitor))),
        }
    }
}

/// The entries of a walked object (its members) or array (its elements), read one by one.
struct Entries<'a, 'b> {
    body: &'a mut Segments<'b>,
    open: Open,
}

/// Where an open object or array is: kept between calls by `ObjectReader`.
#[derive(Clone, Copy)]
struct Open {
    /// Where the object or array began.
    start: u64,
    /// `}` or `]`.
    closer: u8,
    /// `object` or `array`, for an error.
    kind: &'static str,
    first: bool,
    /// The closer has been read.
    done: bool,
}

impl<'a, 'b> Entries<'a, 'b> {
    /// Reads past the opener of the object or array at the read position.
    fn open(body: &'a mut Segments<'b>, closer: u8, kind: &'static str) -> Self {
        let start = body.offset();
        body.advance(1);
        Entries {
            body,
            open: Open {
                start,
                closer,
                kind,
                first: true,
                done: false,
            },
        }
    }

    /// Reads up to the next entry: `true` if there is one, `false` once the closer is read.
    fn entry_follows(&mut self) -> Result<bool, serde_json::Error> {
        if self.open.done {
            return Ok(false);
        }
        match self.body.peek() {
            Some(byte) if byte == self.open.closer => {
                self.body.advance(1);
                self.open.done = true;
                return Ok(false);
            }
            Some(b',') if !self.open.first => {
                self.body.advance(1);
                if self.body.peek() == Some(self.open.closer) {
                    return Err(self.body.syntax("a trailing comma"));
                }
            }
            Some(_) if self.open.first => {}
            Some(_) => return Err(self.body.syntax("expected `,` or the end")),
            None => return Err(self.unfinished()),
        }
        self.open.first = false;
        Ok(true)
    }

    /// After the visitor returns: unless it read the closer itself, it stopped early, which is
    /// fine if the object or array ends here, as serde_json has it.
    fn finish(&mut self) -> Result<(), serde_json::Error> {
        if self.open.done {
            return Ok(());
        }
        match self.body.peek() {
            Some(byte) if byte == self.open.closer => {
                self.body.advance(1);
                Ok(())
            }
            Some(_) => Err(self.body.syntax("more entries than were read")),
            None => Err(self.unfinished()),
        }
    }

    fn unfinished(&self) -> serde_json::Error {
        self.body.ended_inside(self.open.kind, self.open.start)
    }
}

impl MapAccess<'static> for &mut Entries<'_, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if !self.entry_follows()? {
            return Ok(None);
        }
        if self.body.peek() != Some(b'"') {
            return Err(self.body.syntax("expected a member's name (a string)"));
        }
        let key = self.key(seed)?;
        match self.body.peek() {
            Some(b':') => self.body.advance(1),
            Some(_) => return Err(self.body.syntax("expected `:` after a member's name")),
            None => return Err(self.unfinished()),
        }
        Ok(Some(key))
    }

    fn next_value_seed<S: DeserializeSeed<'static>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        seed.deserialize(Walk::<MEMBER>::new(self.body))
    }

    /// A member's value that is not walked (an array) is first tried straight from the chunk.
    fn next_value<V: de::Deserialize<'static>>(&mut self) -> Result<V, Self::Error> {
        let walked = Walk::<MEMBER>::WALKED;
        if self
            .body
            .peek()
            .is_some_and(|first| walked.contains(&first))
        {
            return V::deserialize(Walk::<MEMBER>::new(self.body));
        }
        self.body
            .decode_entry(|body| V::deserialize(Walk::<MEMBER>::new(body)))
    }
}

impl Entries<'_, '_> {
    /// Decodes a member's name as serde_json decodes an object key (so a number in a string
    /// still reads as an integer key): the name is put in a one-member object of its own.
    fn key<K: DeserializeSeed<'static>>(&mut self, seed: K) -> Result<K::Value, serde_json::Error> {
        let next = self.body.next(b"", false);
        let start = self.body.offset();
        let mut object = Vec::with_capacity(32);
        object.push(b'{');
        match next {
            Next::Fits(end) => {
                object.extend_from_slice(&self.body.front()[..end]);
                self.body.advance(end);
            }
            _ => object.extend_from_slice(&self.body.gather()),
        }
        object.extend_from_slice(b":null}");
        let key = decode_slice(&object, |de| {
            de.deserialize_map(KeyOf(LaunderSeed::new(seed)))
        });
        if key.is_err() {
            self.body.at.failed_at.get_or_insert(start);
        }
        key
    }
}

/// The visitor of a one-member object that yields its key, decoded by the seed.
struct KeyOf<S>(S);

impl<'s, S: DeserializeSeed<'s>> Visitor<'s> for KeyOf<S> {
    type Value = S::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object member's name")
    }

    fn visit_map<A: MapAccess<'s>>(self, mut map: A) -> Result<S::Value, A::Error> {
        let key = map
            .next_key_seed(self.0)?
            .ok_or_else(|| de::Error::custom("a member without a name"))?;
        map.next_value::<()>()?;
        Ok(key)
    }
}

impl SeqAccess<'static> for &mut Entries<'_, '_> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if !self.entry_follows()? {
            return Ok(None);
        }
        seed.deserialize(Walk::<ELEMENT>::new(self.body)).map(Some)
    }

    /// An element is first tried straight from the chunk, without finding its end first.
    fn next_element<T: de::Deserialize<'static>>(&mut self) -> Result<Option<T>, Self::Error> {
        if !self.entry_follows()? {
            return Ok(None);
        }
        self.body
            .decode_entry(|body| T::deserialize(Walk::<ELEMENT>::new(body)))
            .map(Some)
    }
}

#[cfg(test)]
pub(crate) mod tests;
