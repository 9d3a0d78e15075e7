//! The work queue (client-go's `workqueue`): a key waits at most once, a key being worked on is
//! never handed out again until it is done (an add meanwhile brings it back after), a failed key
//! comes back after a per-key exponential backoff with a cap, a key can come back after a delay.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// A de-duplicating, rate-limited work queue. Cheap to clone; every clone is the same queue.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use incluster::controller::Queue;
/// let queue = Queue::new("example");
/// queue.add("a");
/// queue.add("a"); // already waiting: one entry
/// assert_eq!(queue.len(), 1);
/// let key = queue.next().await.unwrap();
/// queue.add("a"); // being worked on: comes back once done
/// assert_eq!(queue.len(), 0);
/// queue.done(&key);
/// assert_eq!(queue.len(), 1);
/// # });
/// ```
pub struct Queue<K> {
    shared: Arc<Shared<K>>,
}

struct Shared<K> {
    name: String,
    state: Mutex<State<K>>,
    notify: Notify,
    base: Duration,
    cap: Duration,
}

struct State<K> {
    ready: VecDeque<K>,
    /// Waiting in `ready`, with when it was added.
    queued: HashMap<K, Instant>,
    /// Delayed adds, by due time (then a sequence number).
    delayed: BTreeMap<(Instant, u64), K>,
    /// When each delayed key is due (only the earliest is kept).
    due: HashMap<K, (Instant, u64)>,
    processing: HashSet<K>,
    /// Added while processing: queued again when done.
    dirty: HashSet<K>,
    failures: HashMap<K, u32>,
    sequence: u64,
    shut_down: bool,
}

impl<K> Clone for Queue<K> {
    fn clone(&self) -> Self {
        Queue {
            shared: self.shared.clone(),
        }
    }
}

impl<K> std::fmt::Debug for Queue<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.shared.name)
            .finish()
    }
}

