//! The attributes the macro understands: its own arguments, the verb on a method, and the
//! `#[query]`, `#[body]`, `#[header]` markers on arguments.

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, LitStr, Path};

use crate::ctxt::Ctxt;

/// `#[in_cluster_client(crate = "…")]`.
pub(crate) struct Options {
    pub(crate) krate: Path,
}

pub(crate) fn parse_options(args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut krate: Path = syn::parse_quote!(::incluster);
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            let lit: LitStr = meta.value()?.parse()?;
            krate = lit.parse()?;
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
    Options { krate }
}

/// The HTTP verbs, in the order they are documented.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Verb {
    pub(crate) const ALL: [(&'static str, Verb); 5] = [
        ("get", Verb::Get),
        ("post", Verb::Post),
        ("put", Verb::Put),
        ("patch", Verb::Patch),
        ("delete", Verb::Delete),
    ];

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
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }
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
    Query { name: Option<String>, flatten: bool },
    Body { content_type: Option<LitStr> },
    Header { name: LitStr },
}

/// Whether `attr` is one of ours (so it is stripped from the emitted code).
pub(crate) fn is_arg_attr(attr: &Attribute) -> bool {
    ["query", "body", "header"]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

/// Parses one of `#[query]`, `#[query(name = "…")]`, `#[query(flatten)]`, `#[body]`,
/// `#[body(content_type = "…")]`, `#[header("Name")]`.
pub(crate) fn parse_arg_attr(attr: &Attribute, cx: &mut Ctxt) -> Option<ArgAttr> {
    let path = attr.path();
    if path.is_ident("query") {
        let mut name = None;
        let mut flatten = false;
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("name") {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new(
                            lit.span(),
                            "a query parameter name must not be empty",
                        ));
                    }
                    name = Some(lit.value());
                    Ok(())
                } else if meta.path.is_ident("flatten") {
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
        }
        return Some(ArgAttr::Query { name, flatten });
    }
    if path.is_ident("body") {
        let mut content_type = None;
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("content_type") {
                    content_type = Some(meta.value()?.parse::<LitStr>()?);
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
        }
        return Some(ArgAttr::Body { content_type });
    }
    // #[header("Name")]
    match attr.parse_args::<LitStr>() {
        Ok(name) if is_header_name(&name.value()) => Some(ArgAttr::Header { name }),
        Ok(name) => {
            cx.error_spanned_by(
                &name,
                format!("{:?} is not a valid HTTP header name", name.value()),
            );
            None
        }
        Err(_) => {
            cx.error_spanned_by(attr, "expected a header name: #[header(\"If-Match\")]");
            None
        }
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(crate) fn path_text(path: &Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}

/// `label_selector` → `labelSelector`, as the Kubernetes API names its parameters.
pub(crate) fn lower_camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper_next = false;
    for c in snake.trim_start_matches('_').chars() {
        if c == '_' {
            upper_next = true;
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A span to point at when nothing better exists.
pub(crate) fn span_of(tokens: &impl quote::ToTokens) -> Span {
    syn::spanned::Spanned::span(&tokens.to_token_stream())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case() {
        assert_eq!(lower_camel_case("label_selector"), "labelSelector");
        assert_eq!(lower_camel_case("dry_run"), "dryRun");
        assert_eq!(lower_camel_case("limit"), "limit");
        assert_eq!(lower_camel_case("timeout_seconds"), "timeoutSeconds");
    }
}
