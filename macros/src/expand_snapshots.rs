//! Snapshots of what `cargo expand` shows for a representative trait, formatted with prettyplease.
//! Review a change with `cargo insta review` (or `INSTA_UPDATE=always cargo test -p incluster-macros`).

use quote::quote;

fn expand_pretty(args: proc_macro2::TokenStream, input: proc_macro2::TokenStream) -> String {
    let tokens = crate::in_cluster_client2(args, input);
    let file: syn2::File = syn2::parse2(tokens).expect("the expansion is valid Rust");
    prettyplease::unparse(&file)
}

#[test]
fn configmaps_client() {
    let input = quote! {
        /// ConfigMaps in the Pod's namespace.
        pub trait ConfigMaps {
            /// Read one ConfigMap in the Pod's own namespace.
            #[get("/api/v1/namespaces/{namespace}/configmaps/{name}")]
            async fn get(&self, name: &str) -> incluster::Result<ConfigMap>;

            #[get("/api/v1/namespaces/{namespace}/configmaps")]
            async fn list(&self, namespace: &str, #[query] label_selector: Option<&str>, #[query] limit: Option<u32>)
                -> incluster::Result<ConfigMapList>;

            #[post("/api/v1/namespaces/{namespace}/configmaps")]
            async fn create(&self, #[body] cm: &ConfigMap, #[query(name = "dryRun")] dry: Option<&str>) -> incluster::Result<ConfigMap>;

            #[patch("/api/v1/namespaces/{namespace}/configmaps/{name}")]
            async fn patch(&self, name: &str, #[body] patch: &incluster::Patch<serde_json::Value>, #[query] field_manager: &str)
                -> incluster::Result<ConfigMap>;

            #[delete("/api/v1/namespaces/{namespace}/configmaps/{name}")]
            async fn delete(&self, name: &str, #[header("If-Match")] if_match: Option<&str>) -> incluster::Result<()>;

            #[get("/api/v1/namespaces/{namespace}/configmaps")]
            async fn watch(&self, #[query] resource_version: Option<&str>, #[query] allow_watch_bookmarks: Option<bool>)
                -> incluster::Result<incluster::WatchStream<ConfigMap>>;

            #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
            async fn logs(&self, name: &str, #[query(flatten)] params: &LogParams) -> incluster::Result<String>;
        }
    };
    insta::assert_snapshot!(expand_pretty(quote!(), input));
}

#[test]
fn crate_override() {
    let input = quote! {
        pub(crate) trait Discovery {
            #[get("/api")]
            async fn api(&self) -> my::Result<serde_json::Value>;
        }
    };
    insta::assert_snapshot!(expand_pretty(quote!(crate = "my_sdk::incluster"), input));
}

#[test]
fn streams_and_spellings() {
    let input = quote! {
        pub trait Pods {
            /// Every Pod, page by page.
            #[get("/api/v1/namespaces/{namespace}/pods")]
            async fn list_all(&self, #[query] label_selector: Option<&str>)
                -> incluster::Result<incluster::ListStream<Pod>>;

            #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
            async fn follow_log(&self, name: &str, #[query] follow: bool, #[query] container: Option<&str>)
                -> incluster::Result<LineStream>;

            #[get("/api/v1/namespaces/{namespace}/pods")]
            async fn watcher(&self, #[query] label_selector: Option<&str>)
                -> incluster::Result<::incluster::watcher::Watcher<Pod>>;

            #[get("/api/v1/namespaces/{namespace}/pods")]
            async fn watch(&self, #[query] watch: bool, #[query] resource_version: &str)
                -> incluster::Result<WatchStream<Pod>>;

            #[get("/api/v1/namespaces/{namespace}/pods/{name}/log")]
            async fn log(&self, name: &str) -> incluster::Result<::std::string::String>;

            #[get("/api/v1/namespaces/{namespace}/pods/{name}")]
            async fn get(&self, name: &str) -> incluster::Result<other::WatchStream<Pod>>;

            #[apply("/api/v1/namespaces/{namespace}/pods/{name}")]
            #[timeout(secs = 30)]
            async fn apply(&self, name: &str, #[body] pod: &Pod, #[query] force: Option<bool>)
                -> incluster::Result<Pod>;

            /// A Role in `kube-system` for one object, and a non-resource URL.
            #[get("/api/v1/namespaces/kube-system/configmaps/cluster-info")]
            #[timeout(millis = 1500)]
            async fn cluster_info(&self) -> incluster::Result<ConfigMap>;

            #[delete("/apis/apps/v1/namespaces/{namespace}/deployments")]
            async fn delete_all(&self, namespace: &str) -> incluster::Result<()>;

            #[patch("/api/v1/namespaces/{namespace}/pods/{name}")]
            async fn merge(&self, name: &str, #[body(content_type = "application/merge-patch+json")] patch: &serde_json::Value)
                -> incluster::Result<Pod>;
        }
    };
    insta::assert_snapshot!(expand_pretty(quote!(), input));
}
