//! How the macro names things: query parameters, the generated client, paths in messages.

use proc_macro2::Ident;
use quote::format_ident;
use syn::Path;

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

/// `ConfigMaps` → `ConfigMapsClient`.
pub(crate) fn client_ident(trait_ident: &Ident) -> Ident {
    format_ident!("{}Client", trait_ident)
}

/// A path as the user wrote it, for messages: `incluster::Result`.
pub(crate) fn path_text(path: &Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
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
        assert_eq!(lower_camel_case("_private_arg"), "privateArg");
    }
}
