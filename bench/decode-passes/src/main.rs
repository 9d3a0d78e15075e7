//! Profiling aid for bench/PERF.md (w4): the w4 watch fixture (the harness's ConfigMaps) decoded by one
//! strategy per run, so that callgrind counts the instructions of each:
//!
//! ```text
//! valgrind --tool=callgrind bench/target/release/decode-passes <mode> 20000
//! ```
//!
//! `gen` only builds the fixture (subtract it); `floor` is one typed pass; `stream` and `watcher` are
//! what incluster's `WatchStream` and `Watcher` do today (2 and 3 passes); `seed` decodes the object
//! straight into `T` once `type` is known; `seed+keycopy` adds the watcher's key strings (the bound);
//! `tap` is the proposed one-pass Watcher decode (src/tap.rs: the key copied on the way through `T`'s
//! own visitor); `tap-openapi`/`watcher-openapi` the same with `serde_json::Value` as `T`;
//! `seed+clone` / `watcher+clone` add the Store's deep clone.
mod tap;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bench_types::{checksum, ConfigMap, WatchLine};
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

fn configmap(name: &str, i: usize) -> Value {
    json!({
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {
            "name": name, "namespace": "default",
            "uid": format!("5c8e{i:04x}-1f2a-4b6c-9d0e-{:012x}", i * 7919),
            "resourceVersion": (1000 + i).to_string(),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "bench", "tier": format!("t{}", i % 4)},
            "managedFields": [{
                "manager": "bench", "operation": "Update", "apiVersion": "v1",
                "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:data": {".": {}, "f:config.yaml": {}, "f:mode": {}},
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:tier": {}}}
                }
            }]
        },
        "data": {
            "config.yaml": format!("replicas: {}\nlevel: info\nendpoint: http://svc-{i}.default:8080\n", i % 7),
            "mode": if i.is_multiple_of(2) { "fast" } else { "safe" }
        }
    })
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    object: &'a RawValue,
}
#[derive(Deserialize)]
struct MetaOnly<'a> {
    #[serde(borrow, default)]
    metadata: MetaFields<'a>,
}
#[derive(Deserialize, Default)]
struct MetaFields<'a> {
    #[serde(rename = "resourceVersion", borrow, default)]
    resource_version: Cow<'a, str>,
    #[serde(borrow, default)]
    namespace: Cow<'a, str>,
    #[serde(borrow, default)]
    name: Cow<'a, str>,
}

/// One pass: `type` first (as kube-apiserver writes it), then the object straight into T.
struct Event<T> {
    _kind: String,
    object: T,
}

