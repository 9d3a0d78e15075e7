//! Lets a visitor of the body's lifetime `'de` read from a decoder over a shorter-lived slice
//! `'s` (one chunk, or one value copied out of several): whatever the decoder would lend from
//! the slice is handed on as a copy (`visit_borrowed_str` becomes `visit_str`). Only types that
//! own their data (`DeserializeOwned`) are decoded this way, so nothing is lost by the copy.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

/// A [`Visitor`] of `'de` as one of any `'s`.
pub(super) struct Launder<'de, V>(pub(super) V, PhantomData<&'de ()>);

impl<'de, V: Visitor<'de>> Launder<'de, V> {
    pub(super) fn new(visitor: V) -> Self {
        Launder(visitor, PhantomData)
    }
}

/// A [`Deserializer`] of `'s` as one of `'de`.
pub(super) struct LaunderDe<'s, D>(D, PhantomData<&'s ()>);

impl<'s, D: Deserializer<'s>> LaunderDe<'s, D> {
    pub(super) fn new(deserializer: D) -> Self {
        LaunderDe(deserializer, PhantomData)
    }
}

/// A [`DeserializeSeed`] of `'de` as one of `'s`.
pub(super) struct LaunderSeed<'de, S>(pub(super) S, PhantomData<&'de ()>);

impl<'de, S: DeserializeSeed<'de>> LaunderSeed<'de, S> {
    pub(super) fn new(seed: S) -> Self {
        LaunderSeed(seed, PhantomData)
    }
}

struct LaunderSeq<'s, A>(A, PhantomData<&'s ()>);
struct LaunderMap<'s, A>(A, PhantomData<&'s ()>);
struct LaunderEnum<'s, A>(A, PhantomData<&'s ()>);
struct LaunderVariant<'s, A>(A, PhantomData<&'s ()>);

macro_rules! forward_values {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'s, 'de, V: Visitor<'de>> Visitor<'s> for Launder<'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_values!(
        visit_bool(bool),
        visit_i8(i8),
        visit_i16(i16),
        visit_i32(i32),
        visit_i64(i64),
        visit_i128(i128),
        visit_u8(u8),
        visit_u16(u16),
        visit_u32(u32),
        visit_u64(u64),
        visit_u128(u128),
        visit_f32(f32),
        visit_f64(f64),
        visit_char(char),
        visit_str(&str),
        visit_string(String),
        visit_bytes(&[u8]),
        visit_byte_buf(Vec<u8>),
    );

    fn visit_borrowed_str<E: de::Error>(self, v: &'s str) -> Result<V::Value, E> {
        self.0.visit_str(v)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'s [u8]) -> Result<V::Value, E> {
        self.0.visit_bytes(v)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'s>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(LaunderDe(d, PhantomData))
    }

    fn visit_newtype_struct<D: Deserializer<'s>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(LaunderDe(d, PhantomData))
    }

    fn visit_seq<A: SeqAccess<'s>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(LaunderSeq(a, PhantomData))
    }

    fn visit_map<A: MapAccess<'s>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(LaunderMap(a, PhantomData))
    }

    fn visit_enum<A: EnumAccess<'s>>(self, a: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(LaunderEnum(a, PhantomData))
    }
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Launder::new(visitor))
        }
    )*};
}

impl<'s, 'de, D: Deserializer<'s>> Deserializer<'de> for LaunderDe<'s, D> {
    type Error = D::Error;

    forward_deserialize!(
        deserialize_any(),
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
        deserialize_option(),
        deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<'s, 'de, S: DeserializeSeed<'de>> DeserializeSeed<'s> for LaunderSeed<'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'s>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(LaunderDe(d, PhantomData))
    }
}

impl<'s, 'de, A: SeqAccess<'s>> SeqAccess<'de> for LaunderSeq<'s, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(LaunderSeed::new(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'s, 'de, A: MapAccess<'s>> MapAccess<'de> for LaunderMap<'s, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(LaunderSeed::new(seed))
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(LaunderSeed::new(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'s, 'de, A: EnumAccess<'s>> EnumAccess<'de> for LaunderEnum<'s, A> {
    type Error = A::Error;
    type Variant = LaunderVariant<'s, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.0.variant_seed(LaunderSeed::new(seed))?;
        Ok((value, LaunderVariant(variant, PhantomData)))
    }
}

impl<'s, 'de, A: de::VariantAccess<'s>> de::VariantAccess<'de> for LaunderVariant<'s, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(LaunderSeed::new(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Launder::new(visitor))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Launder::new(visitor))
    }
}
