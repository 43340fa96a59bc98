//! A backend as the server's worker threads hold it.
//!
//! actix-web serves requests on a few worker threads, each running a runtime
//! of its own. A client made on one thread keeps its connection task there,
//! so a request served on another thread crosses threads twice for every
//! call: measured under load, those thread switches took more of the
//! service's time than anything it computes (docs/performance.md). So a backend
//! with connections gives each worker its own client, made on that worker's
//! thread; one without (the in-memory adapters, the tests' spies) is shared.
//! The store's commit queue is the exception, shared on purpose: one queue
//! makes larger groups than one per worker did.

use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};

/// The threads that serve requests: one per core, as actix-web's default.
/// Each holds its own connections to the backends (see `PerWorker`).
pub(crate) static WORKERS: LazyLock<NonZeroUsize> =
    LazyLock::new(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));

pub enum PerWorker<T: ?Sized> {
    /// The same handle on every worker.
    Shared(Arc<T>),
    /// A handle made on each worker's thread when the worker starts.
    Made(Arc<dyn Fn() -> Arc<T> + Send + Sync>),
}

impl<T: ?Sized + 'static> PerWorker<T> {
    /// Each worker's handle made by `make`, on that worker's thread.
    pub fn made(make: impl Fn() -> Arc<T> + Send + Sync + 'static) -> Self {
        Self::Made(Arc::new(make))
    }

    /// The handle of the calling worker.
    pub fn get(&self) -> Arc<T> {
        match self {
            Self::Shared(handle) => handle.clone(),
            Self::Made(make) => make(),
        }
    }

    /// The handles wrapped by `wrap`: once when shared, on each worker's
    /// thread when made there.
    pub fn map<U: ?Sized + 'static>(
        self,
        wrap: impl Fn(Arc<T>) -> Arc<U> + Send + Sync + 'static,
    ) -> PerWorker<U> {
        match self {
            Self::Shared(handle) => PerWorker::Shared(wrap(handle)),
            Self::Made(make) => PerWorker::made(move || wrap(make())),
        }
    }
}

impl<T: ?Sized> Clone for PerWorker<T> {
    fn clone(&self) -> Self {
        match self {
            Self::Shared(handle) => Self::Shared(handle.clone()),
            Self::Made(make) => Self::Made(make.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_shared_handle_is_wrapped_once_and_handed_to_every_worker() {
        let wrapped = Arc::new(AtomicUsize::new(0));
        let counting = wrapped.clone();
        let handles = PerWorker::Shared(Arc::new(7)).map(move |n| {
            counting.fetch_add(1, Ordering::Relaxed);
            Arc::new(*n * 2)
        });
        let (first, second) = (handles.get(), handles.get());
        assert_eq!((*first, *second), (14, 14));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(wrapped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_made_handle_is_made_and_wrapped_anew_for_each_worker() {
        let made = Arc::new(AtomicUsize::new(0));
        let counting = made.clone();
        let handles = PerWorker::made(move || Arc::new(counting.fetch_add(1, Ordering::Relaxed)))
            .map(|n| Arc::new(*n + 10));
        assert_eq!((*handles.get(), *handles.get()), (10, 11));
        assert_eq!(made.load(Ordering::Relaxed), 2);
    }
}
