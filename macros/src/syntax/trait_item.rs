//! One item in the trait's body: a method, parsed, or anything else, kept as written.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::{ToTokens, TokenStreamExt};
use syn::buffer::Cursor;
use syn::parse::{Parse, ParseStream};
use syn::{token, Attribute, Ident, Macro, MacroDelimiter, Result, Token, Visibility};

use super::signature::{self, Signature};

/// An item in the trait's body.
#[derive(Clone)]
pub(crate) enum TraitItem {
    /// A method (boxed: the other variant is much smaller).
    Fn(Box<TraitItemFn>),
    /// A const, a type or a macro, or a method with a visibility or `default`: nothing the
    /// generated client could implement. The tokens as written, attributes included.
    Other(TokenStream),
}

/// A method: `async fn name(&self, …) -> T;`, or with a default body.
#[derive(Clone)]
pub(crate) struct TraitItemFn {
    /// The outer attributes (a body's inner attributes stay in the body).
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) sig: Signature,
    /// The default body `{ … }` as written; `None` when the method ends with `;`.
    pub(crate) default: Option<Group>,
    /// The `;` of a method without a body.
    pub(crate) semi_token: Option<Token![;]>,
}

impl Parse for TraitItem {
    fn parse(input: ParseStream) -> Result<Self> {
        let begin = input.cursor();
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness: Option<Token![default]> = input.parse()?;
        let plain = matches!(vis, Visibility::Inherited) && defaultness.is_none();
        if signature::peek(input) {
            let func = TraitItemFn::parse_after_attrs(input, attrs)?;
            if plain {
                return Ok(TraitItem::Fn(Box::new(func)));
            }
        } else if input.peek(Token![const]) || input.peek(Token![type]) {
            skip_through_semicolon(input)?;
        } else if plain && peek_macro(input) {
            let mac: Macro = input.parse()?;
            if !matches!(mac.delimiter, MacroDelimiter::Brace(_)) {
                input.parse::<Token![;]>()?;
            }
        } else {
            return Err(input.error(
                "expected a method, such as `async fn get(&self, name: &str) -> incluster::Result<T>;`",
            ));
        }
        Ok(TraitItem::Other(tokens_between(begin, input.cursor())))
    }
}

impl TraitItemFn {
    /// The rest of a method whose outer attributes were read.
    fn parse_after_attrs(input: ParseStream, attrs: Vec<Attribute>) -> Result<Self> {
        let sig = input.parse()?;
        let lookahead = input.lookahead1();
        let (default, semi_token) = if lookahead.peek(token::Brace) {
            (Some(input.parse()?), None)
        } else if lookahead.peek(Token![;]) {
            (None, Some(input.parse()?))
        } else {
            return Err(lookahead.error());
        };
        Ok(TraitItemFn {
            attrs,
            sig,
            default,
            semi_token,
        })
    }
}

/// The start of a macro invocation: a path.
fn peek_macro(input: ParseStream) -> bool {
    input.peek(Ident)
        || input.peek(Token![::])
        || input.peek(Token![self])
        || input.peek(Token![super])
        || input.peek(Token![crate])
}

/// Skips a const or type item: everything up to its `;` (a `;` inside one of its expressions or
/// types is within brackets, so the first one outside them ends the item).
fn skip_through_semicolon(input: ParseStream) -> Result<()> {
    while !input.is_empty() && !input.peek(Token![;]) {
        input.parse::<TokenTree>()?;
    }
    input.parse::<Token![;]>().map(drop)
}

/// The tokens from `begin` to `end` (the same token buffer, `end` after `begin`), as written.
fn tokens_between(begin: Cursor, end: Cursor) -> TokenStream {
    let mut tokens = TokenStream::new();
    let mut cursor = begin;
    while cursor < end {
        let Some((tree, next)) = cursor.token_tree() else {
            break;
        };
        if next > end {
            // The item ends inside an invisible group (a `macro_rules!` fragment that carries
            // more than the item): take the group's contents up to the end.
            match cursor.group(Delimiter::None) {
                Some((inside, _, _)) => cursor = inside,
                None => break,
            }
            continue;
        }
        tokens.append(tree);
        cursor = next;
    }
    tokens
}

impl ToTokens for TraitItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            TraitItem::Fn(func) => func.to_tokens(tokens),
            TraitItem::Other(other) => other.to_tokens(tokens),
        }
    }
}

impl ToTokens for TraitItemFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.sig.to_tokens(tokens);
        self.default.to_tokens(tokens);
        self.semi_token.to_tokens(tokens);
    }
}
