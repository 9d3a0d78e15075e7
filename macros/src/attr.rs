//! The attributes the macro understands, parsed into plain values: its own arguments
//! (`crate = "…"`), the verb on a method, and the `#[query]`, `#[body]`, `#[header]` markers on
//! arguments. Syntax mistakes inside one attribute (unknown or repeated keys, a missing string)
//! are reported here; how attributes combine is checked in `valid.rs`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Path};

use crate::ctxt::Ctxt;
use crate::naming::path_text;

/// `#[in_cluster_client(crate = "…")]`.
pub(crate) struct Options {
    /// The path generated code uses to reach the runtime crate; `::incluster` by default.
    pub(crate) krate: Path,
}

pub(crate) fn parse_options(args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut krate: Option<Path> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            let path = lit.parse()?;
            if krate.is_some() {
                return Err(duplicate(&meta, "crate", "in_cluster_client"));
            }
            krate = Some(path);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown key `{}` in #[in_cluster_client(…)]; the valid key is: crate = \"path::to::incluster\"",
                path_text(&meta.path)
            )))
        }
    });
    if let Err(err) = syn::parse::Parser::parse2(parser, args) {
        cx.push(err);
    }
    Options {
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::incluster)),
    }
}

/// The verb attributes, in the order they are documented: the HTTP verbs, and `apply`
/// (server-side apply: a PATCH with `Content-Type: application/apply-patch+yaml`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Apply,
}

impl Verb {
    const ALL: [(&'static str, Verb); 6] = [
        ("get", Verb::Get),
        ("post", Verb::Post),
        ("put", Verb::Put),
        ("patch", Verb::Patch),
        ("delete", Verb::Delete),
        ("apply", Verb::Apply),
    ];

    /// The verb an attribute names, if it is one of `#[get]` … `#[delete]`.
    pub(crate) fn of(attr: &Attribute) -> Option<Verb> {
        Verb::ALL
            .iter()
            .find(|(name, _)| attr.path().is_ident(name))
            .map(|(_, verb)| *verb)
    }

    /// The `Method` constant's name: `GET`, `POST`, …
    pub(crate) fn method_name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Patch | Verb::Apply => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
}

/// `#[timeout(secs = 30)]` or `#[timeout(millis = 1500)]` on a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    Secs(u64),
    Millis(u64),
}

/// Whether `attr` is `#[timeout(…)]`.
pub(crate) fn is_timeout(attr: &Attribute) -> bool {
    attr.path().is_ident("timeout")
}

/// The longest per-method timeout accepted: a day. Longer is almost surely a unit mistake.
const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

/// Reads `#[timeout(secs = 30)]` / `#[timeout(millis = 1500)]`; errors point at the bad token.
pub(crate) fn parse_timeout(attr: &Attribute, cx: &mut Ctxt) -> Option<Timeout> {
    const USAGE: &str = "write #[timeout(secs = 30)] or #[timeout(millis = 1500)]";
    if !matches!(attr.meta, syn::Meta::List(_)) {
        cx.error_spanned_by(attr, format!("#[timeout] needs a duration: {USAGE}"));
        return None;
    }
    if let Ok(lit) = attr.parse_args::<LitStr>() {
        cx.error_spanned_by(
            &lit,
            format!("#[timeout] takes a number of seconds or milliseconds, not a string: {USAGE}"),
        );
        return None;
    }
    let mut timeout: Option<Timeout> = None;
    let result = attr.parse_nested_meta(|meta| {
        let unit: fn(u64) -> Timeout = if meta.path.is_ident("secs") {
            Timeout::Secs
        } else if meta.path.is_ident("millis") {
            Timeout::Millis
        } else {
            return Err(meta.error(format!(
                "unknown key `{}` in #[timeout(…)]; {USAGE}",
                path_text(&meta.path)
            )));
        };
        if timeout.is_some() {
            return Err(meta.error(format!("#[timeout] takes one duration; {USAGE}")));
        }
        let lit: syn::LitInt = meta.value()?.parse().map_err(|err| {
            syn::Error::new(err.span(), format!("expected a whole number; {USAGE}"))
        })?;
        if !lit.suffix().is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                format!("write the number without a suffix; {USAGE}"),
            ));
        }
        let value: u64 = lit.base10_parse()?;
        let value_ms = match unit(value) {
            Timeout::Secs(s) => s.saturating_mul(1000),
            Timeout::Millis(ms) => ms,
        };
        if value == 0 {
            return Err(syn::Error::new(
                lit.span(),
                "a timeout of 0 would fail every call; give a positive duration, or remove #[timeout] to use the client's default",
            ));
        }
        if value_ms > MAX_TIMEOUT_SECS * 1000 {
            return Err(syn::Error::new(
                lit.span(),
                "a timeout longer than a day is almost surely a unit mistake (`secs` vs `millis`); at most 86400 secs",
            ));
        }
        timeout = Some(unit(value));
        Ok(())
    });
    if let Err(err) = result {
        cx.push(err);
        return None;
    }
    if timeout.is_none() {
        cx.error_spanned_by(attr, format!("#[timeout] needs a duration: {USAGE}"));
    }
    timeout
}

