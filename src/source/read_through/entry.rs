//! [`Entry`]: what the cache holds for one bucket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use tokio::time::Instant;

use crate::policy::{Compiled, Policy};
use crate::source::{BucketPolicy, Pending};
use crate::store::Version;

/// The most hits an entry counts.
pub(super) const MAX_HITS: u8 = 3;

/// One cached bucket.
pub(super) struct Entry {
    pub(super) state: State,
    pub(super) version: Version,
    /// When the entry was made, in its source's count of entries: a reload
    /// that began later may replace it whatever its version, one that began
    /// earlier may not; and an expiry scheduled for an older entry of the
    /// bucket does not touch it.
    pub(super) stamp: u64,
    /// Hits since the eviction last passed the entry, up to [`MAX_HITS`]
    /// (S3-FIFO's frequency, see `fifo`).
    hits: AtomicU8,
    /// A background refresh is running.
    pub(super) refreshing: AtomicBool,
    /// The bucket's shadow, copied from the source's shadows when the entry
    /// is made or the shadow changes: a hit reads it from the entry it
    /// holds.
    pub(super) shadow: Option<Arc<Compiled>>,
}

/// The state of a cached bucket.
#[derive(Clone)]
pub(super) enum State {
    Configured(Arc<Compiled>),
    NotConfigured,
    NoSuchBucket,
    /// The first load is running.
    Loading(Pending),
    /// The first load failed: answer "unavailable" until then.
    Failed(Instant),
    /// Invalidated or expired: the next request loads it. (A mark rather
    /// than a removal: the table does not reuse a removed entry's slot, and
    /// a bucket invalidated again and again would fill its probe sequence.)
    Invalidated,
}

impl Entry {
    /// A new entry, made `stamp`-th, with no hits: a bucket asked for once
    /// is the first the eviction takes.
    pub(super) fn new(state: State, version: Version, stamp: u64) -> Self {
        Self {
            state,
            version,
            stamp,
            hits: AtomicU8::new(0),
            refreshing: AtomicBool::new(false),
            shadow: None,
        }
    }

    /// The entry that replaces `self` with `state`: as hot as it was, with
    /// its shadow.
    pub(super) fn succeed(&self, state: State, version: Version, stamp: u64) -> Self {
        let mut next = Self::new(state, version, stamp);
        next.hits.store(self.hits(), Ordering::Relaxed);
        next.shadow.clone_from(&self.shadow);
        next
    }

    /// `self` with `shadow`.
    pub(super) fn with_shadow(mut self, shadow: Option<Arc<Compiled>>) -> Self {
        self.shadow = shadow;
        self
    }

    /// The same entry (state, version, stamp, hits, refresh) with another
    /// shadow.
    pub(super) fn reshadowed(&self, shadow: Option<Arc<Compiled>>) -> Self {
        Self {
            state: self.state.clone(),
            version: self.version,
            stamp: self.stamp,
            hits: AtomicU8::new(self.hits()),
            refreshing: AtomicBool::new(self.refreshing.load(Ordering::Relaxed)),
            shadow,
        }
    }

    /// Counts a hit. A full count is not written again: a hot entry's
    /// cache line stays shared between the cores that read it.
    #[inline]
    pub(super) fn touch(&self) {
        let hits = self.hits.load(Ordering::Relaxed);
        if hits < MAX_HITS {
            // Two hits at once may count as one: the count is a hint.
            self.hits.store(hits + 1, Ordering::Relaxed);
        }
    }

    /// Hits since the eviction last passed the entry.
    pub(super) fn hits(&self) -> u8 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The eviction passed the entry and kept it for its hits: they are
    /// spent (all of them when it leaves the small queue, one in the main
    /// queue).
    pub(super) fn spend_hits(&self, spent: u8) {
        self.hits
            .store(self.hits().saturating_sub(spent), Ordering::Relaxed);
    }

    /// Whether a load of the bucket's first policy is running: requests
    /// wait on the entry, so the eviction keeps it.
    pub(super) fn is_loading(&self) -> bool {
        matches!(self.state, State::Loading(_))
    }

    /// Whether the entry holds what the store said (not a load in progress,
    /// not a failure).
    pub(super) fn is_known(&self) -> bool {
        !matches!(
            self.state,
            State::Loading(_) | State::Failed(_) | State::Invalidated
        )
    }
}

impl State {
    /// What the state answers a request that waited for it.
    pub(super) fn policy(&self) -> BucketPolicy {
        match self {
            Self::Configured(compiled) => {
                BucketPolicy::Configured(Policy::from_shared(Arc::clone(compiled)))
            }
            Self::NotConfigured => BucketPolicy::NotConfigured,
            Self::NoSuchBucket => BucketPolicy::NoSuchBucket,
            Self::Loading(_) | Self::Failed(_) | Self::Invalidated => BucketPolicy::Unavailable,
        }
    }
}
