//! Checks the finished model. Nothing here builds anything: each rule reads the model and reports
//! a problem at the offending token; every problem is reported, not just the first.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Generics, ReturnType};

use crate::ast::{Arg, Binding, Endpoint, Returns, Route, Trait};
use crate::attr::Verb;
use crate::ctxt::Ctxt;
use crate::path::PathTemplate;
use crate::syntax::FnArg;
use crate::types::StreamKind;

/// Names the generated client defines itself.
const RESERVED: [&str; 3] = ["new", "in_cluster", "client"];

pub(crate) fn check(model: &Trait, cx: &mut Ctxt) {
    check_trait(model, cx);
    for endpoint in &model.endpoints {
        check_endpoint(endpoint, cx);
    }
}

fn check_trait(model: &Trait, cx: &mut Ctxt) {
    let item = model.item;
    if let Some(generics) = written_generics(&item.generics) {
        cx.error_spanned_by(
            generics,
            "#[in_cluster_client] traits cannot be generic; put the types in the method signatures",
        );
    }
    if !item.supertraits.is_empty() {
        cx.error_spanned_by(
            &item.supertraits,
            "#[in_cluster_client] traits cannot have supertraits: the generated client could not implement them",
        );
    }
    if let Some(unsafety) = &item.unsafety {
        cx.error_spanned_by(unsafety, "#[in_cluster_client] traits cannot be `unsafe`");
    }
    for other in &model.others {
        cx.error_spanned_by(
            other,
            "#[in_cluster_client] traits hold only endpoint methods; move consts, types and macros elsewhere",
        );
    }
    for provided in &model.provided {
        if let Some(verb) = provided.verbs.first() {
            cx.error_spanned_by(
                verb,
                "an endpoint method has no body: the client is generated; remove the `{ … }`",
            );
        }
    }
}

fn check_endpoint(endpoint: &Endpoint, cx: &mut Ctxt) {
    let method = &endpoint.func.sig.ident;
    let route = match endpoint.routes.as_slice() {
        [] => {
            cx.error_spanned_by(
                method,
                format!(
                    "method `{method}` has no HTTP verb: add one of #[get(\"…\")], #[post(\"…\")], #[put(\"…\")], #[patch(\"…\")], #[delete(\"…\")], #[apply(\"…\")]"
                ),
            );
            None
        }
        [route] => Some(route),
        [_, second, ..] => {
            cx.error_spanned_by(
                second.attr,
                format!("method `{method}` has more than one HTTP verb; keep exactly one"),
            );
            None
        }
    };
    check_signature(endpoint, cx);
    check_return(endpoint, route, cx);
    for arg in &endpoint.args {
        check_arg(endpoint, arg, route, cx);
    }
    if let Some(Route {
        verb,
        template: Some(template),
        ..
    }) = route
    {
        check_bodies(endpoint, *verb, cx);
        check_placeholders_bound(endpoint, template, cx);
        if let Some(Err(why)) = route.and_then(|route| endpoint.rbac_rules(route)) {
            cx.error_spanned_by(&template.lit, why);
        }
    }
    check_timeout(endpoint, cx);
}

/// At most one `#[timeout]`, and none on a stream that stays open (it would cut it).
fn check_timeout(endpoint: &Endpoint, cx: &mut Ctxt) {
    let method = &endpoint.func.sig.ident;
    if let [_, (second, _), ..] = endpoint.timeouts.as_slice() {
        cx.error_spanned_by(
            second,
            format!("method `{method}` has more than one #[timeout]; keep one"),
        );
    }
    let Some((attr, _)) = endpoint.timeouts.first() else {
        return;
    };
    if let Some(kind) = endpoint.stream_kind() {
        if kind != StreamKind::List {
            cx.error_spanned_by(
                attr,
                format!(
                    "#[timeout] bounds the whole request, which would cut the `{}` that method `{method}` keeps open; remove it (a silent connection is detected by the client's liveness checks)",
                    kind.spelled()
                ),
            );
        }
    }
}

