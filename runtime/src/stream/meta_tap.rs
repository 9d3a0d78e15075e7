//! One pass over an object's JSON: `T` is decoded and, on the way through `T`'s own visitor,
//! `metadata.{name,namespace,resourceVersion}` are copied out — no trait on `T`, no second pass.
//!
//! The adapter wraps the JSON deserializer: at the top level it watches for the `metadata` key,
//! inside it for the three fields, whose strings it copies and hands on unchanged to `T` (also as
//! `Some(..)` to an `Option<String>`). When `T` ignores `metadata` it reads the three fields
//! itself. Everything else is forwarded untouched, so `T` decodes exactly as it would directly.
//! What it could not see (a `metadata` that `T` reads as raw JSON, an object that is not a JSON
//! object) is reported by [`Tap`], and the caller falls back to a separate pass.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use crate::stream::watch::ObjectMeta;

/// What one pass saw of an object.
#[derive(Debug, Default)]
pub(crate) struct Tap {
    /// The key, when `complete()`.
    pub(crate) meta: ObjectMeta,
    /// Whether to copy the key at all (off: only `top_map` is recorded).
    capture: bool,
    /// Whether `metadata.managedFields` is skipped unread (`T` sees no such field).
    drop_managed_fields: bool,
    /// The object was a JSON object, read through the adapter.
    top_map: bool,
    /// The object had a top-level `metadata` key.
    meta_key: bool,
    /// That `metadata` was read through the adapter (so `meta` holds its fields).
    captured: bool,
}

impl Tap {
    /// A tap for one object: copying its key out if `capture`, and if `drop_managed_fields`
    /// skipping `metadata.managedFields` while decoding (`T` never allocates it: the largest
    /// part of most objects, and of no use to a cache).
    pub(crate) fn new(capture: bool, drop_managed_fields: bool) -> Tap {
        Tap {
            capture,
            drop_managed_fields,
            ..Tap::default()
        }
    }

    /// Starts over for the next object, as [`Tap::new`] would, but keeping the metadata's
    /// buffers: a caller decoding object after object with one tap allocates nothing for the
    /// key.
    pub(crate) fn start(&mut self, capture: bool, drop_managed_fields: bool) {
        let mut meta = std::mem::take(&mut self.meta);
        meta.clear();
        *self = Tap {
            meta,
            ..Tap::new(capture, drop_managed_fields)
        };
    }

    /// Whether the pass saw everything: the object was a JSON object and, when capturing, its
    /// `metadata` (if any) was read here. Otherwise the caller decodes the slow way.
    pub(crate) fn complete(&self) -> bool {
        self.top_map && (!self.capture || !self.meta_key || self.captured)
    }
}

/// Decodes `T` through the adapter (for `DeserializeSeed`-based callers).
pub(crate) struct TapSeed<'t, T> {
    pub(crate) tap: &'t mut Tap,
    pub(crate) _object: std::marker::PhantomData<fn() -> T>,
}

impl<'de, T: de::Deserialize<'de>> DeserializeSeed<'de> for TapSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        T::deserialize(Tapped {
            de,
            tap: self.tap,
            level: Level::Top,
        })
    }
}

/// Decodes `T` from the whole of `json` (and, if `drop_managed_fields`, without
/// `metadata.managedFields`), what the pass saw in `tap` (started over first).
#[cfg(any(test, feature = "watcher"))]
pub(crate) fn decode<T: de::DeserializeOwned>(
    json: &[u8],
    drop_managed_fields: bool,
    tap: &mut Tap,
) -> serde_json::Result<T> {
    tap.start(true, drop_managed_fields);
    decode_whole(json, tap)
}

/// Decodes `T` from `json` alone (no key wanted), skipping `metadata.managedFields` when
/// `drop_managed_fields`: what the slower paths use, so that the setting holds on them too.
pub(crate) fn decode_object<T: de::DeserializeOwned>(
    json: &str,
    drop_managed_fields: bool,
) -> serde_json::Result<T> {
    if !drop_managed_fields {
        return serde_json::from_str(json);
    }
    decode_whole(json.as_bytes(), &mut Tap::new(false, true))
}

