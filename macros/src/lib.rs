//! The `#[in_cluster_client]` attribute of [incluster](https://docs.rs/incluster): it turns a trait
//! of annotated methods into a typed Kubernetes API client.
//!
//! Depend on `incluster`, not on this crate: `incluster` re-exports the attribute as
//! `incluster::in_cluster_client`, documents its whole vocabulary there, and provides the runtime
//! the generated code calls. The two crates are released together, at the same version.

mod ast;
mod attr;
mod builtin;
mod ctxt;
mod expand;
mod fallback;
mod naming;
mod path;
mod rbac;
mod syntax;
mod types;
mod valid;

use proc_macro::TokenStream;
use syn::parse::ParseStream;

/// Implemented in the `incluster-macros` crate. Depend on `incluster` and write
/// `#[incluster::in_cluster_client]`: `incluster` re-exports this attribute with its vocabulary
/// documented, and provides the runtime the generated client calls.
#[proc_macro_attribute]
pub fn in_cluster_client(args: TokenStream, item: TokenStream) -> TokenStream {
    in_cluster_client2(args.into(), item.into()).into()
}

/// The pipeline: `syntax` parses the trait, `attr`/`ast` read it into a model, `valid` checks it,
/// `expand` emits the client; when anything was wrong, `fallback` emits the errors next to a stub
/// client. Input that cannot be parsed is emitted unchanged, after the error.
fn in_cluster_client2(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut cx = ctxt::Ctxt::default();
    let options = attr::parse_options(args, &mut cx);
    let item = match syn::parse::Parser::parse2(parse_trait, input.clone()) {
        Ok(item) => item,
        Err(error) => {
            cx.push(error);
            let errors = cx.into_compile_errors();
            return quote::quote!(#errors #input);
        }
    };
    let model = ast::Trait::from_syntax(&item, &options.krate, &mut cx);
    valid::check(&model, &mut cx);
    match cx.into_compile_errors() {
        Some(errors) => fallback::emit(&item, &options.krate, errors),
        None => expand::emit(&model, &options.krate),
    }
}

/// The annotated item: a trait, else one error over the whole item. Within a trait, what does not
/// parse is an error at its first token.
fn parse_trait(input: ParseStream) -> syn::Result<syntax::ItemTrait> {
    if !syntax::ItemTrait::peek(input) {
        return Err(syn::Error::new_spanned(
            input.cursor().token_stream(),
            "#[in_cluster_client] goes on a trait: `pub trait ConfigMaps { … }`",
        ));
    }
    input.parse()
}

#[cfg(test)]
mod robustness_tests;
