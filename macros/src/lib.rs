use proc_macro::TokenStream; #[proc_macro_attribute] pub fn in_cluster_client(_a: TokenStream, i: TokenStream) -> TokenStream { i }
