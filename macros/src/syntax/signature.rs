//! A method's signature: `async fn name<…>(&self, args…) -> T where …`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    parenthesized, token, Abi, Attribute, Error, Generics, Ident, Result, ReturnType, Token,
};

use super::{FnArg, Pat};

/// Everything of a method before its body, with each qualifier the macro checks for.
#[derive(Clone)]
pub(crate) struct Signature {
    pub(crate) constness: Option<Token![const]>,
    pub(crate) asyncness: Option<Token![async]>,
    pub(crate) unsafety: Option<Token![unsafe]>,
    pub(crate) abi: Option<Abi>,
    pub(crate) fn_token: Token![fn],
    pub(crate) ident: Ident,
    /// The generic parameters and the where clause (written after the return type).
    pub(crate) generics: Generics,
    pub(crate) paren_token: token::Paren,
    pub(crate) inputs: Punctuated<FnArg, Token![,]>,
    /// A C variadic (`...` or `args: ...`) and what follows it, as written.
    pub(crate) variadic: Option<TokenStream>,
    pub(crate) output: ReturnType,
}

/// Whether a method starts here: `fn`, after any of `const`, `async`, `unsafe`, `extern "…"`.
pub(crate) fn peek(input: ParseStream) -> bool {
    let ahead = input.fork();
    ahead.parse::<Option<Token![const]>>().is_ok()
        && ahead.parse::<Option<Token![async]>>().is_ok()
        && ahead.parse::<Option<Token![unsafe]>>().is_ok()
        && ahead.parse::<Option<Abi>>().is_ok()
        && ahead.peek(Token![fn])
}

impl Parse for Signature {
    fn parse(input: ParseStream) -> Result<Self> {
        let constness = input.parse()?;
        let asyncness = input.parse()?;
        let unsafety = input.parse()?;
        let abi = input.parse()?;
        let fn_token = input.parse()?;
        let ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        let content;
        let paren_token = parenthesized!(content in input);
        let (inputs, variadic) = parse_inputs(&content)?;
        let output = input.parse()?;
        generics.where_clause = input.parse()?;
        Ok(Signature {
            constness,
            asyncness,
            unsafety,
            abi,
            fn_token,
            ident,
            generics,
            paren_token,
            inputs,
            variadic,
            output,
        })
    }
}

/// The arguments between the parentheses; a receiver may only come first.
fn parse_inputs(input: ParseStream) -> Result<(Punctuated<FnArg, Token![,]>, Option<TokenStream>)> {
    let mut inputs = Punctuated::new();
    while !input.is_empty() {
        if peek_variadic(input) {
            return Ok((inputs, Some(input.parse()?)));
        }
        let arg: FnArg = input.parse()?;
        if let (FnArg::Receiver(receiver), Some(first)) = (&arg, inputs.first()) {
            let message = match first {
                FnArg::Receiver(_) => "unexpected second method receiver",
                FnArg::Typed(_) => "unexpected method receiver",
            };
            return Err(Error::new(receiver.self_token.span, message));
        }
        inputs.push_value(arg);
        if input.is_empty() {
            break;
        }
        inputs.push_punct(input.parse()?);
    }
    Ok((inputs, None))
}

/// Whether a C variadic starts here: `...` or `name: ...`, after any attributes.
fn peek_variadic(input: ParseStream) -> bool {
    let ahead = input.fork();
    ahead.call(Attribute::parse_outer).is_ok()
        && (ahead.peek(Token![...])
            || (ahead.parse::<Pat>().is_ok()
                && ahead.parse::<Token![:]>().is_ok()
                && ahead.peek(Token![...])))
}

impl ToTokens for Signature {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.constness.to_tokens(tokens);
        self.asyncness.to_tokens(tokens);
        self.unsafety.to_tokens(tokens);
        self.abi.to_tokens(tokens);
        self.fn_token.to_tokens(tokens);
        self.ident.to_tokens(tokens);
        self.generics.to_tokens(tokens);
        self.paren_token.surround(tokens, |tokens| {
            self.inputs.to_tokens(tokens);
            self.variadic.to_tokens(tokens);
        });
        self.output.to_tokens(tokens);
        self.generics.where_clause.to_tokens(tokens);
    }
}
