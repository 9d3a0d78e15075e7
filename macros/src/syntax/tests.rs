//! The parser reads every trait item Rust allows, tells a name from other patterns and the
//! receiver from the arguments, and prints back exactly the tokens it read.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};

use super::{FnArg, ItemTrait, Pat, TraitItem};

fn parse(tokens: TokenStream) -> ItemTrait {
    syn::parse2(tokens).expect("the trait parses")
}

fn parse_error(tokens: TokenStream) -> String {
    match syn::parse2::<ItemTrait>(tokens) {
        Ok(_) => panic!("the trait should not parse"),
        Err(err) => err.to_string(),
    }
}

/// The one method of `item`.
fn only_fn(item: &ItemTrait) -> &super::TraitItemFn {
    match item.items.as_slice() {
        [TraitItem::Fn(func)] => func,
        _ => panic!("expected one method"),
    }
}

#[test]
fn only_a_trait_is_a_trait() {
    let is_trait = |tokens: TokenStream| {
        let peek = |input: ParseStream| {
            let is_trait = ItemTrait::peek(input);
            input.parse::<TokenStream>().map(|_| is_trait)
        };
        peek.parse2(tokens).expect("any tokens")
    };
    assert!(is_trait(quote!(
        #[a]
        pub unsafe trait A<T>: B {}
    )));
    assert!(is_trait(quote!(trait A { fn f(&self, x); })));
    assert!(!is_trait(quote!(
        pub struct A;
    )));
    assert!(!is_trait(quote!(
        trait A<T> = B<T>;
    )));
}

#[test]
fn prints_back_what_it_read() {
    for tokens in [
        quote! {
            /// Docs.
            #[allow(dead_code)]
            pub(crate) unsafe trait Pods<'a, T: Clone = u8>: Send + Sync + 'a where T: Default {
                #![allow(unused)]
                #[get("/api/v1/namespaces/{namespace}/pods/{name}")]
                async fn get(&self, #[query] name: &str, r#type: Vec<[u8; 4]>) -> incluster::Result<Pod>;
                async fn provided(&'a self, mut x: u8, (a, b): (u8, u8), _: u8, ref y: u8, z @ _: u8) -> u8 where Self: Sized {
                    #![allow(unused)]
                    let _ = (a, b);
                    0
                }
                const unsafe extern "C" fn c(self: Box<Self>, x: ::std::string::String, ...);
                fn v(mut self, x: u8, args: ...,);
                const KIND: &'static str = { "x" };
                type Item<U>: Clone where U: Copy;
                m!(a; b);
                n! { c; d }
                pub fn visible(&self);
                default fn defaulted(&self) {}
            }
        },
        quote!(
            trait Empty {}
        ),
        quote!(auto trait Auto {}),
    ] {
        let item = parse(tokens.clone());
        assert_eq!(item.to_token_stream().to_string(), tokens.to_string());
    }
}

#[test]
fn consts_types_macros_and_qualified_methods_are_kept_as_written() {
    let item = parse(quote! {
        trait T {
            const KIND: &'static str = { "x" };
            type Item<U>: Clone where U: Copy;
            m!(a; b);
            n! { c; d }
            pub fn visible(&self);
            default fn defaulted(&self) {}
        }
    });
    let others: Vec<String> = item
        .items
        .iter()
        .map(|item| match item {
            TraitItem::Other(tokens) => tokens.to_string(),
            TraitItem::Fn(_) => panic!("not a method the client implements"),
        })
        .collect();
    assert_eq!(
        others,
        [
            quote!(
                const KIND: &'static str = { "x" };
            )
            .to_string(),
            quote!(
                type Item<U>: Clone
                where
                    U: Copy;
            )
            .to_string(),
            quote!(m!(a; b);).to_string(),
            quote!(n! { c; d }).to_string(),
            quote!(
                pub fn visible(&self);
            )
            .to_string(),
            quote!(default fn defaulted(&self) {}).to_string(),
        ]
    );
}

#[test]
fn names_and_other_patterns() {
    let item = parse(quote! {
        trait T {
            fn f(&self, name: u8, r#type: u8, mut m: u8, ref r: u8, a @ _: u8, _: u8, (x, y): (u8, u8), Some(s): Option<u8>, path::C: u8);
        }
    });
    let pats: Vec<(Option<String>, bool)> = only_fn(&item)
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(&typed.pat),
            FnArg::Receiver(_) => None,
        })
        .map(|pat: &Pat| (pat.ident().map(ToString::to_string), pat.is_plain()))
        .collect();
    let named = |name: &str, plain| (Some(name.to_string()), plain);
    assert_eq!(
        pats,
        [
            named("name", true),
            named("r#type", true),
            named("m", false),
            named("r", false),
            named("a", false),
            (None, false),
            (None, false),
            (None, false),
            (None, false),
        ]
    );
}

#[test]
fn receivers() {
    for (receiver, shared_reference) in [
        (quote!(&self), true),
        (quote!(&'a self), true),
        (quote!(&mut self), false),
        (quote!(self), false),
        (quote!(mut self), false),
        (quote!(self: Box<Self>), false),
        (
            quote!(
                #[attr]
                &self
            ),
            true,
        ),
    ] {
        let item = parse(quote!(trait T { fn f(#receiver, x: u8); }));
        let Some(FnArg::Receiver(parsed)) = only_fn(&item).sig.inputs.first() else {
            panic!("{receiver} is a receiver");
        };
        assert_eq!(
            parsed.reference.is_some() && parsed.mutability.is_none(),
            shared_reference,
            "{receiver}"
        );
        assert_eq!(parsed.to_token_stream().to_string(), receiver.to_string());
    }
    let item = parse(quote!(
        trait T {
            fn f(self::X: u8);
        }
    ));
    assert!(matches!(
        only_fn(&item).sig.inputs.first(),
        Some(FnArg::Typed(_))
    ));
}

#[test]
fn variadics() {
    for tokens in [
        quote!(
            trait T {
                fn f(&self, ...);
            }
        ),
        quote!(
            trait T {
                fn f(&self, args: ...);
            }
        ),
        quote!(
            trait T {
                fn f(...);
            }
        ),
    ] {
        let item = parse(tokens);
        assert!(only_fn(&item).sig.variadic.is_some());
    }
}

#[test]
fn what_is_not_rust_is_an_error_at_its_token() {
    for (tokens, message) in [
        (
            quote!(trait T { struct S; }),
            "expected a method, such as `async fn get(&self, name: &str) -> incluster::Result<T>;`",
        ),
        (
            quote!(trait T { fn f(x: u8, &self); }),
            "unexpected method receiver",
        ),
        (
            quote!(trait T { fn f(&self, &self); }),
            "unexpected second method receiver",
        ),
        (quote!(trait T { fn f(&self, x); }), "expected `:`"),
        (
            quote!(trait T { fn f(&self, : u8); }),
            "expected an argument, such as `name: &str`",
        ),
        (quote!(trait T { const X: u8 }), "expected `;`"),
        (
            quote!(trait T { fn f(&self) }),
            "unexpected end of input, expected curly braces or `;`",
        ),
    ] {
        assert_eq!(parse_error(tokens.clone()), message, "{tokens}");
    }
}