impl<K: Clone + Eq + Hash + Send + 'static> Queue<K> {
    /// An empty queue named `name` (the `name` label of its metrics), whose failed keys wait
    /// 5 ms doubling up to 1000 s (client-go's defaults; see [`Queue::with_backoff`]).
    ///
    /// ```
    /// let queue: incluster::controller::Queue<String> = incluster::controller::Queue::new("mirrors");
    /// ```
    pub fn new(name: &str) -> Queue<K> {
        Queue::with_backoff(name, Duration::from_millis(5), Duration::from_secs(1000))
    }

    /// An empty queue whose failed keys wait `base`, doubling with each failure up to `cap`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue: incluster::controller::Queue<u32> =
    ///     incluster::controller::Queue::with_backoff("q", Duration::from_millis(100), Duration::from_secs(60));
    /// ```
    pub fn with_backoff(name: &str, base: Duration, cap: Duration) -> Queue<K> {
        Queue {
            shared: Arc::new(Shared {
                name: name.to_string(),
                state: Mutex::new(State {
                    ready: VecDeque::new(),
                    queued: HashMap::new(),
                    delayed: BTreeMap::new(),
                    due: HashMap::new(),
                    processing: HashSet::new(),
                    dirty: HashSet::new(),
                    failures: HashMap::new(),
                    sequence: 0,
                    shut_down: false,
                }),
                notify: Notify::new(),
                base: base.max(Duration::from_millis(1)),
                cap: cap.max(base),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` now, unless it already waits; if it is being worked on, once that is done.
    /// A delayed add of the same key is superseded. Ignored after [`Queue::shut_down`].
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add(1);
    /// ```
    pub fn add(&self, key: K) {
        let mut state = self.lock();
        if state.shut_down {
            return;
        }
        crate::metrics::queue_add(&self.shared.name);
        if let Some(slot) = state.due.remove(&key) {
            state.delayed.remove(&slot);
        }
        if state.processing.contains(&key) {
            state.dirty.insert(key);
        } else if !state.queued.contains_key(&key) {
            state.queued.insert(key.clone(), Instant::now());
            state.ready.push_back(key);
            crate::metrics::queue_depth(&self.shared.name, state.ready.len());
            drop(state);
            self.shared.notify.notify_one();
        }
    }

    /// Queues `key` after `delay` (at once if it is zero). A key already waiting stays where it
    /// is; of two delayed adds the earlier one counts.
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add_after(1, std::time::Duration::from_secs(30));
    /// assert_eq!(queue.len(), 0);
    /// ```
    pub fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let mut state = self.lock();
        if state.shut_down || state.queued.contains_key(&key) {
            return;
        }
        let at = Instant::now() + delay;
        if let Some(&(old, seq)) = state.due.get(&key) {
            if old <= at {
                return;
            }
            state.delayed.remove(&(old, seq));
        }
        state.sequence += 1;
        let slot = (at, state.sequence);
        state.due.insert(key.clone(), slot);
        state.delayed.insert(slot, key);
        drop(state);
        // The waiting `next` recomputes its deadline.
        self.shared.notify.notify_one();
    }

    /// Queues `key` again after its backoff: `base × 2^(failures)`, capped; each call counts
    /// one more failure until [`Queue::forget`].
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add_backoff(1);
    /// assert_eq!(queue.failures(&1), 1);
    /// ```
    pub fn add_backoff(&self, key: K) {
        let delay = {
            let mut state = self.lock();
            let failures = state.failures.entry(key.clone()).or_insert(0);
            let exponent = (*failures).min(30);
            *failures += 1;
            self.shared
                .base
                .saturating_mul(1u32 << exponent)
                .min(self.shared.cap)
        };
        crate::metrics::queue_retry(&self.shared.name);
        self.add_after(key, delay);
    }

    /// Clears `key`'s failure count (after a success).
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add_backoff(1);
    /// queue.forget(&1);
    /// assert_eq!(queue.failures(&1), 0);
    /// ```
    pub fn forget(&self, key: &K) {
        self.lock().failures.remove(key);
    }

    /// How many times `key` failed since it was last forgotten.
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::<u8>::new("q");
    /// assert_eq!(queue.failures(&1), 0);
    /// ```
    pub fn failures(&self, key: &K) -> u32 {
        self.lock().failures.get(key).copied().unwrap_or(0)
    }

    /// The next key to work on, once one is due; `None` once the queue is shut down. The caller
    /// must call [`Queue::done`] with it.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add(7);
    /// let key = queue.next().await;
    /// assert_eq!(key, Some(7));
    /// # });
    /// ```
    pub async fn next(&self) -> Option<K> {
        loop {
            let notified = self.shared.notify.notified();
            let wake_at = {
                let mut state = self.lock();
                let now = Instant::now();
                // Promote the delayed keys that are due.
                while let Some((&(at, seq), _)) = state.delayed.iter().next() {
                    if at > now {
                        break;
                    }
                    let key = state.delayed.remove(&(at, seq)).expect("present");
                    state.due.remove(&key);
                    if state.processing.contains(&key) {
                        state.dirty.insert(key);
                    } else if !state.queued.contains_key(&key) {
                        state.queued.insert(key.clone(), now);
                        state.ready.push_back(key);
                    }
                }
                if let Some(key) = state.ready.pop_front() {
                    if let Some(added) = state.queued.remove(&key) {
                        crate::metrics::queue_latency(&self.shared.name, now - added);
                    }
                    state.processing.insert(key.clone());
                    crate::metrics::queue_depth(&self.shared.name, state.ready.len());
                    return Some(key);
                }
                if state.shut_down {
                    return None;
                }
                state.delayed.keys().next().map(|&(at, _)| at)
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// `key` is done: it may be handed out again, and is queued again if it was added meanwhile.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let queue = incluster::controller::Queue::new("q");
    /// queue.add(1);
    /// let key = queue.next().await.unwrap();
    /// queue.done(&key);
    /// # });
    /// ```
    pub fn done(&self, key: &K) {
        let mut state = self.lock();
        state.processing.remove(key);
        if state.dirty.remove(key) && !state.shut_down && !state.queued.contains_key(key) {
            state.queued.insert(key.clone(), Instant::now());
            state.ready.push_back(key.clone());
            crate::metrics::queue_depth(&self.shared.name, state.ready.len());
            drop(state);
            self.shared.notify.notify_one();
        }
    }

    /// Keys waiting now (not the delayed ones, not the ones being worked on).
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::<u8>::new("q");
    /// assert_eq!(queue.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().ready.len()
    }

    /// Whether no key waits now.
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::<u8>::new("q");
    /// assert!(queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys being worked on now.
    ///
    /// ```
    /// # let queue = incluster::controller::Queue::<u8>::new("q");
    /// assert_eq!(queue.in_progress(), 0);
    /// ```
    pub fn in_progress(&self) -> usize {
        self.lock().processing.len()
    }

    /// Stops the queue: adds are ignored, [`Queue::next`] returns what waits, then `None`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let queue = incluster::controller::Queue::<u8>::new("q");
    /// queue.shut_down();
    /// assert_eq!(queue.next().await, None);
    /// # });
    /// ```
    pub fn shut_down(&self) {
        let mut state = self.lock();
        state.shut_down = true;
        state.ready.clear();
        state.queued.clear();
        state.delayed.clear();
        state.due.clear();
        crate::metrics::queue_depth(&self.shared.name, 0);
        drop(state);
        self.shared.notify.notify_waiters();
        self.shared.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_key_is_never_handed_out_twice_at_once() {
        let queue = Queue::new("t");
        queue.add("a");
        let first = queue.next().await.unwrap();
        queue.add("a");
        queue.add("a");
        let second = tokio::time::timeout(Duration::from_secs(1), queue.next()).await;
        assert!(second.is_err(), "handed out while being worked on");
        queue.done(&first);
        assert_eq!(queue.next().await, Some("a"));
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_doubles_up_to_the_cap_and_forget_resets_it() {
        let queue = Queue::with_backoff("t", Duration::from_secs(1), Duration::from_secs(4));
        let mut waits = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            queue.add_backoff("k");
            let key = queue.next().await.unwrap();
            waits.push((Instant::now() - start).as_secs());
            queue.done(&key);
        }
        assert_eq!(waits, [1, 2, 4, 4, 4]);
        queue.forget(&"k");
        let start = Instant::now();
        queue.add_backoff("k");
        queue.next().await.unwrap();
        assert_eq!((Instant::now() - start).as_secs(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_add_supersedes_a_delay_and_the_earlier_delay_wins() {
        let queue = Queue::new("t");
        queue.add_after("k", Duration::from_secs(60));
        queue.add_after("k", Duration::from_secs(10));
        queue.add_after("k", Duration::from_secs(30));
        let start = Instant::now();
        queue.next().await.unwrap();
        assert_eq!((Instant::now() - start).as_secs(), 10);
        queue.done(&"k");
        queue.add_after("k", Duration::from_secs(60));
        queue.add("k");
        assert_eq!(queue.next().await, Some("k"));
        queue.done(&"k");
        // The superseded delay does not fire again.
        assert!(tokio::time::timeout(Duration::from_secs(120), queue.next())
            .await
            .is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn shut_down_ends_next_and_ignores_adds() {
        let queue = Queue::new("t");
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.next().await }
        });
        tokio::task::yield_now().await;
        queue.shut_down();
        assert_eq!(waiter.await.unwrap(), None);
        queue.add(1);
        assert_eq!(queue.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delayed_key_being_worked_on_comes_back_after_done() {
        let queue = Queue::new("t");
        queue.add("k");
        let key = queue.next().await.unwrap();
        queue.add_after("k", Duration::from_secs(1));
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Due while processing: marked dirty, not handed out.
        let early = tokio::time::timeout(Duration::from_millis(10), queue.next()).await;
        assert!(early.is_err());
        queue.done(&key);
        assert_eq!(queue.next().await, Some("k"));
    }
}
