//! A thread of its own that takes work off a queue: what the SQLite writer and the
//! PostgreSQL group writers are built on.

use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;

/// The queue into a thread and the thread. Dropping it closes the queue: the thread
/// finishes what is queued, its loop ends, and the drop waits for it.
pub(super) struct Worker<T> {
    queue: Mutex<Option<mpsc::Sender<T>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static> Worker<T> {
    /// Start the thread `name` running `serve` on the queue's other end.
    pub(super) fn start(
        name: &str,
        serve: impl FnOnce(mpsc::Receiver<T>) + Send + 'static,
    ) -> std::io::Result<Worker<T>> {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(receiver))?;
        Ok(Worker {
            queue: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queue `work`; false when the thread has stopped.
    pub(super) fn send(&self, work: T) -> bool {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|queue| queue.send(work).is_ok())
    }
}

impl<T> Drop for Worker<T> {
    fn drop(&mut self) {
        drop(self.queue.lock().unwrap_or_else(|e| e.into_inner()).take());
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}
