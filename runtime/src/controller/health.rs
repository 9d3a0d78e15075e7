//! Readiness (caches synced) and liveness (no wedged worker) of a controller, for probes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a controller tells its probes. Cheap to clone; read it from any thread.
///
/// - [`Health::is_ready`]: every watcher has completed its first list (the caches are synced);
/// - [`Health::is_healthy`]: the controller runs and no reconcile has been running for longer
///   than its timeout plus a margin (a worker that ignores cancellation, e.g. blocks its
///   thread, is *wedged*); every watcher task is alive.
///
/// ```
/// let controller = incluster::controller::Health::default();
/// assert!(!controller.is_ready());
/// assert!(controller.is_healthy());
/// ```
#[derive(Clone, Default)]
pub struct Health {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    watchers: AtomicUsize,
    synced: AtomicUsize,
    stopped: AtomicBool,
    dead_watchers: AtomicUsize,
    leading: AtomicBool,
    wedge_after: Mutex<Option<Duration>>,
    /// When each running reconcile started, by worker slot.
    busy: Mutex<HashMap<u64, Instant>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("ready", &self.is_ready())
            .field("healthy", &self.is_healthy())
            .finish()
    }
}

impl Health {
    /// Whether every watcher has completed its first list.
    ///
    /// ```
    /// # let health = incluster::controller::Health::default();
    /// let _ = health.is_ready();
    /// ```
    pub fn is_ready(&self) -> bool {
        let s = &self.shared;
        let watchers = s.watchers.load(Ordering::SeqCst);
        watchers > 0 && s.synced.load(Ordering::SeqCst) >= watchers
    }

    /// Whether the controller is alive: not stopped, every watcher task running, and no
    /// reconcile running for longer than the reconcile timeout plus a margin.
    ///
    /// ```
    /// # let health = incluster::controller::Health::default();
    /// assert!(health.is_healthy());
    /// ```
    pub fn is_healthy(&self) -> bool {
        let s = &self.shared;
        if s.stopped.load(Ordering::SeqCst) || s.dead_watchers.load(Ordering::SeqCst) > 0 {
            return false;
        }
        let Some(limit) = *s.wedge_after.lock().unwrap_or_else(|e| e.into_inner()) else {
            return true;
        };
        let busy = s.busy.lock().unwrap_or_else(|e| e.into_inner());
        busy.values().all(|started| started.elapsed() <= limit)
    }

    /// Whether this replica reconciles now (it leads, or runs without leader election).
    ///
    /// ```
    /// # let health = incluster::controller::Health::default();
    /// assert!(!health.is_leading());
    /// ```
    pub fn is_leading(&self) -> bool {
        self.shared.leading.load(Ordering::SeqCst)
    }

    /// Reconciles running longer than `limit` make the controller unhealthy.
    pub(crate) fn set_wedge_after(&self, limit: Duration) {
        *self
            .shared
            .wedge_after
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(limit);
    }

    pub(crate) fn add_watcher(&self) {
        self.shared.watchers.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn watcher_synced(&self) {
        self.shared.synced.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn watcher_died(&self) {
        self.shared.dead_watchers.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn set_leading(&self, leading: bool) {
        self.shared.leading.store(leading, Ordering::SeqCst);
    }

    pub(crate) fn set_stopped(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn busy(&self, slot: u64) {
        self.shared
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slot, Instant::now());
    }

    pub(crate) fn idle(&self, slot: u64) {
        self.shared
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&slot);
    }

    /// Reconciles running now.
    pub(crate) fn running(&self) -> usize {
        self.shared
            .busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reconcile_makes_it_unhealthy_and_readiness_needs_every_watcher() {
        let health = Health::default();
        health.add_watcher();
        health.add_watcher();
        health.watcher_synced();
        assert!(!health.is_ready());
        health.watcher_synced();
        assert!(health.is_ready());
        health.set_wedge_after(Duration::from_millis(1));
        health.busy(1);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!health.is_healthy());
        health.idle(1);
        assert!(health.is_healthy());
        health.watcher_died();
        assert!(!health.is_healthy());
    }
}
