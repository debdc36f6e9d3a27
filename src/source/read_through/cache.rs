//! [`Inner`]: the cache of a [`ReadThrough`](super::ReadThrough), its hits
//! and its loads.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use papaya::{Compute, Operation};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::builder::{Settings, Ttl};
use super::entry::{Entry, State};
use super::expiry::Expiry;
use super::fifo::Fifo;
use super::interner::Interner;
use crate::policy::{Compiled, Policy};
use crate::source::{
    Addressing, BucketError, BucketPolicy, Completer, Pending, Resolution, SHADOWS_OBSERVED,
};
use crate::store::{Change, DynExists, DynStore, Lookup, Version};

/// The cached buckets, by name.
pub(super) type Cache = papaya::HashMap<Arc<str>, Entry>;

/// Called with a bucket and what went wrong loading it.
pub(super) type ErrorHook = Arc<dyn Fn(&str, &BucketError) + Send + Sync>;

/// At most this many background refreshes run at once (after a resync).
const REFRESHES_AT_ONCE: usize = 32;

/// What every clone of a [`ReadThrough`](super::ReadThrough) shares.
pub(super) struct Inner {
    pub(super) store: Arc<dyn DynStore>,
    pub(super) addressing: Addressing,
    exists: Option<Arc<dyn DynExists>>,
    pub(super) settings: Settings,
    pub(super) cache: Cache,
    pub(super) eviction: Fifo,
    interner: Interner,
    /// How many entries were made: the next entry's stamp.
    stamps: AtomicU64,
    /// When entries are read again (with [`Ttl::After`]).
    pub(super) fresh: Option<Expiry>,
    /// When "no such bucket" is looked up again.
    pub(super) missing: Expiry,
    pub(super) refreshes: Arc<Semaphore>,
    on_error: Option<ErrorHook>,
    /// The buckets' shadows: in memory only, and never evicted (they are
    /// the operator's, as many as were set). Each is also copied into its
    /// bucket's cache entry; held while an entry is made, so that a shadow
    /// set meanwhile is never left out of it.
    pub(super) shadows: Mutex<HashMap<Arc<str>, Arc<Compiled>>>,
    pub(super) runtime: Handle,
    /// The change-stream and expiry tasks, stopped with the source.
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Inner {
    pub(super) fn new(
        store: Arc<dyn DynStore>,
        addressing: Addressing,
        exists: Option<Arc<dyn DynExists>>,
        settings: Settings,
        ttl: Ttl,
        on_error: Option<ErrorHook>,
        runtime: Handle,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            addressing,
            exists,
            settings,
            // Resizes block writers (a miss, an insert) rather than proceed
            // chunk by chunk with later writes: a map being resized
            // incrementally makes every read search two tables until enough
            // writes finish it, and this map is read far more than written
            // (`benches/store.rs`, "hit after a burst of inserts").
            cache: papaya::HashMap::builder()
                .resize_mode(papaya::ResizeMode::Blocking)
                .build(),
            eviction: Fifo::new(settings.capacity),
            interner: Interner::default(),
            stamps: AtomicU64::new(0),
            fresh: match ttl {
                Ttl::UntilChanged => None,
                Ttl::After(ttl) => Some(Expiry::new(ttl)),
            },
            missing: Expiry::new(settings.missing_bucket_ttl),
            refreshes: Arc::new(Semaphore::new(REFRESHES_AT_ONCE)),
            on_error,
            shadows: Mutex::new(HashMap::new()),
            runtime,
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts following `changes` and expiring entries, on the runtime.
    pub(super) fn start_tasks(
        self: &Arc<Self>,
        changes: Option<std::pin::Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>>,
    ) {
        let mut tasks = Vec::new();
        if let Some(mut changes) = changes {
            let weak = Arc::downgrade(self);
            tasks.push(self.runtime.spawn(async move {
                while let Some(change) = poll_fn(|cx| changes.as_mut().poll_next(cx)).await {
                    let Some(inner) = weak.upgrade() else { break };
                    inner.apply(change);
                }
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    "the CORS store stopped pushing changes; cached policies may go stale"
                );
            }));
        }
        if self.fresh.is_some() {
            tasks.push(self.runtime.spawn(Expiry::run(
                Arc::downgrade(self),
                |inner| inner.fresh.as_ref().expect("a time to live is set"),
                Self::expire_fresh,
            )));
        }
        tasks.push(self.runtime.spawn(Expiry::run(
            Arc::downgrade(self),
            |inner| &inner.missing,
            Self::expire_missing,
        )));
        lock(&self.tasks).extend(tasks.iter().map(tokio::task::JoinHandle::abort_handle));
    }

    pub(super) fn next_stamp(&self) -> u64 {
        self.stamps.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The stamp of the latest entry made.
    pub(super) fn latest_stamp(&self) -> u64 {
        self.stamps.load(Ordering::SeqCst)
    }

    /// The read side: a hit answers at once; a miss starts the load.
    #[inline]
    pub(super) fn resolve(self: &Arc<Self>, name: &str) -> Resolution {
        {
            let cache = self.cache.pin();
            if let Some(entry) = cache.get(name) {
                entry.touch();
                match &entry.state {
                    State::Configured(compiled) => {
                        let live =
                            BucketPolicy::Configured(Policy::from_shared(Arc::clone(compiled)));
                        return shadowed(live, entry.shadow.as_ref());
                    }
                    State::NotConfigured => {
                        return shadowed(BucketPolicy::NotConfigured, entry.shadow.as_ref());
                    }
                    State::NoSuchBucket => return Resolution::Ready(BucketPolicy::NoSuchBucket),
                    State::Loading(pending) => return Resolution::Pending(pending.clone()),
                    State::Failed(until) if Instant::now() < *until => {
                        return Resolution::Ready(BucketPolicy::Unavailable);
                    }
                    State::Failed(_) | State::Invalidated => {}
                }
            }
        }
        self.start_load(name)
    }

    /// Whether a bucket has, or may have, a policy: a hit answers without
    /// taking a policy handle; a miss starts the load and answers `true`.
    pub(super) fn is_configured(self: &Arc<Self>, name: &str) -> bool {
        {
            let cache = self.cache.pin();
            if let Some(entry) = cache.get(name) {
                entry.touch();
                match &entry.state {
                    State::NotConfigured | State::NoSuchBucket => return false,
                    State::Configured(_) | State::Loading(_) => return true,
                    State::Failed(until) if Instant::now() < *until => return true,
                    State::Failed(_) | State::Invalidated => {}
                }
            }
        }
        self.start_load(name);
        true
    }

    /// A miss: starts loading `name` unless a load started meanwhile, and
    /// answers the load to wait for.
    fn start_load(self: &Arc<Self>, name: &str) -> Resolution {
        let key: Arc<str> = name.into();
        let (pending, completer) = Pending::new();
        let stamp = self.next_stamp();
        let cache = self.cache.pin();
        let outcome = cache.compute(Arc::clone(&key), |current| match current {
            // A load started, or succeeded, since this request looked.
            Some((_, entry)) if !matches!(entry.state, State::Failed(_) | State::Invalidated) => {
                Operation::Abort(entry.state.clone())
            }
            _ => Operation::Insert(Entry::new(
                State::Loading(pending.clone()),
                Version::UNKNOWN,
                stamp,
            )),
        });
        let admitted = match outcome {
            Compute::Inserted(..) => {
                #[cfg(feature = "metrics")]
                crate::metrics::get().store_cached_buckets.increment(1.0);
                true
            }
            Compute::Updated { .. } => false,
            Compute::Aborted(State::Loading(pending)) => return Resolution::Pending(pending),
            Compute::Aborted(state) => return Resolution::Ready(state.policy()),
            Compute::Removed(..) => return Resolution::Ready(BucketPolicy::Unavailable),
        };
        drop(cache);
        if admitted {
            self.eviction.admit(&key, &self.cache);
        }
        let inner = Arc::clone(self);
        self.runtime.spawn(async move {
            // The outcome is in the cache, and reported.
            let _ = inner.load(key, Some(completer), false).await;
        });
        Resolution::Pending(pending)
    }

    /// Loads `key` from the store and caches the outcome (unless the cache
    /// holds something newer; with `force`, unless the cache holds
    /// something cached after the load began); completes `completer` with
    /// what the cache then holds.
    pub(super) async fn load(
        self: Arc<Self>,
        key: Arc<str>,
        completer: Option<Completer>,
        force: bool,
    ) -> Result<(), BucketError> {
        // Entries made before this point hold what the store held before
        // the read: a forced load replaces them whatever their version.
        // Entries made later (a change pushed while the read was on its
        // way) may be newer than what it reads.
        let force = force.then(|| self.latest_stamp());
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        let fetched = self.fetch(&key).await;
        #[cfg(feature = "metrics")]
        {
            let metrics = crate::metrics::get();
            metrics.store_loads.increment(1);
            metrics.store_load_duration.record(started.elapsed());
        }
        match fetched {
            Ok((state, version)) => {
                let now = self.install(&key, state, version, force);
                if let Some(completer) = completer {
                    self.complete(&key, completer, now);
                }
                Ok(())
            }
            Err(error) => {
                self.report(&key, &error);
                let now = self.keep_after_failure(&key);
                if let Some(completer) = completer {
                    self.complete(&key, completer, now);
                }
                Err(error)
            }
        }
    }

    /// Completes a load of `key` with `now`, and the bucket's shadow beside
    /// it if it has one.
    fn complete(&self, key: &str, completer: Completer, now: BucketPolicy) {
        match self.shadow(key) {
            Some(shadow) if SHADOWS_OBSERVED => completer.complete_shadowed(now, shadow),
            Some(_) | None => completer.complete(now),
        }
    }

    /// What the store says of a bucket, compiled: asks whether the bucket
    /// exists (if the source was given a way to), then reads its document.
    pub(super) async fn fetch(&self, key: &str) -> Result<(State, Version), BucketError> {
        if !self.exists(key).await? {
            return Ok((State::NoSuchBucket, Version::UNKNOWN));
        }
        match self.with_timeout(self.store.get(key)).await {
            Ok(Lookup::Found(text, version)) => self
                .intern(&text)
                .map(|compiled| (State::Configured(compiled), version))
                .map_err(BucketError::invalid_document),
            Ok(Lookup::NotFound(version)) => Ok((State::NotConfigured, version)),
            Err(error) if error.is_no_such_bucket() => Ok((State::NoSuchBucket, Version::UNKNOWN)),
            Err(error) => Err(error),
        }
    }

    /// The compiled policy of `document`, shared with every bucket that has
    /// the same configuration.
    pub(super) fn intern(
        &self,
        document: &str,
    ) -> Result<Arc<crate::policy::Compiled>, crate::config::ConfigError> {
        self.interner.intern(document, self.settings.validation)
    }

    /// Whether `bucket` exists, as the source's existence check says (it
    /// does, without one).
    pub(super) async fn exists(&self, bucket: &str) -> Result<bool, BucketError> {
        match &self.exists {
            Some(exists) => self.with_timeout(exists.exists(bucket)).await,
            None => Ok(true),
        }
    }

    /// Whether the source was given a way to tell which buckets exist.
    pub(super) fn has_existence_check(&self) -> bool {
        self.exists.is_some()
    }

    /// A load failed: a first load leaves "unavailable" for a while; a
    /// cached entry keeps serving (stale-if-error) and is tried again
    /// after its time to live. Returns what the cache then holds.
    fn keep_after_failure(&self, key: &Arc<str>) -> BucketPolicy {
        let retry_at = Instant::now() + self.settings.retry_after;
        let stamp = self.next_stamp();
        let cache = self.cache.pin();
        let now = cache.compute(Arc::clone(key), |current| match current {
            Some((_, entry)) if matches!(entry.state, State::Loading(_)) => {
                Operation::Insert(Entry::new(State::Failed(retry_at), Version::UNKNOWN, stamp))
            }
            Some((_, entry)) => {
                entry.refreshing.store(false, Ordering::Relaxed);
                Operation::Abort((entry.state.policy(), entry.stamp, entry.is_known()))
            }
            None => Operation::Abort((BucketPolicy::Unavailable, 0, false)),
        });
        match now {
            Compute::Aborted((policy, stamp, known)) => {
                match &self.fresh {
                    Some(fresh) if known => fresh.schedule(key, stamp),
                    Some(_) | None => {}
                }
                policy
            }
            Compute::Inserted(..) | Compute::Updated { .. } | Compute::Removed(..) => {
                BucketPolicy::Unavailable
            }
        }
    }

    /// Caches `state` at `version` for `key`, unless the cache holds a newer
    /// version already; with `force` (a stamp), an entry made up to that
    /// stamp is replaced whatever its version. Schedules the new entry's
    /// expiry. Returns what the cache then holds.
    pub(super) fn install(
        &self,
        key: &str,
        state: State,
        version: Version,
        force: Option<u64>,
    ) -> BucketPolicy {
        let stamp = self.next_stamp();
        // Held until the entry is in: a shadow set meanwhile waits, then
        // finds the entry and copies itself into it.
        let shadows = lock(&self.shadows);
        let shadow = shadows.get(key).cloned();
        let cache = self.cache.pin();
        let outcome = cache.compute(Arc::<str>::from(key), |current| match current {
            Some((_, entry))
                if entry.is_known()
                    && version.is_older_than(entry.version)
                    && force.is_none_or(|forced| entry.stamp > forced) =>
            {
                entry.refreshing.store(false, Ordering::Relaxed);
                Operation::Abort(entry.state.policy())
            }
            Some((_, entry)) => Operation::Insert(
                entry
                    .succeed(state.clone(), version, stamp)
                    .with_shadow(shadow.clone()),
            ),
            None => Operation::Insert(
                Entry::new(state.clone(), version, stamp).with_shadow(shadow.clone()),
            ),
        });
        let (policy, key, admitted) = match outcome {
            Compute::Aborted(policy) => return policy,
            Compute::Inserted(key, entry) => (entry.state.policy(), Arc::clone(key), true),
            Compute::Updated {
                new: (key, entry), ..
            } => (entry.state.policy(), Arc::clone(key), false),
            Compute::Removed(..) => return BucketPolicy::Unavailable,
        };
        drop(cache);
        drop(shadows);
        #[cfg(feature = "metrics")]
        if admitted {
            crate::metrics::get().store_cached_buckets.increment(1.0);
        }
        match &state {
            State::NoSuchBucket => self.missing.schedule(&key, stamp),
            State::Configured(_) | State::NotConfigured => {
                if let Some(fresh) = &self.fresh {
                    fresh.schedule(&key, stamp);
                }
            }
            State::Loading(_) | State::Failed(_) | State::Invalidated => {}
        }
        if admitted {
            self.eviction.admit(&key, &self.cache);
        }
        policy
    }

    /// `operation`, or a timeout error after the load timeout.
    pub(super) async fn with_timeout<T>(
        &self,
        operation: impl Future<Output = Result<T, BucketError>>,
    ) -> Result<T, BucketError> {
        let timeout = self.settings.load_timeout;
        tokio::time::timeout(timeout, operation)
            .await
            .unwrap_or_else(|_| Err(BucketError::timed_out(timeout)))
    }

    /// Reports a failed load or change: a `tracing` warning (feature
    /// `tracing`) and the error hook.
    pub(super) fn report(&self, bucket: &str, error: &BucketError) {
        #[cfg(feature = "metrics")]
        crate::metrics::get().count_load_failure(error);
        #[cfg(feature = "tracing")]
        tracing::warn!(bucket, %error, "CORS policy not loaded; what was cached keeps serving");
        if let Some(hook) = &self.on_error {
            hook(bucket, error);
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
        #[cfg(feature = "metrics")]
        crate::metrics::get()
            .store_cached_buckets
            .decrement(self.cache.len() as f64);
    }
}

/// A hit's answer: `live`, with the bucket's shadow beside it if it has
/// one (and something observes shadows).
#[inline]
fn shadowed(live: BucketPolicy, shadow: Option<&Arc<Compiled>>) -> Resolution {
    match shadow {
        Some(shadow) if SHADOWS_OBSERVED => {
            Resolution::Shadowed(live, Policy::from_shared(Arc::clone(shadow)))
        }
        Some(_) | None => Resolution::Ready(live),
    }
}

/// A lock whose data stays whole if a holder panicked (every update is a
/// single assignment or collection operation).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
