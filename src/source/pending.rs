//! [`Pending`]: a bucket's policy being loaded, which requests wait for or join.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use super::BucketPolicy;
use crate::policy::Policy;

/// A bucket's policy being loaded: what a [`BucketCors`](super::BucketCors)
/// source answers when it does not know yet (a cache miss, with the store
/// still to be asked).
///
/// The layer waits for it before answering a preflight; an actual request
/// goes to the inner service at once and joins the load when the inner
/// response comes, so a slow store never adds to the inner service's time.
/// Every request for a bucket being loaded shares one `Pending` (a clone
/// costs an `Arc`), made with its [`Completer`] by [`Pending::new`].
///
/// A `Pending` is a future of the [`BucketPolicy`] loaded. The source must complete
/// it (with [`BucketPolicy::Unavailable`] after its own timeout, if it must): the
/// layer puts no timer of its own on it. A [`Completer`] dropped without
/// completing completes with [`BucketPolicy::Unavailable`].
///
/// ```
/// use tower_s3_cors::Policy;
/// use tower_s3_cors::source::{BucketPolicy, Pending};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (pending, completer) = Pending::new();
/// let waiter = tokio::spawn(pending.clone());
/// let policy = Policy::from_document(r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#)?;
/// completer.complete(BucketPolicy::Configured(policy));
/// assert!(matches!(waiter.await?, BucketPolicy::Configured(_)));
/// assert!(matches!(pending.await, BucketPolicy::Configured(_)), "every clone sees the outcome");
///
/// let (pending, completer) = Pending::new();
/// drop(completer);
/// assert!(matches!(pending.await, BucketPolicy::Unavailable));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Pending {
    shared: Arc<Mutex<State>>,
}

/// Completes a [`Pending`] resolution, once.
#[must_use = "a completer dropped without completing completes with BucketPolicy::Unavailable"]
pub struct Completer {
    shared: Arc<Mutex<State>>,
}

enum State {
    Waiting(Vec<Waker>),
    /// The policy loaded, and the bucket's shadow, if it has one (read
    /// only by what observes shadows: features `metrics`, `tracing`).
    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(dead_code))]
    Done(BucketPolicy, Option<Policy>),
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
    pub fn outcome(&self) -> Option<BucketPolicy> {
        match &*lock(&self.shared) {
            State::Waiting(_) => None,
            State::Done(loaded, _) => Some(loaded.clone()),
        }
    }

    /// The shadow the load was completed with, if the load is over and the
    /// bucket has one.
    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(dead_code))]
    pub(crate) fn shadow(&self) -> Option<Policy> {
        match &*lock(&self.shared) {
            State::Waiting(_) | State::Done(_, None) => None,
            State::Done(_, Some(shadow)) => Some(shadow.clone()),
        }
    }
}

impl Future for Pending {
    type Output = BucketPolicy;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BucketPolicy> {
        match &mut *lock(&self.shared) {
            State::Done(loaded, _) => Poll::Ready(loaded.clone()),
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
    pub fn complete(self, loaded: BucketPolicy) {
        self.settle(loaded, None);
    }

    /// Settles the resolution with the bucket's shadow beside the policy
    /// loaded: what [`Resolution::Shadowed`](super::Resolution::Shadowed)
    /// is to a ready answer. The requests that waited are answered by
    /// `loaded`; the layer evaluates `shadow` beside it.
    pub fn complete_shadowed(self, loaded: BucketPolicy, shadow: Policy) {
        self.settle(loaded, Some(shadow));
    }

    fn settle(&self, loaded: BucketPolicy, shadow: Option<Policy>) {
        let previous = std::mem::replace(&mut *lock(&self.shared), State::Done(loaded, shadow));
        if let State::Waiting(wakers) = previous {
            wakers.into_iter().for_each(Waker::wake);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if matches!(&*lock(&self.shared), State::Waiting(_)) {
            self.settle(BucketPolicy::Unavailable, None);
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
