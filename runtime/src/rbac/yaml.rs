//! A tiny writer from JSON values to block-style YAML, enough for RBAC manifests.
//!
//! Why not a YAML crate: the manifests are maps of maps with short lists of strings, so ~40
//! lines do; `serde_yaml` is unmaintained, and every user of `incluster` would compile a YAML
//! library for a feature that writes a few files. Strings are written as JSON strings, which are
//! valid YAML double-quoted scalars: no name can be misread as a number, boolean or null.

use serde_json::Value;

/// Writes `doc` (an object) as a YAML document, keys in the value's order.
#[inline]
pub(super) fn write_document(out: &mut String, doc: &Value) {
    match doc {
        Value::Object(map) => write_map(out, map, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

#[inline]
fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        push_indent(out, indent);
        out.push_str(key);
        out.push(':');
        write_value(out, value, indent);
    }
}

/// The value after `key:` (on the same line when it is a scalar or a list of scalars).
#[inline]
fn write_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            out.push('\n');
            for item in items {
                push_indent(out, indent + 2);
                out.push_str("- ");
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        let mut first = true;
                        for (key, value) in map {
                            if !first {
                                push_indent(out, indent + 4);
                            }
                            first = false;
                            out.push_str(key);
                            out.push(':');
                            write_value(out, value, indent + 4);
                        }
                    }
                    other => {
                        out.push_str(&scalar(other));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// A scalar, an empty map, or a flow list of scalars, in JSON syntax (which YAML reads alike).
#[inline]
fn scalar(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(scalar).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

#[inline]
fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_maps_lists_and_quoted_strings() {
        let mut out = String::new();
        write_document(
            &mut out,
            &json!({
                "kind": "Role",
                "metadata": {"name": "yes", "namespace": "1"},
                "rules": [{"apiGroups": [""], "verbs": ["get", "list"]}],
                "empty": {},
            }),
        );
        assert_eq!(
            out,
            "empty: {}\nkind: \"Role\"\nmetadata:\n  name: \"yes\"\n  namespace: \"1\"\nrules:\n  - apiGroups: [\"\"]\n    verbs: [\"get\", \"list\"]\n"
        );
    }
}
