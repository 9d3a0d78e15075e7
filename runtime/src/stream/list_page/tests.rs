//! Reading a page item by item gives what decoding it whole gives, wherever its body is cut, and
//! lets each block go once its items are handed out.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::http::chunked_json::tests::{cuttings, pieces, Counted, BROKEN, LISTS};
use crate::stream::list::Page;

#[derive(Debug, PartialEq, Deserialize)]
struct Named {
    name: String,
}

const PAGES: &[&str] = &[
    r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"abc"},"items":[{"name":"a"},{"name":"b"}]}"#,
    r#"{"metadata":{"continue":"]\"["},"items":[{"name":"]\"[","x":[{"y":"}"}]}],"extra":{"z":[1,[2]]}}"#,
    " { \"metadata\" : { } , \"items\" : [ ] } \n",
    r#"{"metadata":{},"items":null}"#,
    r#"{"metadata":{"resourceVersion":"3"}}"#,
    r#"{}"#,
    // `items` before `metadata`, as in a list of custom resources (keys sorted).
    r#"{"apiVersion":"x/v1","items":[{"name":"a"},{"name":"b"}],"kind":"ThingList","metadata":{"continue":"x","resourceVersion":"4"}}"#,
    r#"{"items":null,"metadata":{"continue":"x"}}"#,
    r#"{"items":[{"name":"a"}],"metadata":{"continue":"x"},"metadata":{}}"#,
    r#"{"items":[{"name":"a"}],"metadata":{"continue":5}}"#,
    r#"{"items":[{"name":"a"}],"metadata":null}"#,
    r#"{"items":[{"name":"a"}],"metadata":{"continue":"x"},"items":[]}"#,
    r#"{"items":[{"name":"a"},],"metadata":{}}"#,
    r#"{"items":[{"name":1}],"metadata":{}}"#,
    r#"{"items":[{"name":"a"}] "metadata":{}}"#,
    r#"{"items":[{"name":"a"}],"metadata":{}} x"#,
    r#"{"items":[{"name":"a"}],"metadata":{}"#,
    r#"{"items":[{"name":"a"}"#,
    r#"{"items":{"name":"a"},"metadata":{}}"#,
    r#"{"items":7}"#,
    // Broken after the metadata: found while the items are read.
    r#"{"metadata":{},"items":[{"name":"a"}],"items":[]}"#,
    r#"{"metadata":{},"items":[],"metadata":{}}"#,
    r#"{"metadata":{},"metadata":{},"items":[]}"#,
    r#"{"metadata":{},"items":[{"name":"a"}]} x"#,
    r#"{"metadata":{},"items":[{"name":"a"}],}"#,
    r#"{"metadata":{},"items":[{"name":"a"},{"name":2}]}"#,
    r#"{"metadata":{},"items":[{"name":"a"},]}"#,
    r#"{"metadata":{},"items":[,{"name":"a"}]}"#,
    r#"{"metadata":{},"items":[{"name":"a"} {"name":"b"}]}"#,
    r#"{"metadata":{},"items":[{"name":"a"}"#,
    r#"{"metadata":{},"items":[{"name":"a"}]"#,
    r#"{"metadata":{},"items":{"name":"a"}}"#,
    r#"{"metadata":null,"items":[]}"#,
    r#"{"metadata":{"continue":5},"items":[]}"#,
    r#"{"metadata":{},"items":[{"name":"a"}],"x":tru}"#,
    // A list written as an array: decoded whole it is a page, read here it is refused.
    r#"[{"continue":"x"},[{"name":"a"}]]"#,
];

/// What a page read item by item came to: its resourceVersion, continue token and items.
type Read<T> = (String, String, Vec<T>);

fn read_page<T: DeserializeOwned>(mut chunks: Vec<Bytes>) -> Result<Read<T>, Failure> {
    let last = chunks.pop().unwrap_or_default();
    let mut page = open_page(chunks, last)?;
    let mut items = Vec::new();
    while let Some(item) = page.items.next_item::<T>()? {
        items.push(item);
    }
    Ok((
        page.metadata.resource_version,
        page.metadata.continue_token,
        items,
    ))
}

fn agrees_with_a_whole_page<T: DeserializeOwned + PartialEq + Debug>(text: &str) {
    let whole = serde_json::from_slice::<Page<T>>(text.as_bytes());
    let an_object = text.trim_start().starts_with('{');
    for cuts in cuttings(text) {
        let read = read_page::<T>(pieces(text, &cuts));
        match (&whole, &read) {
            (Ok(page), Ok((version, token, items))) => assert_eq!(
                (&page.resource_version, &page.continue_token, &page.items),
                (version, token, items),
                "{text:?} cut at {cuts:?}"
            ),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(_)) if !an_object => {}
            (Ok(_), Err(failure)) => panic!("{text:?} cut at {cuts:?}: {}", failure.error),
            (Err(err), Ok(read)) => {
                panic!("{text:?} cut at {cuts:?}: read {read:?}, whole: {err}")
            }
        }
    }
}

