//! How the macro reads the types in a method's return: `Result<T>`, and in `T` the spellings of
//! `String`, `()` and the stream types. A macro sees tokens, not types, so these rules are about
//! how a type is written; `runtime/src/vocabulary.md` documents them for users.

use syn::{GenericArgument, Path, PathArguments, ReturnType, Type, TypePath};

/// The stream types a method may return inside `Result<…>`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StreamKind {
    /// `WatchStream<T>`: one watch request; the events of `T`.
    Watch,
    /// `ListStream<T>`: a paginated list; the items `T`.
    List,
    /// `LineStream`: the body's lines as text (logs with `follow`).
    Lines,
    /// `Watcher<T>`: list + watch, resumed and re-listed by the runtime.
    Watcher,
}

impl StreamKind {
    const ALL: [StreamKind; 4] = [
        StreamKind::Watch,
        StreamKind::List,
        StreamKind::Lines,
        StreamKind::Watcher,
    ];

    /// The type's name in the runtime crate.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            StreamKind::Watch => "WatchStream",
            StreamKind::List => "ListStream",
            StreamKind::Lines => "LineStream",
            StreamKind::Watcher => "Watcher",
        }
    }

    /// Whether the type takes the item type: `ListStream<T>` does, `LineStream` does not.
    pub(crate) fn takes_item(self) -> bool {
        self != StreamKind::Lines
    }

    /// How the type is written in messages: `ListStream<T>`, `LineStream`.
    pub(crate) fn spelled(self) -> String {
        if self.takes_item() {
            format!("{}<T>", self.type_name())
        } else {
            self.type_name().to_string()
        }
    }

    /// Query parameters the runtime sets itself for this stream, so an argument may not.
    pub(crate) fn managed_query_names(self) -> &'static [&'static str] {
        match self {
            StreamKind::Watch | StreamKind::Lines => &[],
            StreamKind::List => &["continue", "watch"],
            StreamKind::Watcher => &[
                "watch",
                "resourceVersion",
                "resourceVersionMatch",
                "allowWatchBookmarks",
                "sendInitialEvents",
                "continue",
                "limit",
                "timeoutSeconds",
            ],
        }
    }
}

/// The `T` of a `Result<T>` / `Result<T, E>` return type (any path ending in `Result`).
pub(crate) fn ok_type(ret: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = ret else {
        return None;
    };
    let path = type_path(ty)?;
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    }
}

/// `()`.
pub(crate) fn is_unit(ty: &Type) -> bool {
    matches!(strip(ty), Type::Tuple(tuple) if tuple.elems.is_empty())
}

/// `String`, `std::string::String`, `alloc::string::String`, each with or without a leading `::`.
pub(crate) fn is_string(ty: &Type) -> bool {
    let Some(path) = type_path(ty) else {
        return false;
    };
    let Some(idents) = plain_idents(&path.path) else {
        return false;
    };
    let idents: Vec<&str> = idents.iter().map(String::as_str).collect();
    match idents.as_slice() {
        ["String"] => path.path.leading_colon.is_none(),
        ["std" | "alloc", "string", "String"] => true,
        _ => false,
    }
}

/// A stream type of ours: written as one segment (`ListStream<T>`) or under the runtime crate's
/// path (`incluster::ListStream<T>`, `::incluster::…`, or the path given by `crate = "…"`).
/// `Watcher` may also be named through its module: `incluster::watcher::Watcher<T>`.
/// Returns the kind and the generic arguments as written.
pub(crate) fn stream<'a>(
    ty: &'a Type,
    krate: &Path,
) -> Option<(StreamKind, Vec<&'a GenericArgument>)> {
    let path = type_path(ty)?;
    let last = path.path.segments.last()?;
    let kind = StreamKind::ALL
        .into_iter()
        .find(|kind| last.ident == kind.type_name())?;
    let prefix: Vec<String> = path
        .path
        .segments
        .iter()
        .rev()
        .skip(1)
        .rev()
        .map(|s| s.arguments.is_none().then(|| s.ident.to_string()))
        .collect::<Option<_>>()?;
    let ours = if prefix.is_empty() {
        path.path.leading_colon.is_none()
    } else {
        let mut prefix = prefix.as_slice();
        if kind == StreamKind::Watcher {
            if let [rest @ .., module] = prefix {
                if module == "watcher" {
                    prefix = rest;
                }
            }
        }
        is_crate_path(prefix, krate)
    };
    if !ours {
        return None;
    }
    let args = match &last.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().collect(),
        _ => Vec::new(),
    };
    Some((kind, args))
}

