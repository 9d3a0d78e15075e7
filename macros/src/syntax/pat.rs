//! An argument's pattern. The macro binds arguments by name, so a name is parsed into parts and
//! any other pattern (`(a, b)`, `_`, `Wrapper(x)`) is kept as written, to be reported.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, Result, Token};

/// The pattern before an argument's `:`.
#[derive(Clone)]
pub(crate) enum Pat {
    /// `name`, `mut name`, `ref name`, `name @ …`.
    Ident(PatIdent),
    /// Any other pattern, as written.
    Other(TokenStream),
}

/// A pattern that binds a name: `[ref] [mut] name [@ subpattern]`.
#[derive(Clone)]
pub(crate) struct PatIdent {
    pub(crate) by_ref: Option<Token![ref]>,
    pub(crate) mutability: Option<Token![mut]>,
    pub(crate) ident: Ident,
    /// `@` and the subpattern, as written.
    pub(crate) subpat: Option<(Token![@], TokenStream)>,
}

impl Pat {
    /// The name the pattern binds, if it binds one.
    pub(crate) fn ident(&self) -> Option<&Ident> {
        match self {
            Pat::Ident(pat) => Some(&pat.ident),
            Pat::Other(_) => None,
        }
    }

    /// Just a name: not `mut name`, `ref name`, `name @ …` or another pattern.
    pub(crate) fn is_plain(&self) -> bool {
        matches!(
            self,
            Pat::Ident(PatIdent {
                by_ref: None,
                mutability: None,
                subpat: None,
                ..
            })
        )
    }
}

impl Parse for Pat {
    fn parse(input: ParseStream) -> Result<Self> {
        if input.fork().parse::<PatIdent>().is_ok() {
            return input.parse().map(Pat::Ident);
        }
        let tokens = pattern_tokens(input)?;
        if tokens.is_empty() {
            return Err(input.error("expected an argument, such as `name: &str`"));
        }
        Ok(Pat::Other(tokens))
    }
}

impl Parse for PatIdent {
    fn parse(input: ParseStream) -> Result<Self> {
        let by_ref = input.parse()?;
        let mutability = input.parse()?;
        let ident = input.parse()?;
        let subpat = match input.parse::<Option<Token![@]>>()? {
            Some(at) => Some((at, pattern_tokens(input)?)),
            None => None,
        };
        if !at_pattern_end(input) {
            return Err(input.error("expected `:`"));
        }
        Ok(PatIdent {
            by_ref,
            mutability,
            ident,
            subpat,
        })
    }
}

/// The tokens of a pattern, up to the argument's `:` (a `::` belongs to a path in the pattern).
fn pattern_tokens(input: ParseStream) -> Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !at_pattern_end(input) {
        if input.peek(Token![::]) {
            input.parse::<Token![::]>()?.to_tokens(&mut tokens);
        } else {
            input.parse::<TokenTree>()?.to_tokens(&mut tokens);
        }
    }
    Ok(tokens)
}

/// Whether a pattern ends here: at the `:` before the type, or where the argument ends.
fn at_pattern_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,]) || (input.peek(Token![:]) && !input.peek(Token![::]))
}

impl ToTokens for Pat {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Pat::Ident(pat) => pat.to_tokens(tokens),
            Pat::Other(other) => other.to_tokens(tokens),
        }
    }
}

impl ToTokens for PatIdent {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.by_ref.to_tokens(tokens);
        self.mutability.to_tokens(tokens);
        self.ident.to_tokens(tokens);
        if let Some((at, subpat)) = &self.subpat {
            at.to_tokens(tokens);
            subpat.to_tokens(tokens);
        }
    }
}