#[test]
fn a_page_read_item_by_item_is_the_page_decoded_whole_wherever_it_is_cut() {
    for text in PAGES.iter().chain(LISTS).chain(BROKEN) {
        agrees_with_a_whole_page::<Value>(text);
        agrees_with_a_whole_page::<Named>(text);
    }
}

#[test]
fn a_broken_item_comes_after_the_items_before_it_and_names_its_byte() {
    let text = r#"{"metadata":{"continue":"n"},"items":[{"name":"a"},{"name":"b"},{"name":3}]}"#;
    for cuts in [vec![], vec![20, 45, 60]] {
        let mut chunks = pieces(text, &cuts);
        let last = chunks.pop().unwrap();
        let mut page = open_page(chunks, last).expect("the page opens");
        assert_eq!(page.metadata.continue_token, "n");
        assert!(!page.items.is_empty());
        for name in ["a", "b"] {
            let item = page.items.next_item::<Named>().expect("an item");
            assert_eq!(item.map(|item| item.name).as_deref(), Some(name));
        }
        let failure = page
            .items
            .next_item::<Named>()
            .expect_err("the third item is broken");
        let message = failure.error.to_string();
        assert!(message.contains("invalid type: integer `3`"), "{message}");
        assert!(message.contains("at byte 64 of the body"), "{message}");
        // The excerpt comes from the first block.
        let first = cuts.first().map_or(text.len(), |cut| *cut);
        assert_eq!(&failure.head[..], &text.as_bytes()[..first]);
    }
}

#[test]
fn bodies_that_are_not_lists_say_so() {
    for (text, says) in [
        ("", "the body is empty"),
        (" \n", "the body is empty"),
        ("[]", "not a JSON object"),
        ("null", "not a JSON object"),
    ] {
        let failure = read_page::<Value>(vec![Bytes::from(text)]).expect_err(text);
        assert!(
            failure.error.to_string().contains(says),
            "{text:?}: {}",
            failure.error
        );
    }
    let failure = read_page::<Value>(pieces(r#"{"metadata":{},"items":[],"items":[]}"#, &[5]))
        .expect_err("a duplicate");
    assert!(
        failure
            .error
            .to_string()
            .contains("duplicate field `items` at byte"),
        "{}",
        failure.error
    );
}

#[test]
fn each_block_is_released_as_its_items_are_handed_out() {
    let items: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"name":"item-{i:03}"}}"#))
        .collect();
    // As a built-in type's list is written, and as a custom resource's (keys sorted).
    for text in [
        format!(
            r#"{{"kind":"List","metadata":{{"continue":"next"}},"items":[{}]}}"#,
            items.join(",")
        ),
        format!(
            r#"{{"apiVersion":"x/v1","items":[{}],"kind":"ThingList","metadata":{{"continue":"next"}}}}"#,
            items.join(",")
        ),
    ] {
        blocks_go_as_items_are_handed_out(&text, &items);
    }
}

fn blocks_go_as_items_are_handed_out(text: &str, items: &[String]) {
    let released = Arc::new(AtomicUsize::new(0));
    let mut chunks: Vec<Bytes> = text
        .as_bytes()
        .chunks(64)
        .map(|c| Bytes::from_owner(Counted(c.to_vec(), released.clone())))
        .collect();
    let total = chunks.len();
    let last = chunks.pop().unwrap();
    let mut page = open_page(chunks, last).expect("the page opens");
    assert!(
        released.load(Ordering::SeqCst) <= 1,
        "released before any item"
    );
    for (i, written) in items.iter().enumerate() {
        let item = page
            .items
            .next_item::<Named>()
            .expect("an item")
            .expect("100 items");
        assert_eq!(item.name, format!("item-{i:03}"));
        // Each item is decoded when asked for: the blocks before it are gone, the ones after
        // it are still there.
        let gone = released.load(Ordering::SeqCst);
        let read_to = text.find(written.as_str()).unwrap() + written.len();
        assert_eq!(
            gone,
            read_to / 64,
            "item {i}: {gone} of {total} blocks released"
        );
    }
    assert!(page.items.next_item::<Named>().expect("the end").is_none());
    drop(page);
    assert_eq!(released.load(Ordering::SeqCst), total);
}

#[test]
fn a_page_in_one_block_is_let_go_when_its_last_item_is_handed_out() {
    let released = Arc::new(AtomicUsize::new(0));
    let text = r#"{"metadata":{},"items":[{"name":"a"},{"name":"b"}]}"#;
    let block = Bytes::from_owner(Counted(text.as_bytes().to_vec(), released.clone()));
    let mut page = open_page(Vec::new(), block).expect("the page opens");
    assert!(page.items.next_item::<Named>().unwrap().is_some());
    assert!(page.items.next_item::<Named>().unwrap().is_some());
    assert_eq!(released.load(Ordering::SeqCst), 0);
    assert!(page.items.next_item::<Named>().unwrap().is_none());
    assert_eq!(released.load(Ordering::SeqCst), 1);
}
