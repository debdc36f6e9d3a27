//! [`Pending`]: a policy being loaded, which requests wait for or join.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use super::Resolution;
use crate::policy::Policy;
use crate::s3::ResourceType;

/// What a load found: the bucket-level outcome of a [`Pending`] resolution.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Loaded {
    /// The bucket's policy.
    Configured(Policy),
    /// The bucket has no CORS configuration.
    NotConfigured,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The policy could not be loaded (the store is down or too slow).
    Unavailable,
}

impl Loaded {
    /// The resolution of a request for `resource` in the bucket.
    #[must_use]
    pub fn for_resource(self, resource: ResourceType) -> Resolution {
        match self {
            Self::Configured(policy) => Resolution::Configured(policy, resource),
            Self::NotConfigured => Resolution::NotConfigured,
            Self::NoSuchBucket => Resolution::NoSuchBucket,
            Self::Unavailable => Resolution::Unavailable,
        }
    }
}

/// A policy being loaded: what a [`PolicySource`](super::PolicySource)
/// answers when it does not know yet (a cache miss, with the store still
/// to be asked).
///
/// The layer waits for it before answering a preflight; an actual request
/// goes to the inner service at once and joins the load when the inner
/// response comes, so a slow store never adds to the inner service's time.
/// Every request for a bucket being loaded shares one `Pending` (a clone
/// costs an `Arc`), made with its [`Completer`] by [`Pending::new`].
///
/// A `Pending` is a future of what was [`Loaded`]. The source must complete
/// it (with [`Loaded::Unavailable`] after its own timeout, if it must): the
/// layer puts no timer of its own on it. A [`Completer`] dropped without
/// completing completes with [`Loaded::Unavailable`].
///
/// ```
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::source::{Loaded, Pending};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (pending, completer) = Pending::new();
/// let waiter = tokio::spawn(pending.clone());
/// let policy = Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
/// completer.complete(Loaded::Configured(policy));
/// assert!(matches!(waiter.await?, Loaded::Configured(_)));
/// assert!(matches!(pending.await, Loaded::Configured(_)), "every clone sees the outcome");
///
/// let (pending, completer) = Pending::new();
/// drop(completer);
/// assert!(matches!(pending.await, Loaded::Unavailable));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Pending {
    shared: Arc<Mutex<State>>,
}

/// Completes a [`Pending`] resolution, once.
#[must_use = "a completer dropped without completing completes with Loaded::Unavailable"]
pub struct Completer {
    shared: Arc<Mutex<State>>,
}

enum State {
    Waiting(Vec<Waker>),
    Done(Loaded),
}

impl Pending {
    /// A pending resolution and the completer that settles it.
    pub fn new() -> (Self, Completer) {
        let shared = Arc::new(Mutex::new(State::Waiting(Vec::new())));
        (
            Self {
                shared: Arc::clone(&shared),
            },
            Completer { shared },
        )
    }

    /// What was loaded, if the load is over.
    #[must_use]
    pub fn outcome(&self) -> Option<Loaded> {
        match &*lock(&self.shared) {
            State::Waiting(_) => None,
            State::Done(loaded) => Some(loaded.clone()),
        }
    }
}

impl Future for Pending {
    type Output = Loaded;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Loaded> {
        match &mut *lock(&self.shared) {
            State::Done(loaded) => Poll::Ready(loaded.clone()),
            State::Waiting(wakers) => {
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

impl Completer {
    /// Settles the resolution: every request waiting for it goes on.
    pub fn complete(self, loaded: Loaded) {
        self.settle(loaded);
    }

    fn settle(&self, loaded: Loaded) {
        let previous = std::mem::replace(&mut *lock(&self.shared), State::Done(loaded));
        if let State::Waiting(wakers) = previous {
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if matches!(&*lock(&self.shared), State::Waiting(_)) {
            self.settle(Loaded::Unavailable);
        }
    }
}

/// The state, even if a waker panicked while it was held (the state is
/// always whole: it is replaced, never half-updated).
fn lock(shared: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl fmt::Debug for Pending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pending").field(&self.outcome()).finish()
    }
}

impl fmt::Debug for Completer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}
