//! When the input has errors: the errors, plus the trait and a stub client, so the user sees the
//! real mistake and not a cascade of "cannot find type `…Client`" (thiserror's `fallback.rs`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::Path;

use crate::attr::Verb;
use crate::expand::{client_struct, strip_arg_attrs};
use crate::naming::client_ident;
use crate::syntax::{FnArg, ItemTrait, Pat, TraitItem};

pub(crate) fn emit(item: &ItemTrait, krate: &Path, errors: TokenStream) -> TokenStream {
    let mut item = item.clone();
    // Consts, types and macros are already reported; the stub impl could not provide them.
    item.items
        .retain(|trait_item| matches!(trait_item, TraitItem::Fn(_)));
    let mut stub_methods = Vec::new();
    for trait_item in &mut item.items {
        let TraitItem::Fn(func) = trait_item else {
            continue;
        };
        func.attrs
            .retain(|a| Verb::of(a).is_none() && !crate::attr::is_timeout(a));
        strip_arg_attrs(&mut func.sig);
        // Patterns are already reported; a method without a body cannot have them.
        for input in &mut func.sig.inputs {
            if let FnArg::Typed(typed) = input {
                if !typed.pat.is_plain() {
                    typed.pat = Pat::Other(quote!(_));
                }
            }
        }
        if func.default.is_none() {
            let sig = &func.sig;
            stub_methods.push(quote!(#sig { ::core::unimplemented!() }));
        }
    }
    let trait_ident = &item.ident;
    let client_ident = client_ident(trait_ident);
    let can_impl =
        item.generics.params.is_empty() && item.supertraits.is_empty() && item.unsafety.is_none();
    let stub_impl = can_impl.then(|| {
        quote! {
            #[allow(unused_variables, clippy::unused_async)]
            impl #trait_ident for #client_ident {
                #(#stub_methods)*
            }
        }
    });
    let client = client_struct(&item, krate);
    // `RBAC` too, so that code naming it does not add an error to the real ones.
    let vis = &item.vis;
    let client_name = client_ident.to_string();
    let rbac = quote! {
        impl #client_ident {
            /// Empty: the trait has errors.
            #vis const RBAC: #krate::rbac::Rules = #krate::rbac::Rules {
                client: #client_name,
                methods: &[],
            };
        }
    };
    quote! {
        #errors

        #[allow(async_fn_in_trait)]
        #item

        #client

        #rbac

        #stub_impl
    }
}
