//! Operators built with incluster. `api` holds the typed clients they share; `mirror` is the
//! `config-mirror` operator.

pub mod api;
pub mod mirror;

use incluster::{Client, Config};

/// The client the examples run with: `Config::proxy($INCLUSTER_PROXY)` beside a `kubectl proxy`,
/// else `Config::in_cluster_at($INCLUSTER_SA_DIR)` (a service-account directory elsewhere than
/// the default, as the tests' simulated Pods use), else `Config::in_cluster()`.
///
/// ```no_run
/// let client = incluster_examples::client_from_env()?;
/// # Ok::<(), incluster::Error>(())
/// ```
pub fn client_from_env() -> incluster::Result<Client> {
    let config = match std::env::var("INCLUSTER_PROXY") {
        Ok(url) => Config::proxy(&url)?,
        Err(_) => match std::env::var("INCLUSTER_SA_DIR") {
            Ok(dir) => Config::in_cluster_at(dir)?,
            Err(_) => Config::in_cluster()?,
        },
    };
    Client::new(config)
}
