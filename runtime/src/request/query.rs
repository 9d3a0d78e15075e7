//! Turning argument values into query parameters.

use serde::Serialize;

/// The value of a `#[query]` or `#[header]` argument: its text, once per value sent.
///
/// `Option` sends nothing when `None`; slices and `Vec`s send the parameter (or the header) once
/// per element. Implemented for strings, `bool` and the integer types; implement it for your own
/// type to pass it as a query parameter or header.
///
/// ```
/// use incluster::ParamValue;
/// let mut texts = Vec::new();
/// Some(5u32).each_text(&mut |t| texts.push(t.to_string()));
/// None::<&str>.each_text(&mut |t| texts.push(t.to_string()));
/// vec!["a", "b"].each_text(&mut |t| texts.push(t.to_string()));
/// assert_eq!(texts, ["5", "a", "b"]);
/// ```
pub trait ParamValue {
    /// Calls `f` with the text of each value to send (none for `None`).
    fn each_text(&self, f: &mut dyn FnMut(&str));
}

impl ParamValue for str {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        f(self)
    }
}

impl ParamValue for String {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        f(self)
    }
}

impl ParamValue for bool {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        f(if *self { "true" } else { "false" })
    }
}

/// Integers are written on the stack: no allocation for the text.
struct Digits {
    buf: [u8; 40],
    len: usize,
}

impl std::fmt::Write for Digits {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

macro_rules! integer_param_value {
    ($($ty:ty),*) => {$(
        impl ParamValue for $ty {
            fn each_text(&self, f: &mut dyn FnMut(&str)) {
                use std::fmt::Write;
                let mut digits = Digits { buf: [0; 40], len: 0 };
                let _ = write!(digits, "{self}");
                f(std::str::from_utf8(&digits.buf[..digits.len]).unwrap_or_default())
            }
        }
    )*};
}

integer_param_value!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: ParamValue + ?Sized> ParamValue for &T {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        (**self).each_text(f)
    }
}

impl<T: ParamValue> ParamValue for Option<T> {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        if let Some(value) = self {
            value.each_text(f)
        }
    }
}

impl<T: ParamValue> ParamValue for [T] {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        for value in self {
            value.each_text(f)
        }
    }
}

impl<T: ParamValue> ParamValue for Vec<T> {
    fn each_text(&self, f: &mut dyn FnMut(&str)) {
        self.as_slice().each_text(f)
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
    fn texts_of_values() {
        let mut texts = Vec::new();
        let mut push = |t: &str| texts.push(t.to_string());
        i64::MIN.each_text(&mut push);
        u64::MAX.each_text(&mut push);
        true.each_text(&mut push);
        Some(&Some("x")).each_text(&mut push);
        vec![Some(1u8), None, Some(2)].each_text(&mut push);
        String::from("s").each_text(&mut push);
        assert_eq!(
            texts,
            [
                &i64::MIN.to_string(),
                &u64::MAX.to_string(),
                "true",
                "x",
                "1",
                "2",
                "s"
            ]
        );
    }

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
