//! The controller: triggers fill the queue, a bounded number of workers reconcile its keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use tokio::task::JoinSet;

use super::health::Health;
use super::index::Index;
use super::meta::{Object, ObjectRef};
use super::queue::Queue;
use super::trigger::{self, Mapper, Trigger};
use crate::watcher::{Event, Store, Watcher};

/// What a reconcile asks for next.
///
/// ```
/// use incluster::controller::Action;
/// let next = Action::requeue_after(std::time::Duration::from_secs(300));
/// assert_eq!(Action::done(), Action::Done);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Converged: reconcile again when a trigger fires (or at the next resync).
    Done,
    /// Reconcile again after this long (or earlier, when a trigger fires).
    RequeueAfter(Duration),
}

impl Action {
    /// [`Action::Done`].
    ///
    /// ```
    /// let _ = incluster::controller::Action::done();
    /// ```
    pub fn done() -> Action {
        Action::Done
    }

    /// [`Action::RequeueAfter`].
    ///
    /// ```
    /// let _ = incluster::controller::Action::requeue_after(std::time::Duration::from_secs(60));
    /// ```
    pub fn requeue_after(delay: Duration) -> Action {
        Action::RequeueAfter(delay)
    }
}

/// Why [`Controller::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The shutdown future resolved; in-flight reconciles finished or were cancelled.
    Shutdown,
    /// Leadership was lost: this replica stopped reconciling (exit, or stand again).
    LeadershipLost,
    /// Leader election failed with an error retrying cannot fix (e.g. RBAC forbids the Lease).
    ElectionFailed,
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;
type Starter = Box<dyn FnOnce(Queue<ObjectRef>, Health) -> Task + Send>;

/// How a controller runs (see the builder methods of [`Controller`]).
#[derive(Debug, Clone)]
struct Settings {
    concurrency: usize,
    timeout: Duration,
    resync: Option<Duration>,
    grace: Duration,
    wedge_margin: Duration,
}

/// A controller (kube-rs' `Controller`, controller-runtime's builder): keys of the primary
/// resource come from its watcher, from objects it owns (by `ownerReferences`) and from any
/// other watcher through a mapping function; a bounded number of workers reconcile them.
///
/// What it guarantees:
/// - a key is reconciled by one worker at a time; events meanwhile queue it once more;
/// - every object of every (re)list is queued (a change made while a watch was away is seen),
///   and so is every object that vanished across a re-list;
/// - every key is queued again each [`Controller::resync`] period;
/// - a reconcile that fails, or runs past [`Controller::reconcile_timeout`] (it is then
///   cancelled), is retried after a per-key exponential backoff with a cap;
/// - on shutdown it stops taking keys, lets in-flight reconciles finish for
///   [`Controller::shutdown_grace`], then cancels them;
/// - with [`Controller::leader_election`], only the leader reconciles (caches stay warm on
///   standbys);
/// - [`Controller::health`] says when caches are synced and whether a worker is wedged.
///
/// ```no_run
/// use std::sync::Arc;
/// use incluster::controller::{Action, Controller, Object, ObjectMeta, ObjectRef};
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Widget { metadata: ObjectMeta }
/// impl Object for Widget { fn metadata(&self) -> &ObjectMeta { &self.metadata } }
///
/// # async fn run(client: incluster::Client) -> incluster::Result<()> {
/// let list = incluster::Request::builder(incluster::Method::GET, "/apis/example.com/v1/widgets").build()?;
/// let controller = Controller::new("widgets", incluster::Watcher::<Widget>::new(client, list))
///     .concurrency(4)
///     .reconcile_timeout(std::time::Duration::from_secs(30));
/// let stopped = controller
///     .run(
///         |key: ObjectRef, widget: Option<Arc<Widget>>| async move {
///             println!("reconciling {key}");
///             Ok::<_, std::io::Error>(Action::Done)
///         },
///         std::future::pending::<()>(), // e.g. SIGTERM
///     )
///     .await;
/// # Ok(()) }
/// ```
pub struct Controller<K> {
    name: String,
    store: Store<K>,
    queue: Queue<ObjectRef>,
    health: Health,
    starters: Vec<Starter>,
    indexes: Arc<std::sync::Mutex<Vec<Index<K>>>>,
    settings: Settings,
    #[cfg(feature = "leader-election")]
    election: Option<crate::leader::LeaderElection>,
}