/// Decodes `T` from the whole of `json` through the adapter, recording in `tap`.
fn decode_whole<T: de::DeserializeOwned>(json: &[u8], tap: &mut Tap) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = TapSeed {
        tap,
        _object: std::marker::PhantomData,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    /// The object itself: watch for `metadata`.
    Top,
    /// The value of the top-level `metadata`: copy the key's fields.
    Meta,
}

/// A JSON key or string, borrowed from the input when it has no escapes.
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        de.deserialize_str(V)
    }
}

/// Hands a string already read on to `T`'s visitor (as `Some(..)` to an `Option`).
struct StrDe<'de, E>(Cow<'de, str>, std::marker::PhantomData<E>);

impl<'de, E: de::Error> Deserializer<'de> for StrDe<'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        match self.0 {
            Cow::Borrowed(s) => v.visit_borrowed_str(s),
            Cow::Owned(s) => v.visit_string(s),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, E> {
        v.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, E> {
        v.visit_newtype_struct(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

fn str_de<'de, E>(s: Cow<'de, str>) -> StrDe<'de, E> {
    StrDe(s, std::marker::PhantomData)
}

/// The deserializer `T` (or its `metadata` field) sees.
struct Tapped<'t, D> {
    de: D,
    tap: &'t mut Tap,
    level: Level,
}

impl<'t, D> Tapped<'t, D> {
    fn visitor<V>(tap: &'t mut Tap, level: Level, v: V) -> TapVisitor<'t, V> {
        TapVisitor { v, tap, level }
    }
}

/// Forwards deserializer methods untouched to the wrapped deserializer.
macro_rules! forward_plain {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* v: V) -> Result<V::Value, D::Error> {
                self.de.$method($($arg,)* v)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tapped<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_any(Tapped::<D>::visitor(self.tap, self.level, v))
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_map(Tapped::<D>::visitor(self.tap, self.level, v))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_struct(name, fields, Tapped::<D>::visitor(self.tap, self.level, v))
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de
            .deserialize_option(Tapped::<D>::visitor(self.tap, self.level, v))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        if self.level == Level::Top || !self.tap.capture {
            return self.de.deserialize_ignored_any(v);
        }
        // `T` has no use for `metadata`: read just the key.
        #[derive(serde::Deserialize)]
        struct Fields<'a> {
            #[serde(borrow, default)]
            name: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            namespace: Option<Cow<'a, str>>,
            #[serde(rename = "resourceVersion", borrow, default)]
            resource_version: Option<Cow<'a, str>>,
        }
        let fields = <Fields<'_> as de::Deserialize>::deserialize(self.de)?;
        let meta = &mut self.tap.meta;
        meta.clear();
        meta.name
            .push_str(fields.name.as_deref().unwrap_or_default());
        meta.namespace
            .push_str(fields.namespace.as_deref().unwrap_or_default());
        meta.resource_version
            .push_str(fields.resource_version.as_deref().unwrap_or_default());
        self.tap.captured = true;
        v.visit_unit()
    }
    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }

    forward_plain! {
        deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16();
        deserialize_u32(); deserialize_u64(); deserialize_u128(); deserialize_f32();
        deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
        deserialize_bytes(); deserialize_byte_buf(); deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq(); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
    }
}

/// `T`'s visitor, wrapped to see the map it is given.
struct TapVisitor<'t, V> {
    v: V,
    tap: &'t mut Tap,
    level: Level,
}