/// One pass with the key captured on the way (the Watcher's need).
struct Tapped<T>(T, tap::Key);
struct TapSeed<T>(PhantomData<T>);
impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for TapSeed<T> {
    type Value = Tapped<T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Tapped<T>, D::Error> {
        let mut key = tap::Key::default();
        let value = T::deserialize(tap::Top {
            de: d,
            key: &mut key,
        })?;
        Ok(Tapped(value, key))
    }
}
struct TapEvent<T> {
    object: Tapped<T>,
}
impl<'de, T: DeserializeOwned> Deserialize<'de> for TapEvent<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = TapEvent<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a watch event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TapEvent<T>, A::Error> {
                let mut object = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "object" => object = Some(map.next_value_seed(TapSeed::<T>(PhantomData))?),
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(TapEvent {
                    object: object.ok_or_else(|| serde::de::Error::missing_field("object"))?,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}
impl<'de, T: DeserializeOwned> Deserialize<'de> for Event<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Event<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a watch event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event<T>, A::Error> {
                let mut kind: Option<Cow<'de, str>> = None;
                let mut object = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match &*key {
                        "type" => kind = Some(map.next_value()?),
                        "object" => {
                            // (the runtime would pick T/Bookmark/Status by `kind` here, and fall
                            // back to a RawValue when `object` comes first)
                            object = Some(map.next_value_seed(PhantomData::<T>)?)
                        }
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(Event {
                    _kind: kind
                        .ok_or_else(|| serde::de::Error::missing_field("type"))?
                        .into_owned(),
                    object: object.ok_or_else(|| serde::de::Error::missing_field("object"))?,
                })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

fn main() {
    let mode = std::env::args().nth(1).expect("mode");
    let events: usize = std::env::args()
        .nth(2)
        .map_or(100_000, |n| n.parse().unwrap());
    let mut stream = Vec::with_capacity(events * 900);
    for i in 0..events {
        let kind = if i < events / 10 { "ADDED" } else { "MODIFIED" };
        let line = json!({"type": kind, "object": configmap(&format!("cm-{:05}", i % 5000), i)});
        serde_json::to_writer(&mut stream, &line).unwrap();
        stream.push(b'\n');
    }
    if mode == "gen" {
        eprintln!("gen {}", stream.len());
        return;
    }
    let start = std::time::Instant::now();
    let (mut count, mut sum) = (0usize, 0u64);
    let mut keys = 0usize;
    for line in stream.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        match mode.as_str() {
            "floor" => {
                let e: WatchLine = serde_json::from_slice(line).unwrap();
                sum += checksum(&e.object);
            }
            "stream" => {
                let e: Envelope = serde_json::from_slice(line).unwrap();
                let cm: ConfigMap = serde_json::from_str(e.object.get()).unwrap();
                sum += checksum(&cm) + e.kind.len() as u64;
            }
            "watcher" => {
                let e: Envelope = serde_json::from_slice(line).unwrap();
                let cm: ConfigMap = serde_json::from_str(e.object.get()).unwrap();
                let m: MetaOnly = serde_json::from_str(e.object.get()).unwrap();
                let key = (
                    m.metadata.namespace.into_owned(),
                    m.metadata.name.into_owned(),
                    m.metadata.resource_version.into_owned(),
                );
                keys += key.0.len() + key.1.len() + key.2.len();
                sum += checksum(&cm) + e.kind.len() as u64;
            }
            "seed" => {
                let e: Event<ConfigMap> = serde_json::from_slice(line).unwrap();
                sum += checksum(&e.object);
            }
            "seed+keycopy" => {
                // the bound for a one-pass Watcher: T in one pass, plus the key's three strings
                let e: Event<ConfigMap> = serde_json::from_slice(line).unwrap();
                let m = &e.object.metadata;
                let key = (
                    m.namespace.clone(),
                    m.name.clone(),
                    m.resource_version.clone(),
                );
                keys += key.0.len() + key.1.len() + key.2.len();
                sum += checksum(&e.object);
            }
            "tap" => {
                let e: TapEvent<ConfigMap> = serde_json::from_slice(line).unwrap();
                let key = &e.object.1;
                assert!(key.seen && !key.name.is_empty());
                keys += key.namespace.len() + key.name.len() + key.resource_version.len();
                sum += checksum(&e.object.0);
            }
            "tap-openapi" | "watcher-openapi" => {
                // k8s-openapi-shaped metadata (Option<String> fields) through serde_json::Value
                let (v, key): (Value, tap::Key) = if mode == "tap-openapi" {
                    let e: TapEvent<Value> = serde_json::from_slice(line).unwrap();
                    (e.object.0, e.object.1)
                } else {
                    let e: Envelope = serde_json::from_slice(line).unwrap();
                    let v: Value = serde_json::from_str(e.object.get()).unwrap();
                    let m: MetaOnly = serde_json::from_str(e.object.get()).unwrap();
                    (
                        v,
                        tap::Key {
                            name: m.metadata.name.into_owned(),
                            namespace: m.metadata.namespace.into_owned(),
                            resource_version: m.metadata.resource_version.into_owned(),
                            seen: true,
                        },
                    )
                };
                keys += key.namespace.len() + key.name.len() + key.resource_version.len();
                sum += v["metadata"]["name"].as_str().unwrap().len() as u64;
            }
            "seed+clone" => {
                // plus the Store's deep clone of every object (Writer::apply clones T)
                let e: Event<ConfigMap> = serde_json::from_slice(line).unwrap();
                let copy = std::sync::Arc::new(e.object.clone());
                sum += checksum(&e.object) + checksum(&copy);
            }
            "watcher+clone" => {
                let e: Envelope = serde_json::from_slice(line).unwrap();
                let cm: ConfigMap = serde_json::from_str(e.object.get()).unwrap();
                let m: MetaOnly = serde_json::from_str(e.object.get()).unwrap();
                keys += m.metadata.name.len();
                let copy = std::sync::Arc::new(cm.clone());
                sum += checksum(&cm) + checksum(&copy);
            }
            other => panic!("mode {other}"),
        }
        count += 1;
    }
    eprintln!(
        "{mode}: count={count} sum={sum} keys={keys} {:?}",
        start.elapsed()
    );
}
