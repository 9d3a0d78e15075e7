//! Checks on the trait and its methods. Each problem is reported at the offending token.

use std::collections::HashSet;

use syn::ext::IdentExt;
use syn::{FnArg, Ident, ItemTrait, Signature, TraitItemFn, Type};

use crate::ast::{ok_type, Arg, ArgKind, RawArg, Returns};
use crate::attr::{lower_camel_case, ArgAttr, Verb};
use crate::ctxt::Ctxt;
use crate::path::PathTemplate;

/// Names the generated client defines itself.
const RESERVED: [&str; 3] = ["new", "in_cluster", "client"];

pub(crate) fn check_trait(item: &ItemTrait, cx: &mut Ctxt) {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &item.generics,
            "#[in_cluster_client] traits cannot be generic; put the types in the method signatures",
        );
    }
    if !item.supertraits.is_empty() {
        cx.error_spanned_by(&item.supertraits, "#[in_cluster_client] traits cannot have supertraits: the generated client could not implement them");
    }
    if let Some(unsafety) = &item.unsafety {
        cx.error_spanned_by(unsafety, "#[in_cluster_client] traits cannot be `unsafe`");
    }
}

/// `async`, `&self`, not generic, not a reserved name. Returns whether all held.
pub(crate) fn check_signature(func: &TraitItemFn, cx: &mut Ctxt) -> bool {
    let sig = &func.sig;
    let mut ok = true;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("method `{}` must be `async fn`", sig.ident),
        );
        ok = false;
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "method `{}` cannot be generic: each endpoint has concrete types",
                sig.ident
            ),
        );
        ok = false;
    }
    if RESERVED.contains(&sig.ident.to_string().as_str()) {
        cx.error_spanned_by(
            &sig.ident,
            format!(
                "method name `{}` collides with the generated client's own `{}`; rename the method",
                sig.ident, sig.ident
            ),
        );
        ok = false;
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some()
                && receiver.mutability.is_none()
                && receiver.colon_token.is_none() => {}
        Some(FnArg::Receiver(receiver)) => {
            cx.error_spanned_by(
                receiver,
                format!(
                    "method `{}` must take `&self` (shared, so calls can run concurrently)",
                    sig.ident
                ),
            );
            ok = false;
        }
        _ => {
            cx.error_spanned_by(
                &sig.ident,
                format!(
                    "method `{}` must take `&self` as its first argument",
                    sig.ident
                ),
            );
            ok = false;
        }
    }
    for unsupported in [
        sig.constness.is_some(),
        sig.unsafety.is_some(),
        sig.abi.is_some(),
        sig.variadic.is_some(),
    ] {
        if unsupported {
            cx.error_spanned_by(sig, format!("method `{}` must be a plain `async fn` (no const, unsafe, extern or variadics)", sig.ident));
            ok = false;
            break;
        }
    }
    ok
}

/// The return type must be `Result<T>`; `T` picks the decoding.
pub(crate) fn check_return(sig: &Signature, cx: &mut Ctxt) -> Option<Returns> {
    let Some(ty) = ok_type(&sig.output) else {
        let message = format!(
            "method `{}` must return `incluster::Result<T>` (T: DeserializeOwned, `()`, `String` or `WatchStream<T>`)",
            sig.ident
        );
        match &sig.output {
            syn::ReturnType::Default => cx.error_spanned_by(&sig.ident, message),
            syn::ReturnType::Type(_, ty) => cx.error_spanned_by(ty, message),
        }
        return None;
    };
    Some(match ty {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Returns::Empty,
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("String") => Returns::Text,
        Type::Path(path)
            if path
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "WatchStream") =>
        {
            Returns::Watch
        }
        _ => Returns::Json,
    })
}

/// Binds every argument to a placeholder, a query parameter, the body or a header, and every
/// placeholder but `{namespace}` to an argument.
pub(crate) fn bind_args(
    method: &Ident,
    verb: Verb,
    template: &PathTemplate,
    raw: Vec<RawArg>,
    cx: &mut Ctxt,
) -> Option<Vec<Arg>> {
    let mut ok = true;
    let mut args = Vec::new();
    let mut body_seen = false;
    let mut names = HashSet::new();
    for arg in raw {
        let Some(ident) = arg.ident else {
            ok = false;
            continue;
        };
        let name = ident.unraw().to_string();
        names.insert(name.clone());
        let is_placeholder = template.placeholders.contains(&name);
        let mut kinds = Vec::new();
        for (attr, parsed) in &arg.attrs {
            match parsed {
                Some(parsed) => kinds.push((attr, parsed)),
                None => ok = false,
            }
        }
        if kinds.len() > 1 {
            cx.error_spanned_by(
                kinds[1].0,
                format!(
                    "argument `{name}` has more than one of #[query], #[body], #[header]; keep one"
                ),
            );
            ok = false;
            continue;
        }
        let kind = match kinds.first() {
            None if is_placeholder => ArgKind::Path,
            None if arg.attrs.is_empty() => {
                cx.error_spanned_by(
                    &arg.pat,
                    format!(
                        "argument `{name}` is not used: it is not a placeholder in {:?}; mark it #[query], #[body] or #[header(\"…\")]",
                        template.lit.value()
                    ),
                );
                ok = false;
                continue;
            }
            None => continue, // its attribute failed to parse and was reported
            Some((attr, _)) if is_placeholder => {
                cx.error_spanned_by(
                    attr,
                    format!("argument `{name}` fills the path placeholder `{{{name}}}`; it cannot also be a query parameter, body or header"),
                );
                ok = false;
                continue;
            }
            Some((attr, ArgAttr::Body { content_type })) => {
                if body_seen {
                    cx.error_spanned_by(
                        attr,
                        format!(
                            "method `{method}` has two #[body] arguments; a request has one body"
                        ),
                    );
                    ok = false;
                }
                if verb == Verb::Get {
                    cx.error_spanned_by(attr, format!("method `{method}` is a GET, which sends no body; use #[post], #[put] or #[patch]"));
                    ok = false;
                }
                body_seen = true;
                ArgKind::Body {
                    content_type: content_type.clone(),
                }
            }
            Some((
                _,
                ArgAttr::Query {
                    name: rename,
                    flatten,
                },
            )) => ArgKind::Query {
                name: rename.clone().unwrap_or_else(|| lower_camel_case(&name)),
                flatten: *flatten,
            },
            Some((_, ArgAttr::Header { name })) => ArgKind::Header { name: name.clone() },
        };
        args.push(Arg {
            ident,
            ty: arg.ty,
            kind,
        });
    }
    for placeholder in &template.placeholders {
        if placeholder != "namespace" && !names.contains(placeholder) {
            cx.error_spanned_by(
                &template.lit,
                format!(
                    "path placeholder `{{{placeholder}}}` has no matching argument; add `{placeholder}: &str` to `{method}`"
                ),
            );
            ok = false;
        }
    }
    ok.then_some(args)
}