/// Forwards visitor methods untouched to the wrapped visitor.
macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {
        $(
            fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
                self.v.$method(value)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TapVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.v.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        match self.level {
            Level::Top => self.tap.top_map = true,
            Level::Meta => self.tap.captured = true,
        }
        self.v.visit_map(TapMap {
            map,
            tap: self.tap,
            level: self.level,
            field: Field::Other,
            seen: 0,
        })
    }
    fn visit_some<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.v.visit_some(Tapped {
            de,
            tap: self.tap,
            level: self.level,
        })
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_none()
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_unit()
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, de: D) -> Result<V::Value, D::Error> {
        self.v.visit_newtype_struct(de)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.v.visit_seq(seq)
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.v.visit_enum(data)
    }
    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<V::Value, E> {
        self.v.visit_borrowed_str(value)
    }
    fn visit_borrowed_bytes<E: de::Error>(self, value: &'de [u8]) -> Result<V::Value, E> {
        self.v.visit_borrowed_bytes(value)
    }
    forward_visit! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64);
        visit_i128(i128); visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64);
        visit_u128(u128); visit_f32(f32); visit_f64(f64); visit_char(char);
        visit_str(&str); visit_string(String); visit_bytes(&[u8]); visit_byte_buf(Vec<u8>);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Field {
    Other,
    Metadata,
    Name,
    Namespace,
    ResourceVersion,
}

impl Field {
    /// A bit per field, to refuse a duplicate (the separate pass would).
    fn bit(self) -> u8 {
        match self {
            Field::Other => 0,
            Field::Metadata => 1,
            Field::Name => 2,
            Field::Namespace => 4,
            Field::ResourceVersion => 8,
        }
    }
}

