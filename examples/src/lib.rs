//! Operators built with incluster. `api` holds the typed clients they share; `mirror` is the
//! `config-mirror` operator.

pub mod api;
pub mod mirror;
pub mod rbac;

use incluster::{Client, Config};

/// The client the examples run with: [`Config::infer`] (in a Pod, the service account; beside a
/// `kubectl proxy`, `$INCLUSTER_PROXY`), except that `$INCLUSTER_SA_DIR` names a service-account
/// directory elsewhere than the default, as the tests' simulated Pods use.
///
/// ```no_run
/// let client = incluster_examples::client_from_env()?;
/// # Ok::<(), incluster::Error>(())
/// ```
pub fn client_from_env() -> incluster::Result<Client> {
    Client::new(config_from_env()?)
}

/// The configuration [`client_from_env`] builds its client from (to adjust it first, e.g.
/// with [`Config::with_field_manager`]).
///
/// ```no_run
/// let config = incluster_examples::config_from_env()?.with_field_manager("my-operator");
/// # Ok::<(), incluster::Error>(())
/// ```
pub fn config_from_env() -> incluster::Result<Config> {
    match std::env::var("INCLUSTER_SA_DIR") {
        Ok(dir) if std::env::var_os("INCLUSTER_PROXY").is_none() => Config::in_cluster_at(dir),
        _ => Config::infer(),
    }
}
