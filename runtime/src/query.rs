//! Turning argument values into query parameters.

use serde::Serialize;

/// A value that can be sent as a query parameter.
///
/// `Option` adds nothing when `None`; slices and `Vec`s repeat the parameter once per element.
///
/// ```
/// use incluster::QueryValue;
/// let mut pairs = Vec::new();
/// Some(5u32).append_to("limit", &mut pairs);
/// None::<&str>.append_to("continue", &mut pairs);
/// vec!["a", "b"].append_to("fieldSelector", &mut pairs);
/// assert_eq!(pairs, [("limit".to_string(), "5".to_string()),
///                    ("fieldSelector".to_string(), "a".to_string()),
///                    ("fieldSelector".to_string(), "b".to_string())]);
/// ```
pub trait QueryValue {
    /// Appends `name=value` pairs for this value to `pairs`.
    fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>);
}

macro_rules! display_query_value {
    ($($ty:ty),*) => {$(
        impl QueryValue for $ty {
            fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>) {
                pairs.push((name.to_string(), self.to_string()));
            }
        }
    )*};
}

display_query_value!(str, String, bool, u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: QueryValue + ?Sized> QueryValue for &T {
    fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>) {
        (**self).append_to(name, pairs);
    }
}

impl<T: QueryValue> QueryValue for Option<T> {
    fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>) {
        if let Some(value) = self {
            value.append_to(name, pairs);
        }
    }
}

impl<T: QueryValue> QueryValue for [T] {
    fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>) {
        for value in self {
            value.append_to(name, pairs);
        }
    }
}

impl<T: QueryValue> QueryValue for Vec<T> {
    fn append_to(&self, name: &str, pairs: &mut Vec<(String, String)>) {
        self.as_slice().append_to(name, pairs);
    }
}

/// Flattens a `Serialize` struct into query pairs: field names as serde names them, `None`
/// fields skipped, sequences repeated.
pub(crate) fn flatten(
    value: &impl Serialize,
    pairs: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let json = serde_json::to_value(value).map_err(|err| err.to_string())?;
    let serde_json::Value::Object(map) = json else {
        return Err(format!("it serializes to {json}, not to a struct or map"));
    };
    for (name, value) in map {
        push_json(&name, value, pairs, true)?;
    }
    Ok(())
}

fn push_json(
    name: &str,
    value: serde_json::Value,
    pairs: &mut Vec<(String, String)>,
    allow_seq: bool,
) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::Null => {}
        Value::String(s) => pairs.push((name.to_string(), s)),
        Value::Bool(b) => pairs.push((name.to_string(), b.to_string())),
        Value::Number(n) => pairs.push((name.to_string(), n.to_string())),
        Value::Array(items) if allow_seq => {
            for item in items {
                push_json(name, item, pairs, false)?;
            }
        }
        other => {
            return Err(format!(
                "field `{name}` is {other}, which has no query-string form"
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_structs() {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct ListParams<'a> {
            label_selector: Option<&'a str>,
            limit: Option<u32>,
            watch: bool,
            fields: Vec<&'a str>,
        }
        let mut pairs = Vec::new();
        flatten(
            &ListParams {
                label_selector: None,
                limit: Some(3),
                watch: true,
                fields: vec!["a", "b"],
            },
            &mut pairs,
        )
        .unwrap();
        let got: Vec<_> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        // serde_json's map (without `preserve_order`, which the crate does not force on users)
        // sorts by name.
        assert_eq!(got, ["fields=a", "fields=b", "limit=3", "watch=true"]);
        assert!(flatten(&5, &mut pairs).is_err());
    }
}
