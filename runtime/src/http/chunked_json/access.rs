//! The members of a walked object and the elements of a walked array, read one by one from the
//! body, with serde_json's syntax.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::launder::LaunderSeed;
use super::segments::{Next, Segments};
use super::walk::{decode_slice, Walk, ELEMENT, MEMBER};

/// The members of a walked object.
pub(super) struct Members<'a, 'b> {
    pub(super) body: &'a mut Segments<'b>,
    /// Where the object began.
    pub(super) start: u64,
    pub(super) first: bool,
    /// The closing `}` has been read.
    pub(super) done: bool,
}

impl MapAccess<'static> for &mut Members<'_, '_> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if self.done {
            return Ok(None);
        }
        match self.body.peek() {
            Some(b'}') => return self.close(),
            Some(b'"') if self.first => {}
            Some(b',') if !self.first => {
                self.body.advance(1);
                if self.body.peek() != Some(b'"') {
                    return Err(self.body.syntax("expected a member's name (a string)"));
                }
            }
            Some(_) => return Err(self.body.syntax("expected `,` or `}` in an object")),
            None => return Err(self.unfinished()),
        }
        self.first = false;
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
}

impl Members<'_, '_> {
    fn close<T>(&mut self) -> Result<Option<T>, serde_json::Error> {
        self.body.advance(1);
        self.done = true;
        Ok(None)
    }

    fn unfinished(&self) -> serde_json::Error {
        self.body.ended_inside("object", self.start)
    }

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
            self.body.failed_at.get_or_insert(start);
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

/// The elements of a walked array.
pub(super) struct Elements<'a, 'b> {
    pub(super) body: &'a mut Segments<'b>,
    /// Where the array began.
    pub(super) start: u64,
    pub(super) first: bool,
    /// The closing `]` has been read.
    pub(super) done: bool,
}

impl SeqAccess<'static> for &mut Elements<'_, '_> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        if self.done {
            return Ok(None);
        }
        match self.body.peek() {
            Some(b']') => {
                self.body.advance(1);
                self.done = true;
                return Ok(None);
            }
            Some(b',') if !self.first => {
                self.body.advance(1);
                if self.body.peek() == Some(b']') {
                    return Err(self.body.syntax("a trailing comma in an array"));
                }
            }
            Some(_) if self.first => {}
            Some(_) => return Err(self.body.syntax("expected `,` or `]` in an array")),
            None => return Err(self.unfinished()),
        }
        self.first = false;
        seed.deserialize(Walk::<ELEMENT>::new(self.body)).map(Some)
    }
}

impl Elements<'_, '_> {
    fn unfinished(&self) -> serde_json::Error {
        self.body.ended_inside("array", self.start)
    }
}