/// Reads the path string of a verb attribute: `#[get("/api")]`.
pub(crate) fn parse_verb_path(attr: &Attribute, cx: &mut Ctxt) -> Option<LitStr> {
    match attr.parse_args::<LitStr>() {
        Ok(lit) => Some(lit),
        Err(_) => {
            let verb = path_text(attr.path());
            cx.error_spanned_by(
                attr,
                format!("expected a path string: #[{verb}(\"/api/v1/namespaces/{{namespace}}/configmaps/{{name}}\")]"),
            );
            None
        }
    }
}

/// What an argument attribute says the argument is.
pub(crate) enum ArgAttr {
    /// `#[query]`, `#[query(name = "…")]`, `#[query(flatten)]`.
    Query { name: Option<String>, flatten: bool },
    /// `#[body]`, `#[body(content_type = "…")]`.
    Body { content_type: Option<LitStr> },
    /// `#[header("Name")]`.
    Header { name: LitStr },
}

/// Whether `attr` is one of ours (so it is stripped from the emitted code).
pub(crate) fn is_arg_attr(attr: &Attribute) -> bool {
    ["query", "body", "header"]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

/// Parses one of `#[query]`, `#[query(name = "…")]`, `#[query(flatten)]`, `#[body]`,
/// `#[body(content_type = "…")]`, `#[header("Name")]`. `None` when it was reported as wrong.
pub(crate) fn parse_arg_attr(attr: &Attribute, cx: &mut Ctxt) -> Option<ArgAttr> {
    let path = attr.path();
    if path.is_ident("query") {
        parse_query(attr, cx)
    } else if path.is_ident("body") {
        parse_body(attr, cx)
    } else {
        parse_header(attr, cx)
    }
}

fn parse_query(attr: &Attribute, cx: &mut Ctxt) -> Option<ArgAttr> {
    let mut name: Option<String> = None;
    let mut flatten = false;
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return Some(ArgAttr::Query { name, flatten });
    }
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("name") {
            let lit: LitStr = meta.value()?.parse()?;
            if name.is_some() {
                return Err(duplicate(&meta, "name", "query"));
            }
            if lit.value().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "a query parameter name must not be empty",
                ));
            }
            name = Some(lit.value());
            Ok(())
        } else if meta.path.is_ident("flatten") {
            if flatten {
                return Err(duplicate(&meta, "flatten", "query"));
            }
            flatten = true;
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown key `{}` in #[query(…)]; valid keys: name = \"…\", flatten",
                path_text(&meta.path)
            )))
        }
    });
    if let Err(err) = result {
        cx.push(err);
        return None;
    }
    if flatten && name.is_some() {
        cx.error_spanned_by(
            attr,
            "#[query(flatten)] takes its names from the struct's fields; remove `name = …`",
        );
        return None;
    }
    Some(ArgAttr::Query { name, flatten })
}

fn parse_body(attr: &Attribute, cx: &mut Ctxt) -> Option<ArgAttr> {
    let mut content_type: Option<LitStr> = None;
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return Some(ArgAttr::Body { content_type });
    }
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("content_type") {
            let lit: LitStr = meta.value()?.parse()?;
            if content_type.is_some() {
                return Err(duplicate(&meta, "content_type", "body"));
            }
            content_type = Some(lit);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown key `{}` in #[body(…)]; the valid key is: content_type = \"…\"",
                path_text(&meta.path)
            )))
        }
    });
    if let Err(err) = result {
        cx.push(err);
        return None;
    }
    Some(ArgAttr::Body { content_type })
}

fn parse_header(attr: &Attribute, cx: &mut Ctxt) -> Option<ArgAttr> {
    match attr.parse_args::<LitStr>() {
        Ok(name) if is_header_name(&name.value()) => Some(ArgAttr::Header { name }),
        Ok(name) => {
            cx.error_spanned_by(
                &name,
                format!(
                    "{:?} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
                    name.value()
                ),
            );
            None
        }
        Err(_) => {
            cx.error_spanned_by(attr, "expected a header name: #[header(\"If-Match\")]");
            None
        }
    }
}

/// The error for a key given twice, at its second occurrence.
fn duplicate(meta: &ParseNestedMeta, key: &str, attr: &str) -> syn::Error {
    meta.error(format!("`{key}` is given twice in #[{attr}(…)]; keep one"))
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
