//! The HTTP client every generated client calls into: auth, TLS, limits, no redirects, and when a
//! failed request is sent again.

pub(crate) mod chunked_json;
pub(crate) mod client;
pub(crate) mod http_date;
pub(crate) mod liveness;
pub(crate) mod retry;
