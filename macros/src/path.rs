//! Path templates: `/api/v1/namespaces/{namespace}/configmaps/{name}`.

use crate::ctxt::Ctxt;
use syn::LitStr;

/// A parsed path template. Placeholders fill whole segments.
pub(crate) struct PathTemplate {
    pub(crate) lit: LitStr,
    /// The placeholder names, in order. A segment in error (`cm-{name}`) still lists the names it
    /// mentions, so the argument is not reported a second time as unused.
    pub(crate) placeholders: Vec<String>,
    /// The segments after the leading `/`, in order (none for `/`). A malformed segment is kept
    /// as a literal; it has been reported.
    pub(crate) segments: Vec<Segment>,
    /// Whether the template parsed without errors (only then are its RBAC rules derived).
    pub(crate) valid: bool,
}

/// One segment of a path template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Text written as is: `api`, `configmaps`.
    Literal(String),
    /// `{name}`: filled from an argument (or, for `{namespace}`, the client's namespace).
    Placeholder(String),
}

impl PathTemplate {
    /// Parses `lit`, recording every problem in `cx`.
    pub(crate) fn parse(lit: LitStr, cx: &mut Ctxt) -> PathTemplate {
        let text = lit.value();
        let errors_before = cx.count();
        let mut placeholders = Vec::new();
        let mut parsed = Vec::new();
        if !text.starts_with('/') {
            cx.error_spanned_by(&lit, format!("path {text:?} must start with `/`, e.g. \"/api/v1/namespaces/{{namespace}}/pods\""));
        }
        if let Some(c) = text.chars().find(|c| matches!(c, '?' | '#')) {
            cx.error_spanned_by(
                &lit,
                format!("path {text:?} must not contain `{c}`: declare query parameters as `#[query]` arguments"),
            );
        }
        let segments: Vec<&str> = text.trim_start_matches('/').split('/').collect();
        let count = segments.len();
        for (index, segment) in segments.into_iter().enumerate() {
            let is_trailing = index + 1 == count;
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) if is_identifier(name) => {
                    parsed.push(Segment::Placeholder(name.to_string()))
                }
                _ if !segment.is_empty() => parsed.push(Segment::Literal(segment.to_string())),
                _ => {}
            }
            if segment.is_empty() {
                if !(is_trailing && count == 1) {
                    cx.error_spanned_by(
                        &lit,
                        format!("path {text:?} has an empty segment (`//` or a trailing `/`)"),
                    );
                }
                continue;
            }
            if segment == "." || segment == ".." {
                cx.error_spanned_by(
                    &lit,
                    format!("path {text:?} must not contain a `{segment}` segment"),
                );
                continue;
            }
            let has_brace = segment.contains('{') || segment.contains('}');
            if !has_brace {
                continue;
            }
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                cx.error_spanned_by(
                    &lit,
                    format!("in path {text:?}, `{segment}` must be a whole segment placeholder like `{{name}}`"),
                );
                placeholders.extend(
                    segment
                        .split(['{', '}'])
                        .skip(1)
                        .step_by(2)
                        .filter(|name| is_identifier(name))
                        .map(str::to_string),
                );
                continue;
            };
            if !is_identifier(name) {
                cx.error_spanned_by(
                    &lit,
                    format!("in path {text:?}, placeholder `{{{name}}}` is not an identifier: use the name of an argument, e.g. `{{name}}`"),
                );
                continue;
            }
            if placeholders.iter().any(|p| p == name) {
                cx.error_spanned_by(
                    &lit,
                    format!("in path {text:?}, placeholder `{{{name}}}` appears twice"),
                );
                continue;
            }
            placeholders.push(name.to_string());
        }
        PathTemplate {
            lit,
            placeholders,
            segments: parsed,
            valid: cx.count() == errors_before,
        }
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        && name != "_"
        && syn::parse_str::<syn::Ident>(name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Vec<String>, Option<String>) {
        let mut cx = Ctxt::default();
        let template =
            PathTemplate::parse(LitStr::new(text, proc_macro2::Span::call_site()), &mut cx);
        (
            template.placeholders,
            cx.into_compile_errors().map(|e| e.to_string()),
        )
    }

    #[test]
    fn placeholders_in_order() {
        let (names, errors) = parse("/api/v1/namespaces/{namespace}/configmaps/{name}");
        assert_eq!(names, ["namespace", "name"]);
        assert!(errors.is_none());
        assert!(parse("/").1.is_none());
    }

    #[test]
    fn a_malformed_segment_still_names_its_placeholder() {
        let (names, errors) = parse("/api/v1/configmaps/cm-{name}/x{1y}");
        assert_eq!(names, ["name"]);
        assert!(errors.is_some());
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in [
            "api",
            "/api?x=1",
            "/a#b",
            "/a/{}",
            "/a/{a-b}",
            "/a/{1x}",
            "/a/x{y}",
            "/a//b",
            "/a/",
            "/a/{x}/{x}",
            "/a/../b",
            "/a/{fn}",
        ] {
            assert!(parse(bad).1.is_some(), "{bad} should be rejected");
        }
    }
}
