//! Decoding from chunks agrees with `serde_json::from_slice` over the whole body, wherever the
//! body is cut, for values and for errors.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::from_chunks;

#[derive(Debug, PartialEq, Deserialize)]
struct List {
    kind: String,
    #[serde(default)]
    metadata: ListMeta,
    items: Option<Vec<Item>>,
}

#[derive(Debug, PartialEq, Default, Deserialize)]
struct ListMeta {
    #[serde(rename = "resourceVersion", default)]
    resource_version: String,
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Item {
    name: String,
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    phase: Option<Phase>,
    #[serde(default)]
    ports: Vec<u16>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Debug, PartialEq, Deserialize)]
enum Phase {
    Running,
    Failed { reason: String },
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Either {
    List(List),
    Other(Value),
}

#[derive(Debug, PartialEq, Deserialize)]
struct Pair(String, u32);

/// A list's kind alone: its items are ignored (walked, not copied out).
#[derive(Debug, PartialEq, Deserialize)]
struct KindOnly {
    kind: String,
}

#[derive(Debug, Deserialize)]
struct WithRaw {
    items: Vec<Box<serde_json::value::RawValue>>,
}

pub(crate) const LISTS: &[&str] = &[
    r#"{"kind":"List","metadata":{"resourceVersion":"7","continue":"a\"b"},"items":[{"name":"a","data":{"k":"v\n","é":"\u00e9"},"phase":"Running","ports":[80,443]},{"name":"b","phase":{"Failed":{"reason":"x"}},"extra":[1,{"y":null}]}]}"#,
    " \n{ \"kind\" : \"List\" , \"items\" : [ { \"name\" : \"a\" } , { \"name\" : \"b\\\\\" } ] } \r\n",
    r#"{"kind":"List","items":null}"#,
    r#"{"kind":"List","items":[]}"#,
    r#"{"items":[{"name":"a"}],"kind":"List","unknown":{"deep":[[[]]]}}"#,
    "{\"kind\":\"List\",\"n\":-12.5e3 ,\"t\":true\t,\"items\":[ {\"name\":\"a\"} ,{\"name\":\"b\",\"ports\":[1 , 2]}\n]}",
];

pub(crate) const BROKEN: &[&str] = &[
    r#"{"kind":"List","items":[{"name":"a"},]}"#,
    r#"{"kind":"List","items":[{"name":"a"} {"name":"b"}]}"#,
    r#"{"kind":"List","items":[{"name":"a"}]"#,
    r#"{"kind":"List","items":[{"name":"a"}]} x"#,
    r#"{"kind":"List",}"#,
    r#"{"kind" "List"}"#,
    r#"{kind:"List"}"#,
    r#"{"kind":"List","items":[{"name":1}]}"#,
    r#"{"kind":"List","items":[{"name":"a","ports":[70000]}]}"#,
    r#"{"kind":"List","items":[{"name":"a\q"}]}"#,
    r#"{"kind":"List","items":[{"name":"a"}}]}"#,
    r#"{"kind":"List","items":[[[[[[[[]]]]]]]]}"#,
    r#"{"kind":"List","items":{"name":"a"}}"#,
    r#"{"kind":"List","kind":"List","items":[]}"#,
    r#"{"items":[]}"#,
    r#"]"#,
    r#""#,
    r#"   "#,
    r#"nul"#,
    // A value followed by something other than a separator, or cut short, inside a chunk.
    r#"{"kind":"List","items":[{"name":"a"}x]}"#,
    r#"{"kind":"List","items":[{"name":"a"}   x]}"#,
    r#"{"kind":"List","n":12x,"items":[]}"#,
    r#"{"kind":"List","n":1 2,"items":[]}"#,
    r#"{"kind":"List","n":tru,"items":[]}"#,
    r#"{"kind":"List","n":-,"items":[]}"#,
    r#"{"kind":"List","n":"a"#,
];

/// The body cut into pieces at `cuts`.
pub(crate) fn pieces(text: &str, cuts: &[usize]) -> Vec<Bytes> {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([&text.len()]) {
        chunks.push(Bytes::copy_from_slice(&text.as_bytes()[start..cut]));
        start = cut;
    }
    chunks
}

/// Every way to cut `text` once or twice, and into pieces of every equal size.
pub(crate) fn cuttings(text: &str) -> Vec<Vec<usize>> {
    let n = text.len();
    let mut all = vec![vec![]];
    for a in 0..=n {
        all.push(vec![a]);
        for b in (a..=n).step_by(3) {
            all.push(vec![a, b]);
        }
    }
    for size in 1..n.max(1) {
        all.push((size..n).step_by(size).collect());
    }
    all
}

fn agrees<T: DeserializeOwned + PartialEq + Debug>(text: &str) {
    let whole = serde_json::from_slice::<T>(text.as_bytes());
    for cuts in cuttings(text) {
        let chunked = from_chunks::<T>(pieces(text, &cuts));
        match (&whole, &chunked) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?} cut at {cuts:?}"),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(failure)) => {
                panic!("{text:?} cut at {cuts:?}: failed: {}", failure.error)
            }
            (Err(err), Ok(value)) => {
                panic!("{text:?} cut at {cuts:?}: decoded {value:?}, serde_json: {err}")
            }
        }
    }
}

