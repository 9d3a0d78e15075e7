//! A work queue (client-go's `workqueue`, reduced): a key waits at most once; a key being
//! reconciled is never handed out again until it is done (an add meanwhile re-queues it after);
//! a failed key comes back after a capped exponential backoff.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::types::Key;

#[derive(Default)]
struct State {
    waiting: VecDeque<Key>,
    queued: HashSet<Key>,
    running: HashSet<Key>,
    /// Added while running: queue again when done.
    dirty: HashSet<Key>,
    failures: HashMap<Key, u32>,
}

/// The queue; cheap to clone.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use incluster_examples::mirror::{queue::Queue, types::Key};
/// let queue = Queue::new(std::time::Duration::from_millis(10), std::time::Duration::from_secs(1));
/// let key = Key { namespace: "a".into(), name: "b".into() };
/// queue.add(key.clone());
/// queue.add(key.clone()); // de-duplicated
/// assert_eq!(queue.len(), 1);
/// let next = queue.next().await;
/// queue.done(&next, true);
/// assert_eq!(queue.len(), 0);
/// # });
/// ```
#[derive(Clone)]
pub struct Queue {
    state: Arc<Mutex<State>>,
    notify: Arc<Notify>,
    base: Duration,
    cap: Duration,
}

impl Queue {
    /// A queue whose retries wait `base`, doubling up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Queue {
        Queue {
            state: Arc::default(),
            notify: Arc::default(),
            base,
            cap,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` unless it already waits; if it is being reconciled, once that is done.
    pub fn add(&self, key: Key) {
        let mut state = self.lock();
        if state.running.contains(&key) {
            state.dirty.insert(key);
        } else if state.queued.insert(key.clone()) {
            state.waiting.push_back(key);
            drop(state);
            self.notify.notify_one();
        }
    }

    /// The next key to reconcile; the caller must call [`Queue::done`] with it.
    pub async fn next(&self) -> Key {
        loop {
            let notified = self.notify.notified();
            {
                let mut state = self.lock();
                if let Some(key) = state.waiting.pop_front() {
                    state.queued.remove(&key);
                    state.running.insert(key.clone());
                    let more = !state.waiting.is_empty();
                    drop(state);
                    if more {
                        self.notify.notify_one();
                    }
                    return key;
                }
            }
            notified.await;
        }
    }

    /// Ends the reconcile of `key`: on failure it comes back after its backoff.
    pub fn done(&self, key: &Key, ok: bool) {
        let mut state = self.lock();
        state.running.remove(key);
        let dirty = state.dirty.remove(key);
        if ok {
            state.failures.remove(key);
            drop(state);
            if dirty {
                self.add(key.clone());
            }
            return;
        }
        let failures = state.failures.entry(key.clone()).or_insert(0);
        *failures += 1;
        let delay = self
            .base
            .saturating_mul(1 << (*failures - 1).min(16))
            .min(self.cap);
        drop(state);
        let queue = self.clone();
        let key = key.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            queue.add(key);
        });
    }

    /// How many reconciles of `key` failed in a row.
    pub fn failures(&self, key: &Key) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// Keys waiting (not running).
    pub fn len(&self) -> usize {
        self.lock().waiting.len()
    }

    /// No key waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> Key {
        Key {
            namespace: "ns".into(),
            name: n.into(),
        }
    }

    #[tokio::test]
    async fn a_running_key_is_not_handed_out_twice_and_comes_back_when_done() {
        let queue = Queue::new(Duration::from_millis(1), Duration::from_millis(5));
        queue.add(key("a"));
        let a = queue.next().await;
        queue.add(key("a"));
        assert!(queue.is_empty(), "a is running: the add waits for done");
        queue.done(&a, true);
        assert_eq!(queue.next().await, key("a"));
    }

    #[tokio::test]
    async fn failures_back_off_and_retry() {
        let queue = Queue::new(Duration::from_millis(1), Duration::from_millis(5));
        queue.add(key("a"));
        let a = queue.next().await;
        queue.done(&a, false);
        assert_eq!(queue.failures(&a), 1);
        let again = queue.next().await;
        assert_eq!(again, a);
        queue.done(&again, true);
        assert_eq!(queue.failures(&a), 0);
    }
}