impl<K> std::fmt::Debug for Controller<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.name)
            .field("watchers", &self.starters.len())
            .field("settings", &self.settings)
            .finish()
    }
}

impl<K> Controller<K>
where
    K: Object + Clone + DeserializeOwned + Send + Sync + 'static,
{
    /// A controller named `name` (logs and the `controller` label of its metrics) of the
    /// objects `primary` watches. Defaults: 4 workers, a 60 s reconcile timeout, no resync,
    /// 10 s shutdown grace, retries after 5 ms doubling to 5 min.
    ///
    /// ```no_run
    /// # #[derive(Clone, serde::Deserialize)] struct W { metadata: incluster::controller::ObjectMeta }
    /// # impl incluster::controller::Object for W { fn metadata(&self) -> &incluster::controller::ObjectMeta { &self.metadata } }
    /// # fn f(watcher: incluster::Watcher<W>) {
    /// let controller = incluster::controller::Controller::new("widgets", watcher);
    /// # }
    /// ```
    pub fn new(name: &str, primary: Watcher<K>) -> Controller<K> {
        let store = primary.store();
        let controller = Controller {
            name: name.to_string(),
            store,
            queue: Queue::with_backoff(name, Duration::from_millis(5), Duration::from_secs(300)),
            health: Health::default(),
            starters: Vec::new(),
            indexes: Arc::default(),
            settings: Settings {
                concurrency: 4,
                timeout: Duration::from_secs(60),
                resync: None,
                grace: Duration::from_secs(10),
                wedge_margin: Duration::from_secs(30),
            },
            #[cfg(feature = "leader-election")]
            election: None,
        };
        let indexes = controller.indexes.clone();
        let name = controller.name.clone();
        let mut controller = controller;
        controller.health.add_watcher();
        controller.starters.push(Box::new(move |queue, health| {
            let observe = move |event: &Event<K>| {
                for index in indexes.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                    index.apply(event);
                }
            };
            Box::pin(drive(
                name,
                "primary",
                primary,
                Trigger::new(trigger::itself()),
                queue,
                health,
                observe,
            ))
        }));
        controller
    }

    /// Keeps `index` up to date from the primary watcher (before it queues the keys), so the
    /// mappers of other watchers can look objects up by it.
    ///
    /// ```no_run
    /// # use incluster::controller::{Index, ObjectMeta, Object};
    /// # #[derive(Clone, serde::Deserialize)] struct W { metadata: ObjectMeta }
    /// # impl Object for W { fn metadata(&self) -> &ObjectMeta { &self.metadata } }
    /// # fn f(c: incluster::controller::Controller<W>) {
    /// let by_label = Index::new(|w: &W| w.metadata.labels.get("app").cloned().into_iter().collect());
    /// let c = c.index(by_label.clone());
    /// # }
    /// ```
    pub fn index(self, index: Index<K>) -> Controller<K> {
        self.indexes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(index);
        self
    }

    /// Also reconcile the owner of each object `owned` watches: the `ownerReferences` with
    /// `controller: true` to a `kind` of the API group of `api_version`. Use a
    /// [`metadata_watcher`](super::metadata_watcher) when only the ownership matters.
    ///
    /// ```no_run
    /// # #[derive(Clone, serde::Deserialize)] struct W { metadata: incluster::controller::ObjectMeta }
    /// # impl incluster::controller::Object for W { fn metadata(&self) -> &incluster::controller::ObjectMeta { &self.metadata } }
    /// # fn f(c: incluster::controller::Controller<W>, client: incluster::Client) -> incluster::Result<()> {
    /// let list = incluster::Request::builder(incluster::Method::GET, "/api/v1/configmaps").build()?;
    /// let c = c.owns(incluster::controller::metadata_watcher(client, list), "example.com/v1", "Widget");
    /// # Ok(()) }
    /// ```
    pub fn owns<C>(self, owned: Watcher<C>, api_version: &str, kind: &str) -> Controller<K>
    where
        C: Object + DeserializeOwned + Send + 'static,
    {
        let map = trigger::owners(api_version.to_string(), kind.to_string(), true);
        self.trigger("owned", owned, map)
    }

    /// Also reconcile the keys `map` returns for each object `other` watches (and, when the
    /// object changes, is deleted or vanishes, the keys it returned before).
    ///
    /// ```no_run
    /// # use incluster::controller::ObjectRef;
    /// # #[derive(Clone, serde::Deserialize)] struct W { metadata: incluster::controller::ObjectMeta }
    /// # impl incluster::controller::Object for W { fn metadata(&self) -> &incluster::controller::ObjectMeta { &self.metadata } }
    /// # fn f(c: incluster::controller::Controller<W>, sources: incluster::Watcher<incluster::controller::PartialObjectMetadata>) {
    /// let c = c.watches(sources, |cm| {
    ///     cm.metadata.annotations.get("example.com/widget")
    ///         .map(|name| vec![ObjectRef::new(cm.metadata.namespace.as_deref(), name)])
    ///         .unwrap_or_default()
    /// });
    /// # }
    /// ```
    pub fn watches<C>(
        self,
        other: Watcher<C>,
        map: impl Fn(&C) -> Vec<ObjectRef> + Send + Sync + 'static,
    ) -> Controller<K>
    where
        C: Object + DeserializeOwned + Send + 'static,
    {
        self.trigger("mapped", other, Box::new(map))
    }

    fn trigger<C>(
        mut self,
        what: &'static str,
        watcher: Watcher<C>,
        map: Mapper<C>,
    ) -> Controller<K>
    where
        C: Object + DeserializeOwned + Send + 'static,
    {
        let name = self.name.clone();
        self.health.add_watcher();
        self.starters.push(Box::new(move |queue, health| {
            Box::pin(drive(
                name,
                what,
                watcher,
                Trigger::new(map),
                queue,
                health,
                |_: &Event<C>| {},
            ))
        }));
        self
    }

    /// Reconciles running at once (at least 1; default 4).
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let c = c.concurrency(8);
    /// # }
    /// ```
    pub fn concurrency(mut self, workers: usize) -> Controller<K> {
        self.settings.concurrency = workers.max(1);
        self
    }

    /// How long one reconcile may run before it is cancelled and retried with backoff (default
    /// 60 s, at least 1 ms).
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let c = c.reconcile_timeout(std::time::Duration::from_secs(20));
    /// # }
    /// ```
    pub fn reconcile_timeout(mut self, timeout: Duration) -> Controller<K> {
        self.settings.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Queue every object of the primary resource again each `period` (level-triggered
    /// safety net; default: never).
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let c = c.resync(std::time::Duration::from_secs(600));
    /// # }
    /// ```
    pub fn resync(mut self, period: Duration) -> Controller<K> {
        self.settings.resync = Some(period.max(Duration::from_millis(10)));
        self
    }

    /// How long in-flight reconciles may finish after shutdown (or lost leadership) before
    /// they are cancelled (default 10 s).
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let c = c.shutdown_grace(std::time::Duration::from_secs(5));
    /// # }
    /// ```
    pub fn shutdown_grace(mut self, grace: Duration) -> Controller<K> {
        self.settings.grace = grace;
        self
    }

    /// A reconcile still running this long after its timeout marks the controller unhealthy
    /// (default 30 s): it ignores cancellation (e.g. blocks its thread).
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let c = c.wedged_after_timeout_plus(std::time::Duration::from_secs(10));
    /// # }
    /// ```
    pub fn wedged_after_timeout_plus(mut self, margin: Duration) -> Controller<K> {
        self.settings.wedge_margin = margin;
        self
    }

    /// The retry backoff of failed keys: `base` doubling up to `cap` (default 5 ms to 5 min).
    /// Call it before [`Controller::queue`]: it makes a new queue.
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// use std::time::Duration;
    /// let c = c.backoff(Duration::from_millis(200), Duration::from_secs(60));
    /// # }
    /// ```
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Controller<K> {
        self.queue = Queue::with_backoff(&self.name, base, cap);
        self
    }

    /// Reconcile only while this replica leads the Lease of `election`: watchers start at
    /// once (standby caches stay warm), workers once the lease is acquired; when leadership is
    /// lost, [`Controller::run`] stops and returns [`Stopped::LeadershipLost`]; at shutdown the
    /// lease is released after the workers stopped.
    ///
    /// ```no_run
    /// # fn f<K>(c: incluster::controller::Controller<K>, client: incluster::Client) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// use incluster::leader::{LeaderElection, LeaseSettings};
    /// let election = LeaderElection::new(client.clone(), LeaseSettings::new("ns", "my-operator", "pod-1"));
    /// let c = c.leader_election(election);
    /// # }
    /// ```
    #[cfg(feature = "leader-election")]
    pub fn leader_election(mut self, election: crate::leader::LeaderElection) -> Controller<K> {
        self.election = Some(election);
        self
    }

    /// The primary resource's store (what reconciles read instead of asking the server).
    ///
    /// ```no_run
    /// # fn f<K>(c: &incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let store = c.store();
    /// # }
    /// ```
    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// The work queue (to queue keys from elsewhere).
    ///
    /// ```no_run
    /// # fn f<K>(c: &incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// c.queue().add(incluster::controller::ObjectRef::new(Some("ns"), "name"));
    /// # }
    /// ```
    pub fn queue(&self) -> Queue<ObjectRef> {
        self.queue.clone()
    }

    /// Readiness and liveness, for probes.
    ///
    /// ```no_run
    /// # fn f<K>(c: &incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// let health = c.health();
    /// # }
    /// ```
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Runs until `shutdown` resolves (or leadership is lost): starts every watcher, then
    /// reconciles keys with `reconcile(key, object)` (`object` is the primary store's current
    /// state, `None` when it is gone). An `Err` is logged and retried with backoff.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use incluster::controller::{Action, ObjectRef};
    /// # async fn f<K>(c: incluster::controller::Controller<K>) where K: incluster::controller::Object + Clone + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// c.run(|_key: ObjectRef, _object: Option<Arc<K>>| async { Ok::<_, std::io::Error>(Action::Done) }, std::future::pending()).await;
    /// # }
    /// ```
    pub async fn run<F, Fut, E>(self, reconcile: F, shutdown: impl Future<Output = ()>) -> Stopped
    where
        F: Fn(ObjectRef, Option<Arc<K>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: std::error::Error + Send + 'static,
    {
        let Controller {
            name,
            store,
            queue,
            health,
            starters,
            indexes: _,
            settings,
            #[cfg(feature = "leader-election")]
            election,
        } = self;
        health.set_wedge_after(settings.timeout + settings.wedge_margin);
        let mut background = JoinSet::new();
        for start in starters {
            background.spawn(start(queue.clone(), health.clone()));
        }
        if let Some(period) = settings.resync {
            background.spawn(resync(period, store.clone(), queue.clone()));
        }
        let _background = AbortOnDrop(background);
        let mut shutdown = std::pin::pin!(shutdown);

        #[cfg(feature = "leader-election")]
        let leadership = match &election {
            Some(election) => {
                tokio::select! {
                    acquired = election.acquire() => match acquired {
                        Ok(leadership) => Some(leadership),
                        Err(err) => {
                            tracing::error!(controller = %name, error = %err, "leader election failed");
                            health.set_stopped();
                            return Stopped::ElectionFailed;
                        }
                    },
                    _ = &mut shutdown => {
                        health.set_stopped();
                        return Stopped::Shutdown;
                    }
                }
            }
            None => None,
        };
        // Reconcile only once every cache is synced: a reconcile that reads a store still
        // listing would take "absent" for "gone" (client-go's WaitForCacheSync).
        let synced = async {
            let mut waited = 0u32;
            while !health.is_ready() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                waited += 1;
                if waited % 600 == 0 {
                    tracing::warn!(controller = %name, "still waiting for every watcher's first list (RBAC? see the watch errors)");
                }
            }
        };
        let reconcile = Arc::new(reconcile);
        let permits = Arc::new(tokio::sync::Semaphore::new(settings.concurrency));
        let mut workers = JoinSet::new();
        let mut slot = 0u64;
        let stopped = {
            #[cfg(feature = "leader-election")]
            let lost = async {
                match &leadership {
                    Some(leadership) => leadership.lost().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(feature = "leader-election"))]
            let lost = std::future::pending::<()>();
            let mut lost = std::pin::pin!(lost);
            let early = tokio::select! {
                _ = synced => None,
                _ = &mut shutdown => Some(Stopped::Shutdown),
                _ = &mut lost => Some(Stopped::LeadershipLost),
            };
            health.set_leading(early.is_none());
            if let Some(early) = early {
                early
            } else {
                loop {
                    // Reap finished workers so the set does not grow.
                    while workers.try_join_next().is_some() {}
                    let permit = tokio::select! {
                        permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                        _ = &mut shutdown => break Stopped::Shutdown,
                        _ = &mut lost => break Stopped::LeadershipLost,
                    };
                    let key = tokio::select! {
                        key = queue.next() => match key {
                            Some(key) => key,
                            None => break Stopped::Shutdown,
                        },
                        _ = &mut shutdown => break Stopped::Shutdown,
                        _ = &mut lost => break Stopped::LeadershipLost,
                    };
                    slot += 1;
                    let work = Work {
                        controller: name.clone(),
                        queue: queue.clone(),
                        health: health.clone(),
                        timeout: settings.timeout,
                        slot,
                    };
                    let object = store.get(key.namespace_or_empty(), &key.name);
                    let future = reconcile(key.clone(), object);
                    workers.spawn(async move {
                        work.run(key, future).await;
                        drop(permit);
                    });
                }
            }
        };
        health.set_leading(false);
        // Stop taking work; let in-flight reconciles finish within the grace period.
        queue.shut_down();
        let drained = tokio::time::timeout(settings.grace, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(controller = %name, cancelled = workers.len(), "shutdown grace over: cancelling in-flight reconciles");
            workers.shutdown().await;
        }
        #[cfg(feature = "leader-election")]
        if let Some(leadership) = leadership {
            if stopped == Stopped::Shutdown {
                if let Err(err) = leadership.release().await {
                    tracing::warn!(controller = %name, error = %err, "could not release the lease; it expires by itself");
                }
            }
        }
        health.set_stopped();
        tracing::info!(controller = %name, ?stopped, "controller stopped");
        stopped
    }
}

/// One reconcile on a worker.
struct Work {
    controller: String,
    queue: Queue<ObjectRef>,
    health: Health,
    timeout: Duration,
    slot: u64,
}

impl Work {
    async fn run<E: std::error::Error>(
        self,
        key: ObjectRef,
        future: impl Future<Output = Result<Action, E>>,
    ) {
        let started = Instant::now();
        self.health.busy(self.slot);
        crate::metrics::active_workers(&self.controller, self.health.running());
        let outcome = tokio::time::timeout(self.timeout, future).await;
        self.health.idle(self.slot);
        crate::metrics::active_workers(&self.controller, self.health.running());
        let took = started.elapsed();
        self.queue.done(&key);
        match outcome {
            Ok(Ok(Action::Done)) => {
                crate::metrics::reconcile(&self.controller, "success", took);
                self.queue.forget(&key);
            }
            Ok(Ok(Action::RequeueAfter(delay))) => {
                crate::metrics::reconcile(&self.controller, "requeue", took);
                self.queue.forget(&key);
                self.queue.add_after(key, delay);
            }
            Ok(Err(err)) => {
                crate::metrics::reconcile(&self.controller, "error", took);
                tracing::warn!(controller = %self.controller, %key, error = %err, failures = self.queue.failures(&key) + 1, "reconcile failed; retrying with backoff");
                self.queue.add_backoff(key);
            }
            Err(_) => {
                crate::metrics::reconcile(&self.controller, "timeout", took);
                tracing::warn!(controller = %self.controller, %key, timeout_ms = self.timeout.as_millis() as u64, "reconcile timed out and was cancelled; retrying with backoff");
                self.queue.add_backoff(key);
            }
        }
    }
}

/// Drives one watcher: its events' keys go into the queue.
async fn drive<C>(
    controller: String,
    what: &'static str,
    mut watcher: Watcher<C>,
    mut trigger: Trigger<C>,
    queue: Queue<ObjectRef>,
    health: Health,
    observe: impl Fn(&Event<C>) + Send,
) where
    C: Object + DeserializeOwned + Send + 'static,
{
    // If this task ends (it never should), the controller is not healthy.
    struct Guard(Health);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.watcher_died();
        }
    }
    let _guard = Guard(health.clone());
    let mut synced = false;
    while let Some(event) = watcher.next().await {
        match event {
            Ok(event) => {
                observe(&event);
                if !synced && matches!(event, Event::InitDone) {
                    synced = true;
                    health.watcher_synced();
                    if health.is_ready() {
                        tracing::info!(%controller, "caches synced; reconciling");
                    }
                }
                for key in trigger.keys(&event) {
                    queue.add(key);
                }
            }
            Err(err) if err.is_forbidden() => {
                tracing::error!(%controller, watch = what, error = %err, "RBAC forbids this watch; grant list and watch")
            }
            Err(err) => {
                tracing::warn!(%controller, watch = what, error = %err, "watch failed; the watcher retries")
            }
        }
    }
}

async fn resync<K>(period: Duration, store: Store<K>, queue: Queue<ObjectRef>)
where
    K: Object + Send + Sync + 'static,
{
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        for object in store.list() {
            queue.add(ObjectRef::of(&*object));
        }
    }
}

struct AbortOnDrop(JoinSet<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort_all();
    }
}
