//! w4's `Watcher` rows: `client-incluster-watcher watch`, the server from the environment
//! (`BENCH_SERVER`), `BENCH_EVENTS` events, `BENCH_WATCH_PATH` = `watcher` (the objects alone)
//! or `watcher-store` (with a `Store` taken); one result line, as `client-incluster` prints.

use bench_types::{checksum, ConfigMap};
use client_incluster::config;
use futures::StreamExt;

/// w4 through the `Watcher` (`BENCH_WATCH_PATH=watcher`, or `watcher-store` with a `Store`
/// taken): the local server answers the streaming list with the same events (and no
/// initial-events-end bookmark), so all `BENCH_EVENTS` of them arrive as `InitApply`.
async fn watcher_path(client: incluster::Client) -> incluster::Result<(usize, u64)> {
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .expect("BENCH_EVENTS");
    let list = incluster::Request::builder(
        incluster::Method::GET,
        "/api/v1/namespaces/{namespace}/configmaps",
    )
    .path_param("namespace", "default")
    .build()?;
    if std::env::var("BENCH_WATCH_PATH").as_deref() == Ok("watcher-store") {
        // `Arc` events, so that the store shares each object instead of cloning it.
        let watcher = client.watcher::<std::sync::Arc<ConfigMap>>(list);
        let store = watcher.shared_store();
        let counted = follow_watcher(watcher, events).await;
        drop(store);
        return counted;
    }
    // No store: the objects themselves, as a consumer without one writes it.
    follow_watcher(client.watcher::<ConfigMap>(list), events).await
}

/// Counts and checksums the first `events` objects of `watcher`.
async fn follow_watcher<E>(
    mut watcher: incluster::Watcher<E>,
    events: usize,
) -> incluster::Result<(usize, u64)>
where
    E: std::borrow::Borrow<ConfigMap> + serde::de::DeserializeOwned + Send + 'static,
{
    use incluster::watcher::Event;
    let (mut count, mut sum) = (0, 0);
    while count < events {
        match watcher.next().await.expect("a watcher never ends")? {
            Event::InitApply(cm) | Event::Apply(cm) | Event::Delete(cm) => {
                sum += checksum(cm.borrow());
                count += 1;
            }
            Event::Init | Event::InitDone | Event::Vanished(_) => {}
        }
    }
    Ok((count, sum))
}

fn main() {
    if std::env::args().nth(1).as_deref() != Some("watch") {
        eprintln!("client-incluster-watcher: expected `watch`");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let counted = runtime.block_on(async {
        let client = incluster::Client::new(config()?)?;
        watcher_path(client).await
    });
    match counted {
        Ok((count, sum)) => println!("count={count} sum={sum}"),
        Err(err) => {
            eprintln!("client-incluster-watcher: {err}");
            std::process::exit(1);
        }
    }
}
