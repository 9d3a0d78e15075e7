//! `#[in_cluster_client]`: turns a trait of annotated methods into a typed Kubernetes client.
//!
//! Use it through the `incluster` crate, which re-exports it and documents the vocabulary.
//! The pipeline, one file each: [`attr`] and [`ast`] parse into a plain model, [`path`] parses
//! path templates, [`valid`] checks the model, [`expand`] emits the client, and [`fallback`]
//! emits a stub next to the errors when the input is wrong.

mod ast;
mod attr;
mod ctxt;
mod expand;
mod fallback;
mod path;
mod valid;

use proc_macro::TokenStream;

/// Generates `<Trait>Client` from a trait of `#[get]`/`#[post]`/`#[put]`/`#[patch]`/`#[delete]`
/// methods. See the `incluster` crate for the full vocabulary.
#[proc_macro_attribute]
pub fn in_cluster_client(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::in_cluster_client(args.into(), item.into()).into()
}
