//! The plain threads mounted files are read on, so that a stalled mount (a FIFO, a hung network
//! volume) never blocks an async worker or start-up for good: one spawner for every read, and a
//! hand-off that the waiting caller gives up on after a deadline.
//!
//! Both are deliberately small: a `Mutex` and a `Condvar` rather than a `std::sync::mpsc` channel
//! (whose three channel flavours, compiled for one value passed once, made a stripped binary
//! 43 KB larger), and one spawner taking a boxed job rather than one `thread::spawn` instance per
//! closure.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Runs `read` on a new thread named `incluster-file-read`, left to finish (or hang) on its own.
pub(crate) fn spawn_read(read: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("incluster-file-read".into())
        .spawn(read)
        .map(drop)
}

/// One value handed from a reading thread to a caller that waits for it a limited time.
pub(crate) struct Handoff<T> {
    value: Mutex<Option<T>>,
    ready: Condvar,
}

impl<T> Handoff<T> {
    /// A hand-off nothing was put into yet.
    pub(crate) fn new() -> Handoff<T> {
        Handoff {
            value: Mutex::new(None),
            ready: Condvar::new(),
        }
    }

    /// Hands `value` over, waking the caller if it waits.
    pub(crate) fn put(&self, value: T) {
        // Nothing panics while holding this lock; recover it if something did.
        *self.value.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
        self.ready.notify_one();
    }

    /// The value, once it is put, or `None` if `deadline` passes first.
    pub(crate) fn take_within(&self, deadline: Duration) -> Option<T> {
        let value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut value, _) = self
            .ready
            .wait_timeout_while(value, deadline, |value| value.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        value.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_value_put_later_is_taken_and_a_missing_one_times_out() {
        let handoff = Arc::new(Handoff::new());
        let sender = handoff.clone();
        spawn_read(Box::new(move || {
            std::thread::sleep(Duration::from_millis(20));
            sender.put(7);
        }))
        .unwrap();
        assert_eq!(handoff.take_within(Duration::from_secs(10)), Some(7));
        let never: Handoff<u8> = Handoff::new();
        assert_eq!(never.take_within(Duration::from_millis(20)), None);
    }
}