#[test]
fn lists_decode_alike_wherever_they_are_cut() {
    for text in LISTS.iter().chain(BROKEN) {
        agrees::<List>(text);
        agrees::<Value>(text);
        agrees::<Either>(text);
        agrees::<Option<List>>(text);
        agrees::<BTreeMap<String, Value>>(text);
        agrees::<KindOnly>(text);
        agrees::<serde::de::IgnoredAny>(text);
    }
}

#[test]
fn other_shapes_decode_alike_wherever_they_are_cut() {
    let texts = [
        r#"{"1":"one","22":"two"}"#,
        r#"{"x":"one"}"#,
        r#"["a",7]"#,
        r#"["a",7,8]"#,
        r#"[{"name":"a"},{"name":"b","data":{"k":"v"}}]"#,
        r#"null"#,
        r#"12345678901234567890"#,
        r#"-1.5e-7"#,
        r#""a long string with \"escapes\" and \\ and \u2603""#,
        r#"[1,[2,[3]],{"a":[4]}]"#,
        r#"[1,]"#,
        r#"[,1]"#,
        r#"{"a":1}{"b":2}"#,
        r#"[12,345,6789,1e3,-0.5]"#,
        r#"[1 2]"#,
        r#"[12x]"#,
        r#"["a" "b"]"#,
        r#"[1.5e,2]"#,
        r#"[null,true,false,nul]"#,
    ];
    for text in texts {
        agrees::<HashMap<u32, String>>(text);
        agrees::<Pair>(text);
        agrees::<Vec<Item>>(text);
        agrees::<Option<Vec<Value>>>(text);
        agrees::<Value>(text);
        agrees::<u64>(text);
        agrees::<f64>(text);
        agrees::<String>(text);
        agrees::<()>(text);
    }
}

#[test]
fn raw_values_keep_their_text() {
    let text = r#"{"items":[{"a": 1}, [2, "x"], "s"]}"#;
    for cuts in cuttings(text) {
        let decoded = from_chunks::<WithRaw>(pieces(text, &cuts))
            .unwrap_or_else(|f| panic!("cut at {cuts:?}: {}", f.error));
        let raw: Vec<&str> = decoded.items.iter().map(|r| r.get()).collect();
        assert_eq!(
            raw,
            [r#"{"a": 1}"#, r#"[2, "x"]"#, r#""s""#],
            "cut at {cuts:?}"
        );
    }
}

#[test]
fn an_error_names_where_the_failing_value_began() {
    let text = r#"{"kind":"List","items":[{"name":"a"},{"name":2}]}"#;
    let failure = from_chunks::<List>(pieces(text, &[10, 30])).expect_err("an error");
    let message = failure.error.to_string();
    assert!(
        message.contains("(in the value at byte 37 of the body)"),
        "{message}"
    );
    assert!(message.contains("invalid type: integer `2`"), "{message}");
    // The excerpt comes from the first block (a real one holds about 1 MiB).
    assert_eq!(&failure.head[..], &text.as_bytes()[..10]);
}

#[test]
fn a_deep_array_is_an_error_not_a_crash() {
    let text = format!(
        r#"{{"kind":"List","items":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cuts: Vec<usize> = (4096..text.len()).step_by(4096).collect();
    assert!(from_chunks::<List>(pieces(&text, &cuts)).is_err());
    assert!(from_chunks::<Value>(pieces(&text, &cuts)).is_err());
}

/// A chunk that counts its own release.
pub(crate) struct Counted(pub(crate) Vec<u8>, pub(crate) Arc<AtomicUsize>);

impl AsRef<[u8]> for Counted {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn each_chunk_is_released_once_its_items_are_decoded() {
    let items: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"name":"item-{i:03}"}}"#))
        .collect();
    let text = format!(r#"{{"kind":"List","items":[{}]}}"#, items.join(","));
    let released = Arc::new(AtomicUsize::new(0));
    let chunks: Vec<Bytes> = text
        .as_bytes()
        .chunks(64)
        .map(|c| Bytes::from_owner(Counted(c.to_vec(), released.clone())))
        .collect();
    let total = chunks.len();

    /// An item that records how many chunks were gone when it was decoded.
    struct Seen(usize);
    thread_local!(static RELEASED: std::cell::RefCell<Option<Arc<AtomicUsize>>> = const { std::cell::RefCell::new(None) });
    impl<'de> Deserialize<'de> for Seen {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            serde::de::IgnoredAny::deserialize(d)?;
            Ok(Seen(RELEASED.with(|r| {
                r.borrow().as_ref().unwrap().load(Ordering::SeqCst)
            })))
        }
    }
    #[derive(Deserialize)]
    struct SeenList {
        items: Vec<Seen>,
    }
    RELEASED.with(|r| *r.borrow_mut() = Some(released.clone()));
    let list = from_chunks::<SeenList>(chunks).unwrap_or_else(|f| panic!("{}", f.error));
    let last = list.items.last().expect("items").0;
    assert!(
        last + 3 >= total,
        "{last} of {total} chunks released by the last item"
    );
    assert_eq!(released.load(Ordering::SeqCst), total);
}
