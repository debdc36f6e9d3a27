//! The shadows of a [`ReadThrough`](super::ReadThrough)'s buckets: kept in
//! this process's memory beside the cache (never in the store, never
//! evicted), and copied into each bucket's cache entry, where a hit finds
//! it.

use std::sync::Arc;

use papaya::Operation;

use super::cache::{Inner, lock};
use crate::policy::{Compiled, Policy};
use crate::source::BucketError;

impl Inner {
    /// Sets `bucket`'s shadow to `document`, validated as the source's
    /// documents are.
    pub(super) fn put_shadow_document(
        &self,
        bucket: &str,
        document: &str,
    ) -> Result<(), BucketError> {
        let compiled = self.intern(document).map_err(BucketError::document)?;
        self.set_shadow(bucket, Some(compiled));
        Ok(())
    }

    /// Sets or removes `bucket`'s shadow, in the map and in its cache entry.
    pub(super) fn set_shadow(&self, bucket: &str, shadow: Option<Arc<Compiled>>) {
        let key: Arc<str> = bucket.into();
        // Held while the entry is updated: an entry made meanwhile (which
        // takes this lock too) copies the new shadow.
        let mut shadows = lock(&self.shadows);
        match &shadow {
            Some(shadow) => {
                shadows.insert(Arc::clone(&key), Arc::clone(shadow));
            }
            None => {
                shadows.remove(&key);
            }
        }
        self.cache.pin().compute(key, |current| match current {
            Some((_, entry)) => Operation::Insert(entry.reshadowed(shadow.clone())),
            None => Operation::Abort(()),
        });
        drop(shadows);
    }

    /// `bucket`'s shadow, if it has one.
    pub(super) fn shadow(&self, bucket: &str) -> Option<Policy> {
        lock(&self.shadows)
            .get(bucket)
            .map(|compiled| Policy::from_shared(Arc::clone(compiled)))
    }
}
