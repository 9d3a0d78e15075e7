//! The plain model of an annotated trait, built from its syntax (`syntax/`) with `attr.rs`,
//! `path.rs` and `types.rs`. Building reports only what cannot be read at all (a malformed
//! attribute or path template); every rule about how the parts fit together is checked afterwards
//! by `valid.rs`.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::{Attribute, GenericArgument, Ident, LitStr, Path, Type};

use crate::attr::{self, ArgAttr, Timeout, Verb};
use crate::ctxt::Ctxt;
use crate::naming::lower_camel_case;
use crate::path::PathTemplate;
use crate::syntax::{FnArg, ItemTrait, Pat, PatType, TraitItem, TraitItemFn};
use crate::types::{self, StreamKind};

/// The annotated trait.
pub(crate) struct Trait<'a> {
    pub(crate) item: &'a ItemTrait,
    /// Methods without a body: each one is an endpoint.
    pub(crate) endpoints: Vec<Endpoint<'a>>,
    /// Methods with a default body: helpers, left alone. `verbs` lists verb attributes on them.
    pub(crate) provided: Vec<Provided<'a>>,
    /// Consts, types, macros and methods with a visibility or `default`, as written: nothing the
    /// client could implement.
    pub(crate) others: Vec<&'a TokenStream>,
}

/// A method with a default body.
pub(crate) struct Provided<'a> {
    pub(crate) verbs: Vec<&'a Attribute>,
}

/// One endpoint method.
pub(crate) struct Endpoint<'a> {
    pub(crate) func: &'a TraitItemFn,
    /// One per verb attribute, in order (a valid endpoint has exactly one).
    pub(crate) routes: Vec<Route<'a>>,
    /// The arguments after the receiver.
    pub(crate) args: Vec<Arg<'a>>,
    /// `None` when the method does not return `Result<…>`.
    pub(crate) returns: Option<Returns<'a>>,
    /// Each `#[timeout(…)]`, with its value when it parsed (a valid endpoint has at most one).
    pub(crate) timeouts: Vec<(&'a Attribute, Option<Timeout>)>,
}

/// A verb attribute and its path template.
pub(crate) struct Route<'a> {
    pub(crate) attr: &'a Attribute,
    pub(crate) verb: Verb,
    /// `None` when the attribute holds no path string (reported while parsing).
    pub(crate) template: Option<PathTemplate>,
}

/// One argument after the receiver.
pub(crate) struct Arg<'a> {
    pub(crate) pat: &'a Pat,
    /// `None` when the argument is a pattern rather than a plain name.
    pub(crate) ident: Option<&'a Ident>,
    /// The name without `r#`, as placeholders and query parameters see it (also for `mut name`,
    /// so that a placeholder is not reported unbound as well; empty for other patterns).
    pub(crate) name: String,
    pub(crate) ty: &'a Type,
    /// The `#[query]`, `#[body]`, `#[header]` attributes that parsed, in order.
    pub(crate) markers: Vec<Marker<'a>>,
    /// Whether one of those attributes did not parse (and was reported).
    pub(crate) unreadable_marker: bool,
    /// Whether the first route's template has a placeholder of this name.
    pub(crate) placeholder: bool,
}

/// One `#[query]`, `#[body]` or `#[header]` attribute and what it binds the argument to.
pub(crate) struct Marker<'a> {
    pub(crate) attr: &'a Attribute,
    pub(crate) binding: Binding,
}

/// What fills a request from an argument.
#[derive(Clone)]
pub(crate) enum Binding {
    /// The path placeholder of the same name.
    Path,
    /// A query parameter named `name` (the attribute's, else the lowerCamelCase of the argument).
    Query { name: String },
    /// Every field of a `Serialize` struct as query parameters.
    QueryFlatten,
    /// The request body.
    Body { content_type: Option<LitStr> },
    /// A request header.
    Header { name: LitStr },
}

/// How the response is read, from the `T` in `Result<T>`.
pub(crate) enum Returns<'a> {
    /// `()`: the body is ignored.
    Empty,
    /// `String`: the body as text.
    Text,
    /// One of the stream types.
    Stream(Stream<'a>),
    /// Anything else: JSON into this type.
    Json(&'a Type),
}

/// A stream return type as written.
pub(crate) struct Stream<'a> {
    pub(crate) kind: StreamKind,
    /// The type as written (`incluster::ListStream<Pod>`), to point at.
    pub(crate) written: &'a Type,
    /// Its generic arguments as written (`ListStream<T>` needs one type, `LineStream` none).
    pub(crate) args: Vec<&'a GenericArgument>,
}

impl<'a> Trait<'a> {
    /// Reads every item of the trait into the model; `krate` is where stream types live.
    pub(crate) fn from_syntax(item: &'a ItemTrait, krate: &Path, cx: &mut Ctxt) -> Trait<'a> {
        let mut model = Trait {
            item,
            endpoints: Vec::new(),
            provided: Vec::new(),
            others: Vec::new(),
        };
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(func) if func.default.is_some() => {
                    model.provided.push(Provided {
                        verbs: func
                            .attrs
                            .iter()
                            .filter(|a| Verb::of(a).is_some())
                            .collect(),
                    });
                }
                TraitItem::Fn(func) => model.endpoints.push(Endpoint::from_syntax(func, krate, cx)),
                TraitItem::Other(other) => model.others.push(other),
            }
        }
        model
    }
}

