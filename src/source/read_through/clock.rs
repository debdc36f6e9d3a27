//! [`Clock`]: the CLOCK (second-chance) eviction that bounds the cache.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::cache::{Cache, lock};
use super::entry::State;

/// The cached buckets in the order they came. The hand takes them from
/// the front: one asked for since it last passed (its reference bit set by
/// a hit) goes to the back with its bit cleared; one that was not is
/// evicted. Hits only set a bit, so they never take this lock.
#[derive(Default)]
pub(super) struct Clock {
    ring: Mutex<VecDeque<Arc<str>>>,
}

impl Clock {
    /// `key` was just cached: it joins the ring, and while the cache holds
    /// more than `capacity` entries, the hand evicts.
    pub(super) fn admit(&self, key: &Arc<str>, cache: &Cache, capacity: usize) {
        let mut ring = lock(&self.ring);
        ring.push_back(Arc::clone(key));
        if cache.len() <= capacity {
            // Keys of entries removed otherwise stay in the ring until the
            // hand passes them; keep it in proportion.
            if ring.len() > 2 * capacity + 64 {
                let cache = cache.pin();
                let mut seen = HashSet::new();
                ring.retain(|key| cache.contains_key(&**key) && seen.insert(Arc::clone(key)));
            }
            return;
        }
        let cache = cache.pin();
        // Each entry is passed at most twice: once to clear its second
        // chance, once to evict it.
        let mut budget = 2 * ring.len();
        while cache.len() > capacity && budget > 0 {
            budget -= 1;
            let Some(key) = ring.pop_front() else { break };
            match cache.get(&*key) {
                None => {}
                // A load is running: requests wait for it.
                Some(entry) if matches!(entry.state, State::Loading(_)) => ring.push_back(key),
                Some(entry) if entry.take_reference() => ring.push_back(key),
                Some(_) => evict(&cache, &key),
            }
        }
    }
}

/// Evicts `key`, and counts it (feature `metrics`).
fn evict<S: std::hash::BuildHasher>(
    cache: &papaya::HashMapRef<'_, Arc<str>, super::entry::Entry, S, impl papaya::Guard>,
    key: &str,
) {
    if cache.remove(key).is_some() {
        #[cfg(feature = "metrics")]
        {
            let metrics = crate::metrics::get();
            metrics.store_evictions.increment(1);
            metrics.store_cached_buckets.decrement(1.0);
        }
    }
}
