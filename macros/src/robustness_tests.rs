//! Whatever the input, the macro answers with tokens (the client, or errors), never a panic: each
//! variant of a representative trait with one token tree removed goes through the whole pipeline.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::quote;

/// `tokens` without one of its token trees, at any depth: one variant per token tree.
fn without_one_tree(tokens: &TokenStream) -> Vec<TokenStream> {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut variants = Vec::new();
    for (index, tree) in trees.iter().enumerate() {
        let rebuilt = |replacement: Option<TokenTree>| {
            let mut out = trees.clone();
            match replacement {
                Some(tree) => out[index] = tree,
                None => {
                    out.remove(index);
                }
            }
            out.into_iter().collect::<TokenStream>()
        };
        variants.push(rebuilt(None));
        if let TokenTree::Group(group) = tree {
            for inner in without_one_tree(&group.stream()) {
                let mut changed = Group::new(group.delimiter(), inner);
                changed.set_span(group.span());
                variants.push(rebuilt(Some(TokenTree::Group(changed))));
            }
        }
    }
    variants
}

#[test]
fn no_input_panics() {
    let input = quote! {
        /// Pods.
        pub trait Pods: Sync where Self: Sized {
            #[get("/api/v1/namespaces/{namespace}/pods/{name}")]
            #[timeout(secs = 30)]
            async fn get(&self, name: &str, #[query(name = "x")] x: Option<u8>) -> incluster::Result<Pod>;
            #[apply("/api/v1/namespaces/{namespace}/pods/{name}")]
            async fn apply(&self, name: &str, #[body(content_type = "a")] pod: &Pod) -> incluster::Result<incluster::ListStream<Pod>>;
            #[post("/api/v1/namespaces/{namespace}/pods")]
            async unsafe fn create(mut self, (a, b): (u8, u8), #[header("If-Match")] m: &str, ...) -> Result<()> where Self: Sized;
            fn provided(&self) -> u8 { 0 }
            const X: u8 = 1;
            m!();
        }
    };
    let variants = without_one_tree(&input);
    assert!(variants.len() > 100, "one variant per token tree");
    for variant in variants {
        crate::in_cluster_client2(quote!(crate = "my::incluster"), variant);
    }
}
