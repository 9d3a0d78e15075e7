//! The decoder of one value of the body: the body's object and the arrays among its members are
//! walked (see [`super::access`]), everything else is handed to serde_json whole.

use serde::de::{self, Deserializer, Visitor};
use serde_json::de::SliceRead;

use super::access::{Elements, Members};
use super::launder::Launder;
use super::segments::{Next, Segments};

/// What serde_json names its raw-value newtype; such a value is always decoded whole.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// The body's top-level value: its objects and arrays are walked; it runs to the body's end.
pub(super) const BODY: u8 = 0;
/// A member of the body's top-level object: arrays are walked.
pub(super) const MEMBER: u8 = 1;
/// An element of a walked array: decoded whole.
pub(super) const ELEMENT: u8 = 2;

impl Segments<'_> {
    /// A syntax error at the read position.
    pub(super) fn syntax(&self, what: &str) -> serde_json::Error {
        de::Error::custom(format_args!("{what} at byte {} of the body", self.offset()))
    }

    /// After a visitor of the `kind` (object or array) that began at `start` returns: unless it
    /// read the `closer` itself (`done`), it stopped early, which is fine if the container ends
    /// here, as serde_json has it.
    fn close(
        &mut self,
        done: bool,
        closer: u8,
        kind: &str,
        start: u64,
    ) -> Result<(), serde_json::Error> {
        if done {
            return Ok(());
        }
        match self.peek() {
            Some(byte) if byte == closer => {
                self.advance(1);
                Ok(())
            }
            Some(_) => Err(self.syntax("more entries than were read")),
            None => Err(self.ended_inside(kind, start)),
        }
    }

    /// The body ended inside the `kind` (object or array) that began at `start`.
    pub(super) fn ended_inside(&self, kind: &str, start: u64) -> serde_json::Error {
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
            self.failed_at.get_or_insert(start);
        }
        result
    }
}

pub(super) fn decode_slice<R>(
    bytes: &[u8],
    f: impl FnOnce(&mut serde_json::Deserializer<SliceRead<'_>>) -> Result<R, serde_json::Error>,
) -> Result<R, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = f(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The decoder of one value at `LEVEL` ([`BODY`], [`MEMBER`] or [`ELEMENT`]).
pub(super) struct Walk<'a, 'b, const LEVEL: u8> {
    body: &'a mut Segments<'b>,
    /// Where the value lies, once looked at (`deserialize_option` looks before handing on).
    next: Option<Next>,
}

impl<'a, 'b, const LEVEL: u8> Walk<'a, 'b, LEVEL> {
    pub(super) fn new(body: &'a mut Segments<'b>) -> Self {
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
        let mut members = Members {
            start: self.body.offset(),
            body: self.body,
            first: true,
            done: false,
        };
        members.body.advance(1);
        let value = visitor.visit_map(&mut members)?;
        members
            .body
            .close(members.done, b'}', "object", members.start)?;
        Ok(value)
    }

    fn visit_array<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        let mut elements = Elements {
            start: self.body.offset(),
            body: self.body,
            first: true,
            done: false,
        };
        elements.body.advance(1);
        let value = visitor.visit_seq(&mut elements)?;
        elements
            .body
            .close(elements.done, b']', "array", elements.start)?;
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
