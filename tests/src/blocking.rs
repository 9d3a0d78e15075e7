//! Blocking helpers for the harness and the tests: run a future from synchronous code (or from
//! inside another runtime), and read a panic's message.

use std::future::Future;

/// Runs a future to completion on a fresh current-thread runtime in a scoped thread (callable
/// from inside another runtime).
pub fn block_on<F: Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(future)
            })
            .join()
            .expect("block_on")
    })
}

/// The message a panic carried (`panic!` with a format string or a literal), or `(no message)`.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}
