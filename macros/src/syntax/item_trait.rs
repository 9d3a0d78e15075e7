//! The annotated trait: its header, parsed into parts, and its items.

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, token, Attribute, Generics, Ident, Result, Token, TypeParamBound, Visibility};

use super::TraitItem;

/// `pub trait Name { … }`, with what may come around it: attributes, `unsafe`, `auto`, generics,
/// supertraits, a where clause, inner attributes.
#[derive(Clone)]
pub(crate) struct ItemTrait {
    /// The outer attributes (`#[…]` before the trait).
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) unsafety: Option<Token![unsafe]>,
    pub(crate) auto_token: Option<Token![auto]>,
    pub(crate) trait_token: Token![trait],
    pub(crate) ident: Ident,
    /// The generic parameters and the where clause.
    pub(crate) generics: Generics,
    pub(crate) colon_token: Option<Token![:]>,
    pub(crate) supertraits: Punctuated<TypeParamBound, Token![+]>,
    pub(crate) brace_token: token::Brace,
    /// The inner attributes (`#![…]` at the top of the body).
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) items: Vec<TraitItem>,
}

impl ItemTrait {
    /// Whether the input is a trait at all (and not a struct, a function, an impl…): attributes,
    /// a visibility, `unsafe` or `auto`, then `trait`, and not a trait alias (`trait A = B;`).
    pub(crate) fn peek(input: ParseStream) -> bool {
        let ahead = input.fork();
        let is_alias = |ahead: ParseStream| {
            ahead.parse::<Ident>().is_ok()
                && ahead.parse::<Generics>().is_ok()
                && ahead.peek(Token![=])
        };
        ahead.call(Attribute::parse_outer).is_ok()
            && ahead.parse::<Visibility>().is_ok()
            && ahead.parse::<Option<Token![unsafe]>>().is_ok()
            && ahead.parse::<Option<Token![auto]>>().is_ok()
            && ahead.parse::<Token![trait]>().is_ok()
            && !is_alias(&ahead)
    }
}

impl Parse for ItemTrait {
    fn parse(input: ParseStream) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let unsafety = input.parse()?;
        let auto_token = input.parse()?;
        let trait_token = input.parse()?;
        let ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        let colon_token: Option<Token![:]> = input.parse()?;
        let mut supertraits = Punctuated::new();
        if colon_token.is_some() {
            while !input.peek(Token![where]) && !input.peek(token::Brace) {
                supertraits.push_value(input.parse()?);
                if input.peek(Token![where]) || input.peek(token::Brace) {
                    break;
                }
                supertraits.push_punct(input.parse()?);
            }
        }
        generics.where_clause = input.parse()?;
        let content;
        let brace_token = braced!(content in input);
        let inner_attrs = content.call(Attribute::parse_inner)?;
        let mut items = Vec::new();
        while !content.is_empty() {
            items.push(content.parse()?);
        }
        Ok(ItemTrait {
            attrs,
            vis,
            unsafety,
            auto_token,
            trait_token,
            ident,
            generics,
            colon_token,
            supertraits,
            brace_token,
            inner_attrs,
            items,
        })
    }
}

impl ToTokens for ItemTrait {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.vis.to_tokens(tokens);
        self.unsafety.to_tokens(tokens);
        self.auto_token.to_tokens(tokens);
        self.trait_token.to_tokens(tokens);
        self.ident.to_tokens(tokens);
        self.generics.to_tokens(tokens);
        if !self.supertraits.is_empty() {
            self.colon_token.to_tokens(tokens);
            self.supertraits.to_tokens(tokens);
        }
        self.generics.where_clause.to_tokens(tokens);
        self.brace_token.surround(tokens, |tokens| {
            tokens.append_all(&self.inner_attrs);
            tokens.append_all(&self.items);
        });
    }
}
