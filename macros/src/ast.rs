//! The plain model of an annotated trait: one [`Endpoint`] per method.

use syn::{FnArg, Ident, ItemTrait, LitStr, Pat, ReturnType, TraitItem, TraitItemFn, Type};

use crate::attr::{self, ArgAttr, Verb};
use crate::ctxt::Ctxt;
use crate::path::PathTemplate;
use crate::valid;

/// One endpoint method, checked and ready to expand.
pub(crate) struct Endpoint {
    pub(crate) func: TraitItemFn,
    pub(crate) verb: Verb,
    pub(crate) template: PathTemplate,
    pub(crate) args: Vec<Arg>,
    pub(crate) returns: Returns,
}

/// One argument after `&self`.
pub(crate) struct Arg {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) kind: ArgKind,
}

pub(crate) enum ArgKind {
    /// Bound to the path placeholder of the same name.
    Path,
    Query {
        name: String,
        flatten: bool,
    },
    Body {
        content_type: Option<LitStr>,
    },
    Header {
        name: LitStr,
    },
}

/// How the response is decoded, from the `T` in `Result<T>`.
pub(crate) enum Returns {
    /// `Result<()>`: the body is ignored.
    Empty,
    /// `Result<String>`: the body as text.
    Text,
    /// `Result<WatchStream<T>>`: a watch; `watch=true` is added to the query.
    Watch,
    /// Anything else: JSON into `T`.
    Json,
}

/// A method as written, before checks: its verb attributes and its arguments.
pub(crate) struct RawArg {
    pub(crate) ident: Option<Ident>,
    pub(crate) pat: Box<Pat>,
    pub(crate) ty: Type,
    pub(crate) attrs: Vec<(syn::Attribute, Option<ArgAttr>)>,
}

/// Parses every method of the trait. Methods with a default body are left alone (they are
/// helpers, not endpoints). Returns the endpoints that are valid; every problem goes into `cx`.
pub(crate) fn parse_endpoints(item: &ItemTrait, cx: &mut Ctxt) -> Vec<Endpoint> {
    valid::check_trait(item, cx);
    let mut endpoints = Vec::new();
    for trait_item in &item.items {
        let TraitItem::Fn(func) = trait_item else {
            cx.error_spanned_by(
                trait_item,
                "#[in_cluster_client] traits hold only endpoint methods; move consts, types and macros elsewhere",
            );
            continue;
        };
        let verbs: Vec<_> = func
            .attrs
            .iter()
            .filter_map(|a| Verb::of(a).map(|v| (v, a)))
            .collect();
        if func.default.is_some() {
            if let Some((_, attr)) = verbs.first() {
                cx.error_spanned_by(
                    attr,
                    "an endpoint method has no body: the client is generated; remove the `{ … }`",
                );
            }
            continue;
        }
        if let Some(endpoint) = parse_endpoint(func, &verbs, cx) {
            endpoints.push(endpoint);
        }
    }
    endpoints
}

fn parse_endpoint(
    func: &TraitItemFn,
    verbs: &[(Verb, &syn::Attribute)],
    cx: &mut Ctxt,
) -> Option<Endpoint> {
    let sig = &func.sig;
    let verb_and_path = match verbs {
        [] => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "method `{}` has no HTTP verb: add one of #[get(\"…\")], #[post(\"…\")], #[put(\"…\")], #[patch(\"…\")], #[delete(\"…\")]",
                    sig.ident
                ),
            );
            None
        }
        [(verb, attr)] => attr::parse_verb_path(attr, cx).map(|lit| (*verb, lit)),
        [_, (_, second), ..] => {
            cx.error_spanned_by(
                second,
                format!(
                    "method `{}` has more than one HTTP verb; keep exactly one",
                    sig.ident
                ),
            );
            None
        }
    };
    let signature_ok = valid::check_signature(func, cx);
    let returns = valid::check_return(sig, cx);
    let raw_args = raw_args(func, cx);
    let (verb, lit) = verb_and_path?;
    let template = PathTemplate::parse(lit, cx);
    let args = valid::bind_args(&sig.ident, verb, &template, raw_args, cx)?;
    if !signature_ok {
        return None;
    }
    Some(Endpoint {
        func: func.clone(),
        verb,
        template,
        args,
        returns: returns?,
    })
}

fn raw_args(func: &TraitItemFn, cx: &mut Ctxt) -> Vec<RawArg> {
    let mut args = Vec::new();
    for input in &func.sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.subpat.is_none() && pat.by_ref.is_none() => {
                Some(pat.ident.clone())
            }
            other => {
                cx.error_spanned_by(
                    other,
                    "endpoint arguments must be plain names like `name: &str`, not patterns",
                );
                None
            }
        };
        let attrs = typed
            .attrs
            .iter()
            .filter(|a| attr::is_arg_attr(a))
            .map(|a| (a.clone(), attr::parse_arg_attr(a, cx)))
            .collect();
        args.push(RawArg {
            ident,
            pat: typed.pat.clone(),
            ty: (*typed.ty).clone(),
            attrs,
        });
    }
    args
}

/// The `T` of a `Result<T>` / `Result<T, E>` return type.
pub(crate) fn ok_type(ret: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = ret else {
        return None;
    };
    let Type::Path(path) = &**ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}