/// `incluster` (the default), or the segments of `crate = "…"`.
fn is_crate_path(prefix: &[String], krate: &Path) -> bool {
    if prefix == ["incluster"] {
        return true;
    }
    plain_idents(krate).is_some_and(|krate| krate == prefix)
}

/// The segments of a path with no generic arguments, as text.
fn plain_idents(path: &Path) -> Option<Vec<String>> {
    path.segments
        .iter()
        .map(|s| s.arguments.is_none().then(|| s.ident.to_string()))
        .collect()
}

fn type_path(ty: &Type) -> Option<&TypePath> {
    match strip(ty) {
        Type::Path(path) if path.qself.is_none() => Some(path),
        _ => None,
    }
}

/// Looks through parentheses and the invisible groups a `macro_rules!` `$t:ty` leaves.
fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => strip(&group.elem),
        Type::Paren(paren) => strip(&paren.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn krate() -> Path {
        parse_quote!(::incluster)
    }

    #[test]
    fn string_spellings() {
        for ty in [
            quote::quote!(String),
            quote::quote!(std::string::String),
            quote::quote!(::std::string::String),
            quote::quote!(alloc::string::String),
            quote::quote!(::alloc::string::String),
            quote::quote!((String)),
        ] {
            assert!(is_string(&syn::parse2(ty.clone()).unwrap()), "{ty}");
        }
        for ty in [
            quote::quote!(::String),
            quote::quote!(my::String),
            quote::quote!(Text),
            quote::quote!(std::string::String<u8>),
            quote::quote!(Vec<String>),
        ] {
            assert!(!is_string(&syn::parse2(ty.clone()).unwrap()), "{ty}");
        }
    }

    #[test]
    fn unit() {
        assert!(is_unit(&parse_quote!(())));
        assert!(is_unit(&parse_quote!((()))));
        assert!(!is_unit(&parse_quote!((u8,))));
    }

    #[test]
    fn streams_are_recognised_by_path_not_by_last_segment() {
        let kind = |ty: Type, krate: &Path| stream(&ty, krate).map(|(kind, _)| kind);
        let default = krate();
        assert_eq!(
            kind(parse_quote!(WatchStream<Pod>), &default),
            Some(StreamKind::Watch)
        );
        assert_eq!(
            kind(parse_quote!(incluster::ListStream<Pod>), &default),
            Some(StreamKind::List)
        );
        assert_eq!(
            kind(parse_quote!(::incluster::LineStream), &default),
            Some(StreamKind::Lines)
        );
        assert_eq!(
            kind(parse_quote!(incluster::watcher::Watcher<Pod>), &default),
            Some(StreamKind::Watcher)
        );
        assert_eq!(kind(parse_quote!(foo::WatchStream<Pod>), &default), None);
        assert_eq!(kind(parse_quote!(::WatchStream<Pod>), &default), None);
        assert_eq!(kind(parse_quote!(watcher::Watcher<Pod>), &default), None);
        assert_eq!(
            kind(parse_quote!(incluster::watch::WatchStream<Pod>), &default),
            None
        );
        let custom: Path = parse_quote!(my_sdk::incluster);
        assert_eq!(
            kind(parse_quote!(::my_sdk::incluster::ListStream<Pod>), &custom),
            Some(StreamKind::List)
        );
        assert_eq!(
            kind(parse_quote!(incluster::ListStream<Pod>), &custom),
            Some(StreamKind::List)
        );
        assert_eq!(kind(parse_quote!(my_sdk::ListStream<Pod>), &custom), None);
    }

    #[test]
    fn result_ok_type() {
        let ret: ReturnType = parse_quote!(-> incluster::Result<Pod>);
        assert!(ok_type(&ret).is_some());
        let ret: ReturnType = parse_quote!(-> std::result::Result<Pod, incluster::Error>);
        assert!(ok_type(&ret).is_some());
        let ret: ReturnType = parse_quote!(-> Pod);
        assert!(ok_type(&ret).is_none());
    }
}
