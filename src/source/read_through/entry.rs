//! [`Entry`]: what the cache holds for one bucket.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use crate::policy::{Compiled, Policy};
use crate::source::{BucketPolicy, Pending};
use crate::store::Version;

/// One cached bucket.
pub(super) struct Entry {
    pub(super) state: State,
    pub(super) version: Version,
    /// When the entry was made, in its source's count of entries: a reload
    /// that began later may replace it whatever its version, one that began
    /// earlier may not; and an expiry scheduled for an older entry of the
    /// bucket does not touch it.
    pub(super) stamp: u64,
    /// Asked for since the eviction clock last passed (second chance).
    referenced: AtomicBool,
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
    /// A new entry, made `stamp`-th: it earns its second chance in the
    /// eviction clock when it is asked for again (a bucket asked for once
    /// goes first).
    pub(super) fn new(state: State, version: Version, stamp: u64) -> Self {
        Self {
            state,
            version,
            stamp,
            referenced: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
            shadow: None,
        }
    }

    /// The entry that replaces `self` with `state`: as hot as it was, with
    /// its shadow.
    pub(super) fn succeed(&self, state: State, version: Version, stamp: u64) -> Self {
        let mut next = Self::new(state, version, stamp);
        next.referenced
            .store(self.referenced.load(Ordering::Relaxed), Ordering::Relaxed);
        next.shadow.clone_from(&self.shadow);
        next
    }

    /// `self` with `shadow`.
    pub(super) fn with_shadow(mut self, shadow: Option<Arc<Compiled>>) -> Self {
        self.shadow = shadow;
        self
    }

    /// The same entry (state, version, stamp, second chance, refresh) with
    /// another shadow.
    pub(super) fn reshadowed(&self, shadow: Option<Arc<Compiled>>) -> Self {
        Self {
            state: self.state.clone(),
            version: self.version,
            stamp: self.stamp,
            referenced: AtomicBool::new(self.referenced.load(Ordering::Relaxed)),
            refreshing: AtomicBool::new(self.refreshing.load(Ordering::Relaxed)),
            shadow,
        }
    }

    /// Marks the entry as asked for, without writing a cache line that says
    /// so already.
    #[inline]
    pub(super) fn touch(&self) {
        if !self.referenced.load(Ordering::Relaxed) {
            self.referenced.store(true, Ordering::Relaxed);
        }
    }

    /// Takes the entry's second chance: whether it was asked for since the
    /// clock last passed.
    pub(super) fn take_reference(&self) -> bool {
        self.referenced.swap(false, Ordering::Relaxed)
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
