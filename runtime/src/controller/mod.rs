//! What every operator needs (feature `controller`): a work queue, triggers from watchers, a
//! reconcile loop with timeout, bounded concurrency, resync, graceful shutdown and leader-only
//! reconciling ([`Controller`]); and the helpers beside it: an `events.k8s.io/v1`
//! [`Recorder`], a [`finalizer`] helper, [`set_condition`], [`OwnerReference`] and
//! metadata-only watches ([`metadata_watcher`]).
//!
//! A guide with a complete operator is in `docs/controller.md`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use incluster::controller::{Action, Controller, Object, ObjectMeta, ObjectRef};
//!
//! #[derive(Clone, serde::Deserialize)]
//! struct Widget { metadata: ObjectMeta }
//! impl Object for Widget { fn metadata(&self) -> &ObjectMeta { &self.metadata } }
//!
//! # async fn run(client: incluster::Client) -> incluster::Result<()> {
//! let widgets = incluster::Request::builder(incluster::Method::GET, "/apis/example.com/v1/widgets").build()?;
//! let pods = incluster::Request::builder(incluster::Method::GET, "/api/v1/pods").build()?;
//! Controller::new("widgets", incluster::Watcher::<Widget>::new(client.clone(), widgets))
//!     .owns(incluster::controller::metadata_watcher(client.clone(), pods), "example.com/v1", "Widget")
//!     .resync(std::time::Duration::from_secs(600))
//!     .run(
//!         |key: ObjectRef, _widget: Option<Arc<Widget>>| async move {
//!             println!("reconcile {key}");
//!             Ok::<_, incluster::Error>(Action::Done)
//!         },
//!         std::future::pending::<()>(), // e.g. SIGTERM
//!     )
//!     .await;
//! # Ok(()) }
//! ```

mod conditions;
mod events;
mod finalizer;
mod health;
mod index;
mod meta;
pub(crate) mod metadata;
mod owner;
mod queue;
mod run;
mod trigger;

pub use conditions::{set_condition, Condition};
pub use events::{
    truncate, Event, EventType, Recorder, Reference, FIELD_LIMIT, NOTE_LIMIT, SERIES_CACHE,
    SERIES_WINDOW,
};
pub use finalizer::{finalizer, FinalizerError, Step};
pub use health::Health;
pub use index::Index;
pub use meta::{Object, ObjectMeta, ObjectRef};
pub use metadata::{metadata_only, metadata_watcher, PartialObjectMetadata, ACCEPT, WATCH_ACCEPT};
pub use owner::OwnerReference;
pub use queue::Queue;
pub use run::{Action, Controller, Stopped};
