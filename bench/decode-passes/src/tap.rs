//! Prototype for bench/PERF.md proposal 2 (not the runtime's code): decode `T` in one pass while
//! copying `metadata.{name,namespace,resourceVersion}` on the way through `T`'s own visitor.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

#[derive(Default, Debug)]
pub struct Key {
    pub namespace: String,
    pub name: String,
    pub resource_version: String,
    pub seen: bool,
}

/// A JSON key or string, borrowed when it has no escapes.
struct Str<'de>(Cow<'de, str>);
impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
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
        d.deserialize_str(V)
    }
}

/// Hands a string on to T's visitor (also as `Some(..)` for an `Option<String>` field).
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
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
fn str_de<'de, E>(s: Cow<'de, str>) -> StrDe<'de, E> {
    StrDe(s, std::marker::PhantomData)
}

/// The top level of the object: watches for the `metadata` key.
pub struct Top<'k, D> {
    pub de: D,
    pub key: &'k mut Key,
}
impl<'de, 'k, D: Deserializer<'de>> Deserializer<'de> for Top<'k, D> {
    type Error = D::Error;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(MapV {
            v,
            key: self.key,
            level: Level::Top,
        })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_map(MapV {
            v,
            key: self.key,
            level: Level::Top,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            MapV {
                v,
                key: self.key,
                level: Level::Top,
            },
        )
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier ignored_any
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Top,
    Meta,
}

struct MapV<'k, V> {
    v: V,
    key: &'k mut Key,
    level: Level,
}
impl<'de, 'k, V: Visitor<'de>> Visitor<'de> for MapV<'k, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.v.expecting(f)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        if self.level == Level::Meta {
            self.key.seen = true;
        }
        self.v.visit_map(Map {
            map,
            key: self.key,
            level: self.level,
            field: 0,
        })
    }
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_unit()
    }
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.v.visit_none()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.v.visit_some(Meta {
            de: d,
            key: self.key,
        })
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<V::Value, E> {
        self.v.visit_borrowed_str(s)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<V::Value, E> {
        self.v.visit_str(s)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<V::Value, E> {
        self.v.visit_bool(b)
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<V::Value, E> {
        self.v.visit_i64(n)
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<V::Value, E> {
        self.v.visit_u64(n)
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<V::Value, E> {
        self.v.visit_f64(n)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.v.visit_seq(seq)
    }
}

struct Map<'k, A> {
    map: A,
    key: &'k mut Key,
    level: Level,
    /// 1 name, 2 namespace, 3 resourceVersion, 4 metadata (top level), 0 other.
    field: u8,
}
impl<'de, 'k, A: MapAccess<'de>> MapAccess<'de> for Map<'k, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Str(k)) = self.map.next_key::<Str<'de>>()? else {
            return Ok(None);
        };
        self.field = match (self.level, &*k) {
            (Level::Top, "metadata") => 4,
            (Level::Meta, "name") => 1,
            (Level::Meta, "namespace") => 2,
            (Level::Meta, "resourceVersion") => 3,
            _ => 0,
        };
        seed.deserialize(str_de(k)).map(Some)
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match std::mem::take(&mut self.field) {
            0 => self.map.next_value_seed(seed),
            4 => self.map.next_value_seed(MetaSeed {
                seed,
                key: self.key,
            }),
            field => {
                let Str(value) = self.map.next_value::<Str<'de>>()?;
                let slot = match field {
                    1 => &mut self.key.name,
                    2 => &mut self.key.namespace,
                    _ => &mut self.key.resource_version,
                };
                slot.clear();
                slot.push_str(&value);
                seed.deserialize(str_de(value))
            }
        }
    }
    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct MetaSeed<'k, S> {
    seed: S,
    key: &'k mut Key,
}
impl<'de, 'k, S: DeserializeSeed<'de>> DeserializeSeed<'de> for MetaSeed<'k, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Meta {
            de: d,
            key: self.key,
        })
    }
}

/// The value of the top-level `metadata` key.
struct Meta<'k, D> {
    de: D,
    key: &'k mut Key,
}
impl<'de, 'k, D: Deserializer<'de>> Deserializer<'de> for Meta<'k, D> {
    type Error = D::Error;
    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_any(MapV {
            v,
            key: self.key,
            level: Level::Meta,
        })
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_map(MapV {
            v,
            key: self.key,
            level: Level::Meta,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            MapV {
                v,
                key: self.key,
                level: Level::Meta,
            },
        )
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_option(MapV {
            v,
            key: self.key,
            level: Level::Meta,
        })
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        // T has no metadata field: read just the key ourselves.
        #[derive(serde::Deserialize)]
        struct Fields<'a> {
            #[serde(borrow, default)]
            name: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            namespace: Option<Cow<'a, str>>,
            #[serde(rename = "resourceVersion", borrow, default)]
            resource_version: Option<Cow<'a, str>>,
        }
        let f = <Fields as de::Deserialize>::deserialize(self.de)?;
        self.key.name = f.name.unwrap_or_default().into_owned();
        self.key.namespace = f.namespace.unwrap_or_default().into_owned();
        self.key.resource_version = f.resource_version.unwrap_or_default().into_owned();
        self.key.seen = true;
        v.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct enum identifier
    }
}

/// Decodes `T` from `json` in one pass, with its key.
#[allow(dead_code)]
pub fn decode<T: serde::de::DeserializeOwned>(json: &[u8]) -> serde_json::Result<(T, Key)> {
    let mut key = Key::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    let value = T::deserialize(Top {
        de: &mut de,
        key: &mut key,
    })?;
    de.end()?;
    Ok((value, key))
}
