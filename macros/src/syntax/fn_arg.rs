//! One argument of a method: the receiver (`&self`) or `pattern: Type`, with its attributes.

use proc_macro2::TokenStream;
use quote::{ToTokens, TokenStreamExt};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Lifetime, Result, Token, Type};

use super::Pat;

/// An argument between a method's parentheses.
#[derive(Clone)]
pub(crate) enum FnArg {
    /// `&self`, `&mut self`, `self`, `self: Box<Self>`, …
    Receiver(Receiver),
    /// `name: Type`, or another pattern.
    Typed(PatType),
}

/// The `self` argument, in any of its forms.
#[derive(Clone)]
pub(crate) struct Receiver {
    pub(crate) attrs: Vec<Attribute>,
    /// `&` or `&'a`: a reference to `self`.
    pub(crate) reference: Option<(Token![&], Option<Lifetime>)>,
    /// `&mut self`, or `mut self` for one taken by value.
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) self_token: Token![self],
    /// `: Box<Self>`, the explicit type of one taken by value.
    pub(crate) ty: Option<(Token![:], Type)>,
}

/// `pattern: Type`, with the argument's attributes (`#[query]`, …).
#[derive(Clone)]
pub(crate) struct PatType {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) pat: Pat,
    pub(crate) colon_token: Token![:],
    pub(crate) ty: Type,
}

impl Parse for FnArg {
    fn parse(input: ParseStream) -> Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        if Receiver::peek(input) {
            let receiver: Receiver = input.parse()?;
            return Ok(FnArg::Receiver(Receiver { attrs, ..receiver }));
        }
        Ok(FnArg::Typed(PatType {
            attrs,
            pat: input.parse()?,
            colon_token: input.parse()?,
            ty: input.parse()?,
        }))
    }
}

impl Receiver {
    /// Whether a receiver starts here: `[&['a]] [mut] self` (`self::…` is a path, not one).
    fn peek(input: ParseStream) -> bool {
        let ahead = input.fork();
        ahead.call(Receiver::parse_start).is_ok() && !ahead.peek(Token![::])
    }

    /// `[&['a]] [mut] self`: a receiver without its explicit type.
    fn parse_start(input: ParseStream) -> Result<Self> {
        let reference = match input.parse::<Option<Token![&]>>()? {
            Some(ampersand) if input.peek(Lifetime) => Some((ampersand, Some(input.parse()?))),
            Some(ampersand) => Some((ampersand, None)),
            None => None,
        };
        Ok(Receiver {
            attrs: Vec::new(),
            reference,
            mutability: input.parse()?,
            self_token: input.parse()?,
            ty: None,
        })
    }
}

/// Without the outer attributes: the caller reads them, then tells a receiver from a pattern.
impl Parse for Receiver {
    fn parse(input: ParseStream) -> Result<Self> {
        let mut receiver = Receiver::parse_start(input)?;
        if receiver.reference.is_none() && input.peek(Token![:]) {
            receiver.ty = Some((input.parse()?, input.parse()?));
        }
        Ok(receiver)
    }
}

impl ToTokens for FnArg {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            FnArg::Receiver(receiver) => receiver.to_tokens(tokens),
            FnArg::Typed(typed) => typed.to_tokens(tokens),
        }
    }
}

impl ToTokens for Receiver {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        if let Some((ampersand, lifetime)) = &self.reference {
            ampersand.to_tokens(tokens);
            lifetime.to_tokens(tokens);
        }
        self.mutability.to_tokens(tokens);
        self.self_token.to_tokens(tokens);
        if let Some((colon_token, ty)) = &self.ty {
            colon_token.to_tokens(tokens);
            ty.to_tokens(tokens);
        }
    }
}

impl ToTokens for PatType {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.append_all(&self.attrs);
        self.pat.to_tokens(tokens);
        self.colon_token.to_tokens(tokens);
        self.ty.to_tokens(tokens);
    }
}
