//! The Rust syntax the attribute reads: a trait and its methods, parsed with the pieces syn
//! offers without its `full` feature (attributes, visibility, generics, types), so that users do
//! not build syn's whole Rust grammar for one trait.
//!
//! Only what the macro reads or rewrites is parsed into parts: the trait's header, each method's
//! signature, its receiver, and each argument's attributes, name and type. The rest is kept as
//! the tokens written — a default body, an argument pattern other than a name, a C variadic, and
//! consts, types and macros in the trait — so that it can be pointed at and emitted unchanged.
//! Printing a parsed trait gives back the tokens it was parsed from, as syn's types would.
//!
//! Input that is not Rust fails with a `syn::Error` at the first token that does not fit.

mod fn_arg;
mod item_trait;
mod pat;
mod signature;
mod trait_item;

pub(crate) use fn_arg::{FnArg, PatType};
pub(crate) use item_trait::ItemTrait;
pub(crate) use pat::Pat;
pub(crate) use signature::Signature;
pub(crate) use trait_item::{TraitItem, TraitItemFn};

#[cfg(test)]
mod tests;
