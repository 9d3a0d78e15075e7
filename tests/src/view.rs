//! A collection seen as name → resourceVersion: as a fresh list from the API server has it, and
//! as a watcher's `Store` holds it. Equal views mean the store has converged on the server.
//! Also: a watcher run in the background for its store.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use incluster::watcher::{Store, WatcherStats};
use incluster::Watcher;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio::task::JoinHandle;

use crate::controlplane::Admin;

/// name → resourceVersion.
pub type View = BTreeMap<String, String>;

/// The fields of a ConfigMap or Secret the tests look at.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Object {
    /// Its metadata.
    pub metadata: Meta,
    /// Its data (empty when it has none).
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// The metadata fields the tests look at.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.resourceVersion`.
    #[serde(rename = "resourceVersion")]
    pub resource_version: String,
}

/// The collection at `path` (e.g. `/api/v1/namespaces/ns/configmaps`) as the API server lists
/// it now, read as cluster admin.
pub async fn fresh_list(admin: &Admin, path: &str) -> View {
    admin
        .items(path)
        .await
        .iter()
        .map(|o| {
            let meta = &o["metadata"];
            (
                meta["name"].as_str().unwrap().to_string(),
                meta["resourceVersion"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What `store` holds now.
pub fn store_view(store: &Store<Object>) -> View {
    store
        .list()
        .iter()
        .map(|o| (o.metadata.name.clone(), o.metadata.resource_version.clone()))
        .collect()
}

/// Runs `watcher` in a task, its events dropped; returns its counters, its store and the task
/// once the store is ready (panics if it is not within `limit`).
pub async fn run_watcher<T>(
    watcher: Watcher<T>,
    limit: Duration,
) -> (WatcherStats, Store<T>, JoinHandle<()>)
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let stats = watcher.stats();
    let store = watcher.store();
    let driver = tokio::spawn(watcher.for_each(|_| async {}));
    tokio::time::timeout(limit, store.wait_ready())
        .await
        .unwrap_or_else(|_| panic!("the watcher's first list within {limit:?}"));
    (stats, store, driver)
}