/// `async`, `&self`, not generic, not a reserved name, nothing else on the `fn`.
fn check_signature(endpoint: &Endpoint, cx: &mut Ctxt) {
    let sig = &endpoint.func.sig;
    let method = &sig.ident;
    if sig.asyncness.is_none() {
        cx.error_spanned_by(
            sig.fn_token,
            format!("method `{method}` must be `async fn`"),
        );
    }
    if let Some(generics) = written_generics(&sig.generics) {
        cx.error_spanned_by(
            generics,
            format!("method `{method}` cannot be generic: each endpoint has concrete types"),
        );
    }
    if RESERVED.contains(&method.to_string().as_str()) {
        cx.error_spanned_by(
            method,
            format!(
                "method name `{method}` collides with the generated client's own `{method}`; rename the method"
            ),
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(FnArg::Receiver(receiver)) => cx.error_spanned_by(
            receiver,
            format!("method `{method}` must take `&self` (shared, so calls can run concurrently)"),
        ),
        _ => cx.error_spanned_by(
            method,
            format!("method `{method}` must take `&self` as its first argument"),
        ),
    }
    if sig.constness.is_some()
        || sig.unsafety.is_some()
        || sig.abi.is_some()
        || sig.variadic.is_some()
    {
        cx.error_spanned_by(
            sig,
            format!(
                "method `{method}` must be a plain `async fn` (no const, unsafe, extern or variadics)"
            ),
        );
    }
}

/// What to point at when something is generic: the `<…>` parameters, else the where clause.
fn written_generics(generics: &Generics) -> Option<TokenStream> {
    if generics.params.is_empty() {
        generics
            .where_clause
            .as_ref()
            .map(ToTokens::to_token_stream)
    } else {
        Some(generics.to_token_stream())
    }
}

/// The return type is `Result<T>`; a stream type is read with GET. (A stream type with the
/// wrong number of type arguments is left to rustc, whose E0107 points at the same token.)
fn check_return(endpoint: &Endpoint, route: Option<&Route>, cx: &mut Ctxt) {
    let sig = &endpoint.func.sig;
    let method = &sig.ident;
    let Some(returns) = &endpoint.returns else {
        let message = format!(
            "method `{method}` must return `incluster::Result<T>` (T: DeserializeOwned, `()`, `String`, `WatchStream<T>`, `ListStream<T>`, `LineStream` or `Watcher<T>`)"
        );
        match &sig.output {
            ReturnType::Default => cx.error_spanned_by(method, message),
            ReturnType::Type(_, ty) => cx.error_spanned_by(ty, message),
        }
        return;
    };
    let Returns::Stream(stream) = returns else {
        return;
    };
    if let Some(route) = route {
        if route.verb != Verb::Get {
            cx.error_spanned_by(
                stream.written,
                format!(
                    "method `{method}` returns a `{}`, which is read with GET; method `{method}` is a {}: use #[get(\"…\")] or return a decoded `T`",
                    stream.kind.type_name(),
                    route.verb.method_name(),
                ),
            );
        }
    }
}

/// A plain name, bound exactly once: to its placeholder or by one attribute.
fn check_arg(endpoint: &Endpoint, arg: &Arg, route: Option<&Route>, cx: &mut Ctxt) {
    let name = &arg.name;
    if arg.ident.is_none() {
        cx.error_spanned_by(
            arg.pat,
            "endpoint arguments must be plain names like `name: &str`, not patterns",
        );
        return;
    }
    if let [_, second, ..] = arg.markers.as_slice() {
        cx.error_spanned_by(
            second.attr,
            format!(
                "argument `{name}` has more than one of #[query], #[body], #[header]; keep one"
            ),
        );
        return;
    }
    match arg.markers.first() {
        Some(marker) if arg.placeholder => cx.error_spanned_by(
            marker.attr,
            format!(
                "argument `{name}` fills the path placeholder `{{{name}}}`; it cannot also be a query parameter, body or header"
            ),
        ),
        Some(marker) => {
            if let (Binding::Query { name: query }, Some(kind)) =
                (&marker.binding, endpoint.stream_kind())
            {
                check_managed_query(kind, query, marker.attr, cx);
            }
        }
        None if arg.placeholder || arg.unreadable_marker => {}
        None => {
            // Without a readable path there is no telling which arguments are placeholders.
            if let Some(Route {
                template: Some(template),
                ..
            }) = route
            {
                cx.error_spanned_by(
                    arg.pat,
                    format!(
                        "argument `{name}` is not used: it is not a placeholder in {:?}; mark it #[query], #[body] or #[header(\"…\")]",
                        template.lit.value()
                    ),
                );
            }
        }
    }
}

/// A query parameter the runtime sets itself for this stream.
fn check_managed_query(kind: StreamKind, query: &str, attr: &syn::Attribute, cx: &mut Ctxt) {
    if kind.managed_query_names().contains(&query) {
        cx.error_spanned_by(
            attr,
            format!(
                "`{}` sets the query parameter `{query}` itself; remove this argument",
                kind.spelled()
            ),
        );
    }
}

/// At most one `#[body]`, and none on a GET.
fn check_bodies(endpoint: &Endpoint, verb: Verb, cx: &mut Ctxt) {
    let method = &endpoint.func.sig.ident;
    let bodies = endpoint
        .args
        .iter()
        .filter(|arg| arg.markers.len() == 1 && !arg.placeholder)
        .filter_map(|arg| arg.markers.first())
        .filter(|marker| matches!(marker.binding, Binding::Body { .. }));
    for (index, marker) in bodies.enumerate() {
        if index == 1 {
            cx.error_spanned_by(
                marker.attr,
                format!("method `{method}` has two #[body] arguments; a request has one body"),
            );
        }
        if verb == Verb::Get {
            cx.error_spanned_by(
                marker.attr,
                format!(
                    "method `{method}` is a GET, which sends no body; use #[post], #[put] or #[patch]"
                ),
            );
        }
        if verb == Verb::Apply {
            if let Binding::Body {
                content_type: Some(content_type),
            } = &marker.binding
            {
                cx.error_spanned_by(
                    content_type,
                    format!("#[apply] sends `application/apply-patch+yaml`; remove `content_type` from method `{method}`'s #[body]"),
                );
            }
        }
    }
    if verb == Verb::Apply
        && !endpoint.args.iter().any(|arg| {
            arg.markers
                .iter()
                .any(|m| matches!(m.binding, Binding::Body { .. }))
        })
    {
        cx.error_spanned_by(
            &endpoint.func.sig.ident,
            format!("method `{method}` is an #[apply]: add the object to apply as a `#[body] object: &T` argument"),
        );
    }
}

/// Every placeholder but `{namespace}` names an argument.
fn check_placeholders_bound(endpoint: &Endpoint, template: &PathTemplate, cx: &mut Ctxt) {
    let method = &endpoint.func.sig.ident;
    for placeholder in &template.placeholders {
        let bound = endpoint.args.iter().any(|arg| &arg.name == placeholder);
        if placeholder != "namespace" && !bound {
            cx.error_spanned_by(
                &template.lit,
                format!(
                    "path placeholder `{{{placeholder}}}` has no matching argument; add `{placeholder}: &str` to `{method}`"
                ),
            );
        }
    }
}
