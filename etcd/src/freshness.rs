//! Whether what the change streams delivered may be behind etcd: a stream
//! whose watch is not open (lost, or not yet reopened) may have missed
//! changes, until its new watch is open and it said `Resync`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// What a hook is told: `true` when the store becomes possibly stale,
/// `false` when it is fresh again.
pub(crate) type Hook = Arc<dyn Fn(bool) + Send + Sync>;

/// The state of every change stream of one store.
#[derive(Default)]
pub(crate) struct Freshness {
    streams: Mutex<Streams>,
    hook: Mutex<Option<Hook>>,
}

#[derive(Default)]
struct Streams {
    next: u64,
    /// The streams that may be stale, with since when.
    stale: HashMap<u64, Instant>,
}

impl Freshness {
    /// A new stream, possibly stale until its watch opens.
    pub(crate) fn stream(self: &Arc<Self>) -> StreamFreshness {
        let id = {
            let mut streams = self.lock();
            streams.next += 1;
            streams.next
        };
        let stream = StreamFreshness {
            freshness: Arc::clone(self),
            id,
        };
        stream.stale(Instant::now());
        stream
    }

    /// Since when the store may be stale (the oldest of its streams), if
    /// it may be.
    pub(crate) fn since(&self) -> Option<Instant> {
        self.lock().stale.values().min().copied()
    }

    pub(crate) fn set_hook(&self, hook: Hook) {
        let stale = self.since().is_some();
        *self.hook.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&hook));
        hook(stale);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Streams> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets stream `id`'s state; tells the hook when the store's changes.
    fn set(&self, id: u64, since: Option<Instant>) {
        let (before, after) = {
            let mut streams = self.lock();
            let before = !streams.stale.is_empty();
            match since {
                Some(since) => {
                    streams.stale.entry(id).or_insert(since);
                }
                None => {
                    streams.stale.remove(&id);
                }
            }
            (before, !streams.stale.is_empty())
        };
        if before != after {
            #[cfg(feature = "metrics")]
            {
                let gauge = &crate::metrics::get().possibly_stale;
                if after {
                    gauge.increment(1.0);
                } else {
                    gauge.decrement(1.0);
                }
            }
            let hook = self
                .hook
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            if let Some(hook) = hook {
                hook(after);
            }
        }
    }
}

/// One stream's part of a [`Freshness`]; it counts as fresh once dropped.
pub(crate) struct StreamFreshness {
    freshness: Arc<Freshness>,
    id: u64,
}

impl StreamFreshness {
    /// The stream may have missed changes since `since` (kept if it was
    /// stale already).
    pub(crate) fn stale(&self, since: Instant) {
        self.freshness.set(self.id, Some(since));
    }

    /// The stream's watch is open and it said `Resync`.
    pub(crate) fn fresh(&self) {
        self.freshness.set(self.id, None);
    }
}

impl Drop for StreamFreshness {
    fn drop(&mut self) {
        self.fresh();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_is_stale_while_one_stream_is_and_the_hook_hears_each_change() {
        let freshness = Arc::new(Freshness::default());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let heard = Arc::clone(&calls);
        freshness.set_hook(Arc::new(move |stale| {
            heard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(stale);
        }));
        let a = freshness.stream();
        let b = freshness.stream();
        assert!(freshness.since().is_some());
        a.fresh();
        assert!(freshness.since().is_some(), "b is not open yet");
        b.fresh();
        assert!(freshness.since().is_none());
        let lost = Instant::now();
        a.stale(lost);
        a.stale(Instant::now());
        assert_eq!(freshness.since(), Some(lost), "the first moment counts");
        drop(a);
        assert!(freshness.since().is_none());
        assert_eq!(
            *calls.lock().unwrap_or_else(PoisonError::into_inner),
            [false, true, false, true, false]
        );
    }
}
