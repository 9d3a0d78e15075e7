//! Test support for incluster: a local HTTPS server with certificates minted per test, and a
//! harness around a real Kubernetes control plane (kube-apiserver + embedded etcd + kubectl).

pub mod api;
pub mod blocking;
pub mod builtin_resources;
pub mod certs;
pub mod controlplane;
pub mod kubectl;
pub mod logcapture;
pub mod node;
pub mod podfs;
pub mod relay;
pub mod testserver;
pub mod view;
pub mod wait;

/// The repository README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
