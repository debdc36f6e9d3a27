//! [`IdleTimer`]: how long a body may stop arriving, on a timer of the
//! crate's own, so that it works under any executor (Tokio with or without
//! its time driver, or none at all).
//!
//! One thread per process keeps every armed timer in a heap and wakes each
//! when its deadline passes. Pushing a deadline back (a body that gave a
//! frame) only writes it down: the thread finds the new deadline when the
//! old one comes, and waits again.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The idle timer of a body being read: armed when the body first has
/// nothing to give, pushed back whenever it gives a frame.
#[derive(Debug)]
pub(super) struct IdleTimer {
    idle: Option<Duration>,
    armed: Option<Arc<Armed>>,
}

/// What the timer thread and the request share.
#[derive(Debug)]
struct Armed {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    deadline: Instant,
    fired: bool,
    waker: Option<Waker>,
}

impl IdleTimer {
    /// A timer that fires after `idle` without a frame; never with `None`.
    pub(super) fn new(idle: Option<Duration>) -> Self {
        Self { idle, armed: None }
    }

    /// The body gave a frame: the wait starts again.
    pub(super) fn frame(&mut self) {
        if let (Some(idle), Some(armed)) = (self.idle, &self.armed) {
            lock(&armed.state).deadline = Instant::now() + idle;
        }
    }

    /// The body has nothing to give: whether it has been so for too long.
    /// The timer is armed on the first call.
    pub(super) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(idle) = self.idle else {
            return Poll::Pending;
        };
        if self.armed.is_none() {
            let Some(thread) = TimerThread::get() else {
                // No thread for timers: no timeout, rather than a panic.
                self.idle = None;
                return Poll::Pending;
            };
            let armed = Arc::new(Armed {
                state: Mutex::new(State {
                    deadline: Instant::now() + idle,
                    fired: false,
                    waker: None,
                }),
            });
            thread.add(&armed);
            self.armed = Some(armed);
        }
        let Some(armed) = &self.armed else {
            return Poll::Pending;
        };
        let mut state = lock(&armed.state);
        if state.fired {
            return Poll::Ready(());
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            Some(_) | None => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The process's timer thread: the armed timers by deadline.
struct TimerThread {
    heap: Mutex<BinaryHeap<Reverse<Entry>>>,
    added: Condvar,
}

/// A timer in the heap, at the deadline it had when it was put there.
struct Entry {
    deadline: Instant,
    timer: Weak<Armed>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

impl TimerThread {
    /// The thread, started on first use; `None` if it could not be started.
    fn get() -> Option<&'static Self> {
        static THREAD: OnceLock<Option<&'static TimerThread>> = OnceLock::new();
        *THREAD.get_or_init(|| {
            let thread: &'static Self = Box::leak(Box::new(Self {
                heap: Mutex::new(BinaryHeap::new()),
                added: Condvar::new(),
            }));
            std::thread::Builder::new()
                .name("tower-s3-cors-timer".to_owned())
                .spawn(move || thread.run())
                .ok()
                .map(|_| thread)
        })
    }

    fn add(&self, armed: &Arc<Armed>) {
        let deadline = lock(&armed.state).deadline;
        lock(&self.heap).push(Reverse(Entry {
            deadline,
            timer: Arc::downgrade(armed),
        }));
        self.added.notify_one();
    }

    /// Fires the timers whose deadline has passed, then sleeps until the
    /// next one (or until a timer is added).
    fn run(&self) {
        let mut heap = lock(&self.heap);
        loop {
            let now = Instant::now();
            while heap
                .peek()
                .is_some_and(|Reverse(next)| next.deadline <= now)
            {
                let Some(Reverse(entry)) = heap.pop() else {
                    break;
                };
                // A timer whose request is gone is dropped here.
                let Some(timer) = entry.timer.upgrade() else {
                    continue;
                };
                let mut state = lock(&timer.state);
                if state.deadline > now {
                    // Pushed back since: wait again.
                    let deadline = state.deadline;
                    drop(state);
                    heap.push(Reverse(Entry {
                        deadline,
                        timer: entry.timer,
                    }));
                } else {
                    state.fired = true;
                    if let Some(waker) = state.waker.take() {
                        waker.wake();
                    }
                }
            }
            heap = match heap.peek().map(|Reverse(next)| next.deadline) {
                Some(next) => {
                    let wait = next.saturating_duration_since(Instant::now());
                    self.added
                        .wait_timeout(heap, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => self
                    .added
                    .wait(heap)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
    }
}

/// A lock whose data stays whole if a holder panicked (every update is a
/// single assignment or collection operation).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use super::*;

    /// Polls `timer` until it fires; how long that took.
    async fn fired(timer: &mut IdleTimer) -> Duration {
        let started = Instant::now();
        poll_fn(|cx| timer.poll_expired(cx)).await;
        started.elapsed()
    }

    #[tokio::test]
    async fn the_timer_fires_after_the_wait_and_frames_push_it_back() {
        let idle = Duration::from_millis(200);
        let mut timer = IdleTimer::new(Some(idle));
        let waker = Waker::noop();
        assert!(
            timer
                .poll_expired(&mut Context::from_waker(waker))
                .is_pending()
        );
        std::thread::sleep(Duration::from_millis(150));
        timer.frame();
        std::thread::sleep(Duration::from_millis(150));
        assert!(
            timer
                .poll_expired(&mut Context::from_waker(waker))
                .is_pending(),
            "pushed back by the frame"
        );
        let waited = fired(&mut timer).await;
        assert!(waited < Duration::from_secs(2), "{waited:?}");
    }

    #[test]
    fn it_needs_no_runtime_and_none_waits_forever() {
        let mut timer = IdleTimer::new(Some(Duration::from_millis(20)));
        let waited = futures_lite_block_on(fired(&mut timer));
        assert!(waited >= Duration::from_millis(20), "{waited:?}");
        let mut never = IdleTimer::new(None);
        let waker = Waker::noop();
        assert!(
            never
                .poll_expired(&mut Context::from_waker(waker))
                .is_pending()
        );
    }

    /// Runs `future` on this thread, parking between polls: no runtime.
    fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            std::thread::park();
        }
    }
}
