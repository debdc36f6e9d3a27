//! What keeps the cache fresh: the store's changes, refreshes, expiry and
//! invalidation.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use papaya::Operation;

use super::cache::Inner;
use super::entry::State;
use crate::source::BucketError;
use crate::store::{Change, Version};

impl Inner {
    /// A change pushed by the store.
    pub(super) fn apply(self: &Arc<Self>, change: Change) {
        match change {
            Change::Put {
                bucket,
                text,
                version,
            } => {
                if !self.is_cached(&bucket) {
                    return; // nobody asked for it: nothing to update
                }
                match self.intern(&text) {
                    Ok(compiled) => {
                        self.install(&bucket, State::Configured(compiled), version, None);
                    }
                    Err(error) => self.report(&bucket, &BucketError::invalid_document(error)),
                }
            }
            Change::Deleted { bucket, version } => {
                // A bucket known not to exist stays so: its document went
                // with it.
                let known_missing = self
                    .cache
                    .pin()
                    .get(&*bucket)
                    .map(|entry| matches!(entry.state, State::NoSuchBucket));
                if known_missing == Some(false) {
                    self.install(&bucket, State::NotConfigured, version, None);
                }
            }
            Change::Stale { bucket } => self.refresh_in_background(&bucket, false),
            Change::Resync => {
                let keys: Vec<Arc<str>> = self.cache.pin().keys().cloned().collect();
                #[cfg(feature = "tracing")]
                tracing::info!(
                    buckets = keys.len(),
                    "the CORS store's changes may have been missed; reloading every cached bucket"
                );
                for key in keys {
                    self.refresh_in_background(&key, true);
                }
            }
        }
    }

    fn is_cached(&self, bucket: &str) -> bool {
        self.cache.pin().contains_key(bucket)
    }

    /// Reloads a cached bucket in the background (once at a time per
    /// bucket, a bounded number at once); what is cached serves meanwhile.
    pub(super) fn refresh_in_background(self: &Arc<Self>, bucket: &str, force: bool) {
        let key = {
            let cache = self.cache.pin();
            match cache.get_key_value(bucket) {
                Some((key, entry)) if entry.is_known() => {
                    if entry.refreshing.swap(true, Ordering::Relaxed) {
                        return; // a refresh is running
                    }
                    Arc::clone(key)
                }
                // Not cached, or a first load is running, or failed (the
                // next request retries).
                Some(_) | None => return,
            }
        };
        let inner = Arc::clone(self);
        let permits = Arc::clone(&self.refreshes);
        self.runtime.spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let _ = inner.load(key, None, force).await;
        });
    }

    /// The entry `stamp` of `key` is as old as the time to live: read it
    /// again, in the background.
    pub(super) fn expire_fresh(self: &Arc<Self>, key: &Arc<str>, stamp: u64) {
        let current = self
            .cache
            .pin()
            .get(&**key)
            .is_some_and(|entry| entry.stamp == stamp);
        if current {
            self.refresh_in_background(key, false);
        }
    }

    /// "No such bucket" (entry `stamp` of `key`) is as old as its time to
    /// live: the next request looks the bucket up again.
    pub(super) fn expire_missing(self: &Arc<Self>, key: &Arc<str>, stamp: u64) {
        let marked = self.next_stamp();
        self.cache
            .pin()
            .compute(Arc::clone(key), |current| match current {
                Some((_, entry))
                    if entry.stamp == stamp && matches!(entry.state, State::NoSuchBucket) =>
                {
                    Operation::Insert(entry.succeed(State::Invalidated, Version::UNKNOWN, marked))
                }
                Some(_) | None => Operation::Abort(()),
            });
    }

    /// Forgets what is cached for `bucket`: the next request loads it.
    pub(super) fn invalidate(&self, bucket: &str) {
        let marked = self.next_stamp();
        self.cache.pin().update(Arc::<str>::from(bucket), |entry| {
            entry.succeed(State::Invalidated, Version::UNKNOWN, marked)
        });
    }
}
