//! Operators built with incluster. `api` holds the typed clients they share.

pub mod api;