impl<'a> Endpoint<'a> {
    fn from_syntax(func: &'a TraitItemFn, krate: &Path, cx: &mut Ctxt) -> Endpoint<'a> {
        let routes: Vec<Route> = func
            .attrs
            .iter()
            .filter_map(|attr| {
                let verb = Verb::of(attr)?;
                let template =
                    attr::parse_verb_path(attr, cx).map(|lit| PathTemplate::parse(lit, cx));
                Some(Route {
                    attr,
                    verb,
                    template,
                })
            })
            .collect();
        let placeholders = routes
            .first()
            .and_then(|route| route.template.as_ref())
            .map(|template| template.placeholders.as_slice())
            .unwrap_or_default();
        let args = func
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => Some(Arg::from_syntax(typed, placeholders, cx)),
                FnArg::Receiver(_) => None,
            })
            .collect();
        let returns = types::ok_type(&func.sig.output).map(|ty| Returns::of(ty, krate));
        let timeouts = func
            .attrs
            .iter()
            .filter(|a| attr::is_timeout(a))
            .map(|a| (a, attr::parse_timeout(a, cx)))
            .collect();
        Endpoint {
            func,
            routes,
            args,
            returns,
            timeouts,
        }
    }

    /// The verb and path. Only for a checked endpoint, which has exactly one.
    pub(crate) fn route(&self) -> (Verb, &PathTemplate) {
        let route = &self.routes[0];
        (
            route.verb,
            route
                .template
                .as_ref()
                .expect("a checked endpoint has a path"),
        )
    }

    /// What the RBAC rules depend on. Only for an endpoint with a readable path.
    pub(crate) fn rbac_rules(
        &self,
        route: &Route,
    ) -> Option<Result<Vec<crate::rbac::DerivedRule>, String>> {
        let template = route.template.as_ref().filter(|t| t.valid)?;
        let watch_query = self
            .args
            .iter()
            .any(|a| matches!(a.binding(), Binding::Query { name } if name == "watch"));
        let bound = |placeholder: &str| self.args.iter().any(|a| a.name == placeholder);
        Some(crate::rbac::derive(&crate::rbac::Call {
            verb: route.verb,
            template,
            stream: self.stream_kind(),
            watch_query,
            bound: &bound,
        }))
    }

    /// The stream kind, if the method returns one.
    pub(crate) fn stream_kind(&self) -> Option<StreamKind> {
        match &self.returns {
            Some(Returns::Stream(stream)) => Some(stream.kind),
            _ => None,
        }
    }
}

impl<'a> Arg<'a> {
    fn from_syntax(typed: &'a PatType, placeholders: &[String], cx: &mut Ctxt) -> Arg<'a> {
        let ident = typed.pat.ident().filter(|_| typed.pat.is_plain());
        let name = typed
            .pat
            .ident()
            .map(|ident| ident.unraw().to_string())
            .unwrap_or_default();
        let mut markers = Vec::new();
        let mut unreadable_marker = false;
        for attr in typed.attrs.iter().filter(|a| attr::is_arg_attr(a)) {
            match attr::parse_arg_attr(attr, cx) {
                Some(parsed) => markers.push(Marker {
                    attr,
                    binding: Binding::of(parsed, &name),
                }),
                None => unreadable_marker = true,
            }
        }
        Arg {
            pat: &typed.pat,
            ident,
            placeholder: placeholders.contains(&name),
            name,
            ty: &typed.ty,
            markers,
            unreadable_marker,
        }
    }

    /// What the argument fills: its marker, else its placeholder. Only for a checked argument.
    pub(crate) fn binding(&self) -> Binding {
        match self.markers.first() {
            Some(marker) => marker.binding.clone(),
            None => Binding::Path,
        }
    }
}

impl Binding {
    fn of(attr: ArgAttr, arg_name: &str) -> Binding {
        match attr {
            ArgAttr::Query { flatten: true, .. } => Binding::QueryFlatten,
            ArgAttr::Query { name, .. } => Binding::Query {
                name: name.unwrap_or_else(|| lower_camel_case(arg_name)),
            },
            ArgAttr::Body { content_type } => Binding::Body { content_type },
            ArgAttr::Header { name } => Binding::Header { name },
        }
    }
}

impl<'a> Returns<'a> {
    fn of(ty: &'a Type, krate: &Path) -> Returns<'a> {
        if types::is_unit(ty) {
            Returns::Empty
        } else if types::is_string(ty) {
            Returns::Text
        } else if let Some((kind, args)) = types::stream(ty, krate) {
            Returns::Stream(Stream {
                kind,
                written: ty,
                args,
            })
        } else {
            Returns::Json(ty)
        }
    }
}

impl Stream<'_> {
    /// The item type `T` of `ListStream<T>`, when written with exactly one type argument.
    pub(crate) fn item(&self) -> Option<&Type> {
        match self.args.as_slice() {
            [GenericArgument::Type(ty)] => Some(ty),
            _ => None,
        }
    }
}