/// The map `T`'s visitor reads: keys and values pass through, the key's fields are copied.
struct TapMap<'t, A> {
    map: A,
    tap: &'t mut Tap,
    level: Level,
    /// The field whose value comes next.
    field: Field,
    /// The fields seen so far (`Field::bit`).
    seen: u8,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TapMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = loop {
            let Some(Str(key)) = self.map.next_key::<Str<'de>>()? else {
                return Ok(None);
            };
            if self.level == Level::Meta && self.tap.drop_managed_fields && key == "managedFields" {
                self.map.next_value::<de::IgnoredAny>()?;
                continue;
            }
            break key;
        };
        self.field = match (self.level, &*key) {
            (Level::Top, "metadata") => Field::Metadata,
            (Level::Meta, "name") => Field::Name,
            (Level::Meta, "namespace") => Field::Namespace,
            (Level::Meta, "resourceVersion") => Field::ResourceVersion,
            _ => Field::Other,
        };
        let bit = self.field.bit();
        if self.seen & bit != 0 {
            return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
        }
        self.seen |= bit;
        seed.deserialize(str_de(key)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        // Compares, not a `match`: most values are `Other`, and a jump table on the field
        // would be one more indirect branch per value.
        let field = std::mem::replace(&mut self.field, Field::Other);
        if field == Field::Other {
            return self.map.next_value_seed(seed);
        }
        if field == Field::Metadata {
            self.tap.meta_key = true;
            if !self.tap.capture && !self.tap.drop_managed_fields {
                return self.map.next_value_seed(seed);
            }
            return self.map.next_value_seed(MetaSeed {
                seed,
                tap: self.tap,
            });
        }
        let slot = if field == Field::Name {
            &mut self.tap.meta.name
        } else if field == Field::Namespace {
            &mut self.tap.meta.namespace
        } else {
            &mut self.tap.meta.resource_version
        };
        let Str(value) = self.map.next_value::<Str<'de>>()?;
        slot.clear();
        slot.push_str(&value);
        seed.deserialize(str_de(value))
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

/// The value of the top-level `metadata`, decoded by `T`'s seed through the adapter.
struct MetaSeed<'t, S> {
    seed: S,
    tap: &'t mut Tap,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for MetaSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Tapped {
            de,
            tap: self.tap,
            level: Level::Meta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// [`super::decode`] with a tap of its own, whose metadata's buffers start as `meta`.
    fn decode<T: de::DeserializeOwned>(
        json: &[u8],
        drop_managed_fields: bool,
        meta: ObjectMeta,
    ) -> serde_json::Result<(T, Tap)> {
        let mut tap = Tap {
            meta,
            ..Tap::default()
        };
        let value = super::decode(json, drop_managed_fields, &mut tap)?;
        Ok((value, tap))
    }

    /// The key the separate pass reads, for comparison.
    fn two_pass(json: &str) -> ObjectMeta {
        crate::stream::watch::object_meta(json).unwrap()
    }

    fn one_pass<T: de::DeserializeOwned>(json: &str) -> (T, ObjectMeta) {
        let (value, tap) = decode::<T>(json.as_bytes(), false, ObjectMeta::default()).unwrap();
        assert!(tap.complete(), "{json}");
        (value, tap.meta)
    }

    const OBJECT: &str = r#"{"kind":"ConfigMap","metadata":{"name":"a\"b","namespace":"ns","resourceVersion":"42","labels":{"name":"x"}},"data":{"metadata":"no","name":"no"}}"#;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Meta {
        name: String,
        #[serde(default)]
        namespace: Option<String>,
    }

    #[test]
    fn the_key_of_a_struct_of_a_value_and_of_a_map() {
        #[derive(Debug, Deserialize)]
        struct Cm {
            metadata: Meta,
            data: BTreeMap<String, String>,
        }
        let (cm, meta) = one_pass::<Cm>(OBJECT);
        assert_eq!(meta, two_pass(OBJECT));
        assert_eq!(cm.metadata.name, "a\"b");
        assert_eq!(cm.metadata.namespace.as_deref(), Some("ns"));
        assert_eq!(cm.data["name"], "no");
        let (value, meta) = one_pass::<serde_json::Value>(OBJECT);
        assert_eq!(meta, two_pass(OBJECT));
        assert_eq!(
            value,
            serde_json::from_str::<serde_json::Value>(OBJECT).unwrap()
        );
        let (_, meta) = one_pass::<BTreeMap<String, serde_json::Value>>(OBJECT);
        assert_eq!(meta, two_pass(OBJECT));
    }

    #[test]
    fn an_optional_flattened_or_ignored_metadata() {
        #[derive(Debug, Deserialize)]
        struct Optional {
            metadata: Option<Meta>,
        }
        let (o, meta) = one_pass::<Optional>(OBJECT);
        assert_eq!(meta, two_pass(OBJECT));
        assert_eq!(o.metadata.unwrap().name, "a\"b");
        #[derive(Debug, Deserialize)]
        struct Flat {
            kind: String,
            #[serde(flatten)]
            rest: BTreeMap<String, serde_json::Value>,
        }
        let (f, meta) = one_pass::<Flat>(OBJECT);
        assert_eq!(meta, two_pass(OBJECT));
        assert_eq!(
            (f.kind.as_str(), f.rest["metadata"]["name"].as_str()),
            ("ConfigMap", Some("a\"b"))
        );
        #[derive(Debug, Deserialize)]
        struct NoMeta {
            kind: String,
        }
        let (n, meta) = one_pass::<NoMeta>(OBJECT);
        assert_eq!((n.kind.as_str(), meta), ("ConfigMap", two_pass(OBJECT)));
    }

    #[test]
    fn reused_buffers_keep_nothing_of_the_object_before() {
        let used = || ObjectMeta {
            resource_version: "1".into(),
            namespace: "old".into(),
            name: "old".into(),
        };
        let cluster_scoped = r#"{"metadata":{"name":"n1"}}"#;
        // Through `T`'s own metadata, and read by the tap where `T` ignores it.
        let (_, tap) =
            decode::<serde_json::Value>(cluster_scoped.as_bytes(), false, used()).unwrap();
        assert_eq!(tap.meta, two_pass(cluster_scoped));
        #[derive(Deserialize)]
        struct NoMeta {}
        let (_, tap) = decode::<NoMeta>(cluster_scoped.as_bytes(), false, used()).unwrap();
        assert!(tap.complete());
        assert_eq!(tap.meta, two_pass(cluster_scoped));
    }

    #[test]
    fn missing_metadata_is_an_empty_key() {
        let json = r#"{"kind":"X"}"#;
        let (_, meta) = one_pass::<serde_json::Value>(json);
        assert_eq!(meta, ObjectMeta::default());
        assert_eq!(meta, two_pass(json));
    }

    #[test]
    fn what_the_pass_cannot_see_is_reported_incomplete() {
        // Raw JSON: the adapter never sees the map.
        let (raw, tap) = decode::<Box<serde_json::value::RawValue>>(
            OBJECT.as_bytes(),
            false,
            ObjectMeta::default(),
        )
        .unwrap();
        assert_eq!(raw.get(), OBJECT);
        assert!(!tap.complete());
        #[derive(Deserialize)]
        struct RawMeta {
            #[allow(dead_code)]
            metadata: Box<serde_json::value::RawValue>,
        }
        let (_, tap) = decode::<RawMeta>(OBJECT.as_bytes(), false, ObjectMeta::default()).unwrap();
        assert!(!tap.complete());
        let (value, tap) =
            decode::<serde_json::Value>(b"null", false, ObjectMeta::default()).unwrap();
        assert!(value.is_null() && !tap.complete());
    }

    #[test]
    fn a_duplicate_key_field_is_an_error_as_in_the_separate_pass() {
        let json = r#"{"metadata":{"name":"a","name":"b"}}"#;
        assert!(
            decode::<serde_json::Value>(json.as_bytes(), false, ObjectMeta::default()).is_err()
        );
        assert!(crate::stream::watch::object_meta(json).is_err());
        let json = r#"{"metadata":{"name":1}}"#;
        assert!(
            decode::<serde_json::Value>(json.as_bytes(), false, ObjectMeta::default()).is_err()
        );
        assert!(crate::stream::watch::object_meta(json).is_err());
    }

    const MANAGED: &str = r#"{"metadata":{"name":"a","managedFields":[{"manager":"kubectl","fieldsV1":{"f:data":{"f:k":{}}}}],"resourceVersion":"7","labels":{"managedFields":"kept"}},"data":{"managedFields":"kept"}}"#;

    #[test]
    fn managed_fields_are_skipped_only_in_metadata_and_only_when_asked() {
        let (value, tap) =
            decode::<serde_json::Value>(MANAGED.as_bytes(), true, ObjectMeta::default()).unwrap();
        assert!(tap.complete());
        assert_eq!((&*tap.meta.name, &*tap.meta.resource_version), ("a", "7"));
        assert!(value["metadata"].get("managedFields").is_none(), "{value}");
        assert_eq!(value["metadata"]["labels"]["managedFields"], "kept");
        assert_eq!(value["data"]["managedFields"], "kept");
        let (kept, _) =
            decode::<serde_json::Value>(MANAGED.as_bytes(), false, ObjectMeta::default()).unwrap();
        assert_eq!(kept["metadata"]["managedFields"][0]["manager"], "kubectl");
    }

    #[test]
    fn a_struct_that_requires_managed_fields_sees_them_missing() {
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Strict {
            #[allow(dead_code)]
            managed_fields: Vec<serde_json::Value>,
        }
        #[derive(Debug, Deserialize)]
        struct Obj {
            #[allow(dead_code)]
            metadata: Strict,
        }
        let err = decode::<Obj>(MANAGED.as_bytes(), true, ObjectMeta::default()).unwrap_err();
        assert!(
            err.to_string().contains("missing field `managedFields`"),
            "{err}"
        );
        assert!(decode::<Obj>(MANAGED.as_bytes(), false, ObjectMeta::default()).is_ok());
    }

    #[test]
    fn dropping_without_capturing_still_reads_through_metadata() {
        let mut tap = Tap::new(false, true);
        let value: serde_json::Value = decode_whole(MANAGED.as_bytes(), &mut tap).unwrap();
        assert!(tap.complete());
        assert!(value["metadata"].get("managedFields").is_none());
    }
}
