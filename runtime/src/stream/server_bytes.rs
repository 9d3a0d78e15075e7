//! Property tests: nothing a server sends makes a decoder panic, and what decoders keep is
//! bounded. Every decoder that takes server bytes is here (watch events, list pages, `Status`);
//! the Lease's is in `leader::lease`.

use proptest::prelude::*;
use serde_json::Value;

use super::list::Page;
use super::list_page::open_page;
use super::watch::{decode_event, WatchEvent};
use crate::error::status::{Status, EXCERPT_LIMIT};
use crate::error::Error;

/// Any JSON value, nested a few levels, with the keys decoders look for mixed in.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type".to_string()),
        Just("object".to_string()),
        Just("metadata".to_string()),
        Just("resourceVersion".to_string()),
        Just("continue".to_string()),
        Just("items".to_string()),
        Just("spec".to_string()),
        Just("holderIdentity".to_string()),
        Just("leaseDurationSeconds".to_string()),
        Just("leaseTransitions".to_string()),
        Just("code".to_string()),
        Just("kind".to_string()),
        Just("details".to_string()),
        Just("annotations".to_string()),
        "[a-z]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just("ADDED"),
            Just("MODIFIED"),
            Just("DELETED"),
            Just("BOOKMARK"),
            Just("ERROR"),
            Just("Status"),
            Just("true"),
            Just(""),
        ]
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Reads `body`, cut in two at `cut`, as a list page item by item, to its end or first error.
fn read_item_by_item(body: &[u8], cut: usize) {
    let (first, second) = body.split_at(cut.min(body.len()));
    let full = vec![bytes::Bytes::copy_from_slice(first)];
    let Ok(mut page) = open_page(full, bytes::Bytes::copy_from_slice(second)) else {
        return;
    };
    let _ = page.items.is_empty();
    while let Ok(Some(_)) = page.items.next_item::<Value>() {}
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn watch_lines_of_any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let outcome = decode_event::<Value>(&bytes, "GET /x");
        if let Err(err) = outcome {
            // The message shows a bounded excerpt, never the whole line.
            prop_assert!(err.to_string().len() < 4 * EXCERPT_LIMIT + 1024);
        }
    }

    #[test]
    fn watch_lines_of_any_json_decode_or_fail_cleanly(value in json_value()) {
        let line = value.to_string();
        match decode_event::<Value>(line.as_bytes(), "GET /x") {
            Ok((WatchEvent::Bookmark(_), _)) | Ok(_) => {}
            Err(Error::Api(status)) => prop_assert!((400..=599).contains(&status.code)),
            Err(Error::Decode { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other:?}"),
        }
        // An envelope around any object.
        let event = serde_json::json!({"type": value.get("type").cloned().unwrap_or(Value::from("ADDED")), "object": value});
        let _ = decode_event::<Value>(event.to_string().as_bytes(), "GET /x");
    }

    #[test]
    fn list_pages_of_any_json_decode_or_fail_cleanly(value in json_value()) {
        let text = value.to_string();
        let _ = serde_json::from_str::<Page<Box<serde_json::value::RawValue>>>(&text);
        let _ = serde_json::from_str::<Page<Value>>(&text);
        let wrapped = serde_json::json!({"metadata": value.clone(), "items": [value]}).to_string();
        let _ = serde_json::from_str::<Page<Box<serde_json::value::RawValue>>>(&wrapped);
        read_item_by_item(wrapped.as_bytes(), wrapped.len() / 3);
        read_item_by_item(text.as_bytes(), text.len() / 2);
    }

    #[test]
    fn list_pages_of_any_bytes_decode_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512), cut in 0usize..512) {
        let _ = serde_json::from_slice::<Page<Value>>(&bytes);
        read_item_by_item(&bytes, cut);
    }

    #[test]
    fn statuses_of_any_body_are_bounded(code in 0u16..1000, value in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let status = Status::from_response(code, &bytes);
        prop_assert!(status.message.len() <= 4 * EXCERPT_LIMIT + 256);
        let text = value.to_string();
        let _ = Status::from_response(code, text.as_bytes());
        let with_kind = serde_json::json!({"kind": "Status", "code": value.clone(), "message": value, "details": {"retryAfterSeconds": code}});
        let _ = Status::from_response(code, with_kind.to_string().as_bytes());
    }
}
