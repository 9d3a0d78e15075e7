//! The generated client names only `::core` and `::incluster` paths: a crate that shadows the
//! prelude still compiles, under `#![deny(warnings)]`.
#![deny(warnings)]
#![allow(dead_code, non_camel_case_types)]

struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct String;
struct Vec;
struct Box;
struct Send;
struct Future;
struct Clone;
struct Debug;

mod core {}
mod std {}

#[derive(::serde::Deserialize, ::serde::Serialize)]
pub struct Thing {
    pub name: ::std::string::String,
}

#[::incluster::in_cluster_client]
pub trait Things {
    /// Docs survive.
    #[get("/apis/example.com/v1/namespaces/{namespace}/things/{name}")]
    async fn get(&self, name: &str) -> ::incluster::Result<Thing>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things")]
    async fn list(
        &self,
        #[query] limit: ::core::option::Option<u32>,
    ) -> ::incluster::Result<::std::vec::Vec<Thing>>;

    #[delete("/apis/example.com/v1/namespaces/{namespace}/things/{name}")]
    async fn delete(&self, name: &str) -> ::incluster::Result<()>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things/{name}/log")]
    async fn log(
        &self,
        name: &str,
        #[header("X-Trace")] trace: &str,
    ) -> ::incluster::Result<::std::string::String>;

    #[patch("/apis/example.com/v1/namespaces/{namespace}/things/{name}")]
    async fn merge(
        &self,
        name: &str,
        #[body(content_type = "application/merge-patch+json")] patch: &Thing,
    ) -> ::incluster::Result<Thing>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things")]
    async fn watch(
        &self,
        #[query] resource_version: &str,
    ) -> ::incluster::Result<::incluster::WatchStream<Thing>>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things")]
    async fn all(&self) -> ::incluster::Result<::incluster::ListStream<Thing>>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things/{name}/log")]
    async fn follow(
        &self,
        name: &str,
        #[query] follow: bool,
    ) -> ::incluster::Result<::incluster::LineStream>;

    #[get("/apis/example.com/v1/namespaces/{namespace}/things")]
    async fn watcher(&self) -> ::incluster::Result<::incluster::Watcher<Thing>>;
}

#[test]
fn compiles_with_a_shadowed_prelude() {
    fn assert_client<T: Things + ::core::clone::Clone + ::core::fmt::Debug>() {}
    assert_client::<ThingsClient>();
}
