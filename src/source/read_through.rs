//! [`ReadThrough`]: bucket policies cached from a [`CorsStore`].

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::poll_fn;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use papaya::{Compute, Operation};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::addressing::lower_case;
use super::{Addressing, Completer, Loaded, Pending, PolicySource, RequestHead, Resolution};
use crate::config::{ConfigError, CorsConfiguration, Validation};
use crate::policy::{Compiled, Policy};
use crate::s3::ResourceType;
use crate::store::{Change, CorsStore, Lookup, StoreError, StoreErrorKind, Version};

/// The default bound on cached buckets.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The default time a load from the store may take.
pub const DEFAULT_LOAD_TIMEOUT: Duration = Duration::from_secs(2);
/// How long cached entries live when the store pushes no changes.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// How long a bucket whose first load failed answers "unavailable" before
/// the store is asked again.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// At most this many background refreshes run at once (after a resync).
const REFRESHES_AT_ONCE: usize = 32;

/// Bucket policies read through from a [`CorsStore`], cached per bucket: the
/// policy source for servers whose bucket CORS lives in their own store.
///
/// - **Hits** are synchronous, lock-free and allocation-free: one lookup in a
///   concurrent hash map, as fast as [`Buckets`](super::Buckets).
/// - **Misses** load from the store on the Tokio runtime, never blocking the
///   executor: a preflight waits for the load, an actual request goes to the
///   inner service at once and joins the load when its response comes (see
///   [`Resolution::Pending`]). Concurrent misses on one bucket share one
///   load, and every load has a timeout ([`ReadThroughBuilder::load_timeout`]).
/// - **Bounded:** at most [`capacity`](ReadThroughBuilder::capacity) buckets
///   are cached; a CLOCK (second-chance) eviction keeps the buckets that are
///   asked for. "No CORS" and "no such bucket" are cached too.
/// - **Fresh:** the store's [change stream](CorsStore::changes) updates the
///   cache (a resync reloads every cached bucket); a store that pushes no
///   changes gets a time to live instead ([`ReadThroughBuilder::ttl`]);
///   [`invalidate`](Self::invalidate) and [`refresh`](Self::refresh) are
///   there for integrators with their own channel.
/// - **Stale-if-error:** when the store fails, a cached entry keeps serving.
///   A preflight for a bucket with nothing cached then gets S3's `503
///   ServiceUnavailable`, an actual request passes without CORS headers. A
///   document that does not validate never replaces a good policy; it is
///   reported (a `tracing` warning with the `tracing` feature, and the
///   [`on_error`](ReadThroughBuilder::on_error) hook).
/// - **Shared:** buckets with the same configuration share one compiled
///   policy.
/// - **Write-through:** [`put_document`](Self::put_document) and
///   [`delete_document`](Self::delete_document) validate, write the store,
///   then update this cache (read-your-writes); what the `?cors` admin
///   layer uses.
///
/// ```
/// use http::Request;
/// use tower_s3_cors::source::{PolicySource, ReadThrough, RequestHead, Resolution};
/// use tower_s3_cors::store::{CorsStore, MemoryStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// store.put("photos", r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#).await?;
/// let source = ReadThrough::builder(store).build()?;
///
/// let request = Request::get("/photos/cat.jpg").body(())?;
/// let head = RequestHead::new(&request);
/// // The first request misses: the policy is loading.
/// let Resolution::Pending(pending, _) = source.resolve(&head) else { unreachable!() };
/// pending.await;
/// // Later requests hit the cache.
/// assert!(matches!(source.resolve(&head), Resolution::Configured(..)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ReadThrough {
    inner: Arc<Inner>,
}

/// Builds a [`ReadThrough`]; from [`ReadThrough::builder`].
#[must_use]
pub struct ReadThroughBuilder {
    store: Arc<dyn CorsStore>,
    addressing: Addressing,
    settings: Settings,
    ttl: Option<Option<Duration>>,
    on_error: Option<ErrorHook>,
    runtime: Option<Handle>,
}

/// Called with a bucket and what went wrong loading it.
type ErrorHook = Arc<dyn Fn(&str, &ReadThroughError) + Send + Sync>;

#[derive(Clone, Copy, Debug)]
struct Settings {
    capacity: usize,
    load_timeout: Duration,
    retry_after: Duration,
    validation: Validation,
}

struct Inner {
    store: Arc<dyn CorsStore>,
    addressing: Addressing,
    settings: Settings,
    cache: papaya::HashMap<Arc<str>, Entry>,
    /// Cached buckets in the order they came, for the CLOCK eviction.
    clock: Mutex<VecDeque<Arc<str>>>,
    interner: Mutex<Interner>,
    refreshes: Arc<Semaphore>,
    on_error: Option<ErrorHook>,
    runtime: Handle,
    /// The change-stream and time-to-live tasks, stopped with the source.
    tasks: Mutex<Vec<AbortHandle>>,
}

/// One cached bucket.
struct Entry {
    state: State,
    version: Version,
    loaded_at: Instant,
    /// Asked for since the eviction clock last passed (second chance).
    referenced: AtomicBool,
    /// A background refresh is running.
    refreshing: AtomicBool,
}

#[derive(Clone)]
enum State {
    Configured(Arc<Compiled>),
    NotConfigured,
    NoSuchBucket,
    /// The first load is running.
    Loading(Pending),
    /// The first load failed: answer "unavailable" until then.
    Failed(Instant),
}

impl Entry {
    /// A new entry: it earns its second chance in the eviction clock when
    /// it is asked for again (a bucket asked for once goes first).
    fn new(state: State, version: Version) -> Self {
        Self {
            state,
            version,
            loaded_at: Instant::now(),
            referenced: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
        }
    }

    /// The entry that replaces `self` with `state`: as hot as it was.
    fn succeed(&self, state: State, version: Version) -> Self {
        let next = Self::new(state, version);
        next.referenced
            .store(self.referenced.load(Ordering::Relaxed), Ordering::Relaxed);
        next
    }

    /// Marks the entry as asked for, without writing a cache line that says
    /// so already.
    #[inline]
    fn touch(&self) {
        if !self.referenced.load(Ordering::Relaxed) {
            self.referenced.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the entry holds what the store said (not a load in progress,
    /// not a failure).
    fn is_known(&self) -> bool {
        !matches!(self.state, State::Loading(_) | State::Failed(_))
    }
}

impl State {
    fn loaded(&self) -> Loaded {
        match self {
            Self::Configured(compiled) => {
                Loaded::Configured(Policy::from_shared(Arc::clone(compiled)))
            }
            Self::NotConfigured => Loaded::NotConfigured,
            Self::NoSuchBucket => Loaded::NoSuchBucket,
            Self::Loading(_) | Self::Failed(_) => Loaded::Unavailable,
        }
    }
}

/// Compiled policies by configuration, so buckets with the same
/// configuration share one.
#[derive(Default)]
struct Interner {
    by_hash: HashMap<u64, Vec<Weak<Compiled>>>,
    inserted: usize,
}

impl ReadThrough {
    /// Starts building a source over `store` (path-style addressing, the
    /// defaults of [`ReadThroughBuilder`]).
    pub fn builder(store: impl CorsStore + 'static) -> ReadThroughBuilder {
        ReadThroughBuilder {
            store: Arc::new(store),
            addressing: Addressing::path_style(),
            settings: Settings {
                capacity: DEFAULT_CAPACITY,
                load_timeout: DEFAULT_LOAD_TIMEOUT,
                retry_after: DEFAULT_RETRY_AFTER,
                validation: Validation::s3(),
            },
            ttl: None,
            on_error: None,
            runtime: None,
        }
    }

    /// The store behind the cache.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn CorsStore> {
        &self.inner.store
    }

    /// The bucket a request is for, as the request wrote it, and the rest of
    /// its path (see [`Addressing`]).
    #[must_use]
    pub fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<(&'a str, &'a str)> {
        self.inner.addressing.locate_as_sent(request)
    }

    /// The resolution of a request for `resource` in `bucket` (matched
    /// ASCII-case-insensitively): for sources that locate buckets their own
    /// way and delegate to a `ReadThrough`. A miss starts the load (and
    /// answers [`Resolution::Pending`]).
    #[allow(clippy::must_use_candidate)] // a miss starts a load
    pub fn resolve_bucket(&self, bucket: &str, resource: ResourceType) -> Resolution {
        let name = lower_case(bucket);
        {
            let cache = self.inner.cache.pin();
            if let Some(entry) = cache.get(&*name) {
                entry.touch();
                match &entry.state {
                    State::Configured(compiled) => {
                        return Resolution::Configured(
                            Policy::from_shared(Arc::clone(compiled)),
                            resource,
                        );
                    }
                    State::NotConfigured => return Resolution::NotConfigured,
                    State::NoSuchBucket => return Resolution::NoSuchBucket,
                    State::Loading(pending) => {
                        return Resolution::Pending(pending.clone(), resource);
                    }
                    State::Failed(until) if Instant::now() < *until => {
                        return Resolution::Unavailable;
                    }
                    State::Failed(_) => {}
                }
            }
        }
        self.inner.start_load(name, resource)
    }

    /// Validates `document` (S3's XML or either JSON shape), writes it to
    /// the store, then serves it for `bucket` from this cache at once. What
    /// `PUT ?cors` does.
    ///
    /// # Errors
    ///
    /// [`ReadThroughErrorKind::Document`] for a document S3 would refuse
    /// (nothing is written); [`ReadThroughErrorKind::Store`] or
    /// [`Timeout`](ReadThroughErrorKind::Timeout) when the store fails (the
    /// cache is left as it was).
    pub async fn put_document(
        &self,
        bucket: &str,
        document: &str,
    ) -> Result<Version, ReadThroughError> {
        let name = lower_case(bucket);
        let compiled = match self.inner.intern(document) {
            Ok(compiled) => compiled,
            Err(refused) => {
                // S3 answers for a missing bucket before it reads the body.
                let store = self.inner.with_timeout(self.inner.store.get(&name)).await;
                return Err(match store {
                    Err(error) if error.store_kind() == Some(StoreErrorKind::NoSuchBucket) => error,
                    Ok(_) | Err(_) => ReadThroughError::document(refused),
                });
            }
        };
        let version = self
            .inner
            .with_timeout(self.inner.store.put(&name, document))
            .await?;
        self.inner
            .install(&name, State::Configured(compiled), version, false);
        Ok(version)
    }

    /// Removes `bucket`'s document from the store, then serves "no CORS"
    /// for it at once. What `DELETE ?cors` does.
    ///
    /// # Errors
    ///
    /// As for [`put_document`](Self::put_document), when the store fails.
    pub async fn delete_document(&self, bucket: &str) -> Result<Version, ReadThroughError> {
        let name = lower_case(bucket);
        let version = self
            .inner
            .with_timeout(self.inner.store.delete(&name))
            .await?;
        self.inner
            .install(&name, State::NotConfigured, version, false);
        Ok(version)
    }

    /// `bucket`'s configuration as the store holds it (what `GET ?cors`
    /// returns); `None` when it has none.
    ///
    /// # Errors
    ///
    /// As for [`put_document`](Self::put_document); a stored document that
    /// does not read is [`ReadThroughErrorKind::Document`].
    pub async fn configuration(
        &self,
        bucket: &str,
    ) -> Result<Option<CorsConfiguration>, ReadThroughError> {
        let name = lower_case(bucket);
        match self.inner.with_timeout(self.inner.store.get(&name)).await? {
            Lookup::Found(document) => CorsConfiguration::from_document(document.text())
                .map(Some)
                .map_err(ReadThroughError::document),
            Lookup::NotFound(_) => Ok(None),
        }
    }

    /// Forgets what is cached for `bucket`: the next request loads it from
    /// the store.
    pub fn invalidate(&self, bucket: &str) {
        self.inner.cache.pin().remove(&*lower_case(bucket));
    }

    /// Loads `bucket` from the store now and caches what it holds, whatever
    /// was cached before.
    ///
    /// # Errors
    ///
    /// As for [`configuration`](Self::configuration); the cached entry, if
    /// any, keeps serving.
    pub async fn refresh(&self, bucket: &str) -> Result<(), ReadThroughError> {
        let name: Arc<str> = lower_case(bucket).into();
        Arc::clone(&self.inner).load(name, None, true).await
    }

    /// The number of cached buckets (those being loaded included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.cache.len()
    }

    /// Whether nothing is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.cache.is_empty()
    }
}

impl ReadThroughBuilder {
    /// How requests name their bucket; path style by default.
    pub fn addressing(mut self, addressing: Addressing) -> Self {
        self.addressing = addressing;
        self
    }

    /// At most this many buckets are cached ([`DEFAULT_CAPACITY`] by
    /// default, at least 1).
    pub fn capacity(mut self, buckets: usize) -> Self {
        self.settings.capacity = buckets.max(1);
        self
    }

    /// How long a load from the store may take before it counts as failed
    /// ([`DEFAULT_LOAD_TIMEOUT`] by default). A preflight never waits
    /// longer than this for its policy.
    pub fn load_timeout(mut self, timeout: Duration) -> Self {
        self.settings.load_timeout = timeout;
        self
    }

    /// How long a cached entry serves before it is reloaded in the
    /// background. By default, `None` (no expiry) when the store pushes
    /// changes and [`DEFAULT_TTL`] when it does not.
    pub fn ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How long a bucket whose first load failed answers "unavailable"
    /// before the store is asked again ([`DEFAULT_RETRY_AFTER`]).
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.settings.retry_after = wait;
        self
    }

    /// How documents are validated (S3's rules by default).
    pub fn validation(mut self, validation: Validation) -> Self {
        self.settings.validation = validation;
        self
    }

    /// Called with the bucket and the error whenever a load or a change
    /// fails (the store is down, a stored document does not validate); the
    /// cache keeps what it had.
    pub fn on_error(
        mut self,
        hook: impl Fn(&str, &ReadThroughError) + Send + Sync + 'static,
    ) -> Self {
        self.on_error = Some(Arc::new(hook));
        self
    }

    /// The runtime that runs loads and watches the store; by default the
    /// one [`build`](Self::build) is called in.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// The source. Subscribes to the store's changes (or starts the time to
    /// live) on the runtime.
    ///
    /// # Errors
    ///
    /// [`NoRuntime`] when no runtime was given and this is not called
    /// inside one.
    pub fn build(self) -> Result<ReadThrough, NoRuntime> {
        let runtime = match self.runtime {
            Some(handle) => handle,
            None => Handle::try_current().map_err(|_| NoRuntime)?,
        };
        let changes = self.store.changes();
        let ttl = match self.ttl {
            Some(ttl) => ttl,
            None if changes.is_some() => None,
            None => Some(DEFAULT_TTL),
        };
        let inner = Arc::new(Inner {
            store: self.store,
            addressing: self.addressing,
            settings: self.settings,
            cache: papaya::HashMap::new(),
            clock: Mutex::new(VecDeque::new()),
            interner: Mutex::new(Interner::default()),
            refreshes: Arc::new(Semaphore::new(REFRESHES_AT_ONCE)),
            on_error: self.on_error,
            runtime,
            tasks: Mutex::new(Vec::new()),
        });
        let mut tasks = Vec::new();
        if let Some(mut changes) = changes {
            let weak = Arc::downgrade(&inner);
            tasks.push(inner.runtime.spawn(async move {
                while let Some(change) = poll_fn(|cx| changes.as_mut().poll_next(cx)).await {
                    let Some(inner) = weak.upgrade() else { break };
                    inner.apply(change);
                }
                #[cfg(feature = "tracing")]
                tracing::warn!("the CORS store stopped pushing changes");
            }));
        }
        if let Some(ttl) = ttl {
            let weak = Arc::downgrade(&inner);
            let period = (ttl / 2).max(Duration::from_millis(10));
            tasks.push(inner.runtime.spawn(async move {
                loop {
                    tokio::time::sleep(period).await;
                    let Some(inner) = weak.upgrade() else { break };
                    inner.expire(ttl);
                }
            }));
        }
        lock(&inner.tasks).extend(tasks.iter().map(tokio::task::JoinHandle::abort_handle));
        Ok(ReadThrough { inner })
    }
}

impl Inner {
    /// A miss: starts loading `name` unless a load started meanwhile, and
    /// answers the load to wait for.
    fn start_load(self: &Arc<Self>, name: Cow<'_, str>, resource: ResourceType) -> Resolution {
        let key: Arc<str> = name.into();
        let (pending, completer) = Pending::new();
        let cache = self.cache.pin();
        let outcome = cache.compute(Arc::clone(&key), |current| match current {
            // A load started, or succeeded, since this request looked.
            Some((_, entry)) if !matches!(entry.state, State::Failed(_)) => {
                Operation::Abort(entry.state.clone())
            }
            _ => Operation::Insert(Entry::new(
                State::Loading(pending.clone()),
                Version::UNKNOWN,
            )),
        });
        match outcome {
            Compute::Inserted(..) => {
                drop(cache);
                self.admit(&key);
                let inner = Arc::clone(self);
                self.runtime.spawn(async move {
                    // The outcome is in the cache, and reported.
                    let _ = inner.load(key, Some(completer), false).await;
                });
                Resolution::Pending(pending, resource)
            }
            Compute::Updated { .. } => {
                let inner = Arc::clone(self);
                self.runtime.spawn(async move {
                    let _ = inner.load(key, Some(completer), false).await;
                });
                Resolution::Pending(pending, resource)
            }
            Compute::Aborted(State::Loading(pending)) => Resolution::Pending(pending, resource),
            Compute::Aborted(state) => state.loaded().for_resource(resource),
            Compute::Removed(..) => Resolution::Unavailable,
        }
    }

    /// Loads `key` from the store and caches the outcome (unless the cache
    /// holds something newer, or `force`); completes `completer` with what
    /// the cache then holds.
    async fn load(
        self: Arc<Self>,
        key: Arc<str>,
        completer: Option<Completer>,
        force: bool,
    ) -> Result<(), ReadThroughError> {
        let outcome = match self.with_timeout(self.store.get(&key)).await {
            Ok(Lookup::Found(document)) => self
                .intern(document.text())
                .map(|compiled| (State::Configured(compiled), document.version()))
                .map_err(ReadThroughError::document),
            Ok(Lookup::NotFound(version)) => Ok((State::NotConfigured, version)),
            Err(error) if error.store_kind() == Some(StoreErrorKind::NoSuchBucket) => {
                Ok((State::NoSuchBucket, Version::UNKNOWN))
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok((state, version)) => {
                let now = self.install(&key, state, version, force);
                if let Some(completer) = completer {
                    completer.complete(now);
                }
                Ok(())
            }
            Err(error) => {
                self.report(&key, &error);
                let retry_at = Instant::now() + self.settings.retry_after;
                let cache = self.cache.pin();
                let now = cache.compute(Arc::clone(&key), |current| match current {
                    // A first load failed: nothing to serve.
                    Some((_, entry)) if matches!(entry.state, State::Loading(_)) => {
                        Operation::Insert(Entry::new(State::Failed(retry_at), Version::UNKNOWN))
                    }
                    // Stale-if-error: what is cached keeps serving.
                    Some((_, entry)) => {
                        entry.refreshing.store(false, Ordering::Relaxed);
                        Operation::Abort(entry.state.loaded())
                    }
                    None => Operation::Abort(Loaded::Unavailable),
                });
                if let Some(completer) = completer {
                    completer.complete(match now {
                        Compute::Aborted(loaded) => loaded,
                        Compute::Inserted(..) | Compute::Updated { .. } | Compute::Removed(..) => {
                            Loaded::Unavailable
                        }
                    });
                }
                Err(error)
            }
        }
    }

    /// Caches `state` at `version` for `key`, unless the cache holds a newer
    /// version already (and not `force`); returns what the cache then
    /// holds.
    fn install(&self, key: &str, state: State, version: Version, force: bool) -> Loaded {
        let cache = self.cache.pin();
        let outcome = cache.compute(Arc::<str>::from(key), |current| match current {
            Some((_, entry))
                if !force && entry.is_known() && version.is_older_than(entry.version) =>
            {
                entry.refreshing.store(false, Ordering::Relaxed);
                Operation::Abort(entry.state.loaded())
            }
            Some((_, entry)) => Operation::Insert(entry.succeed(state.clone(), version)),
            None => Operation::Insert(Entry::new(state.clone(), version)),
        });
        let (loaded, admitted) = match outcome {
            Compute::Aborted(loaded) => (loaded, None),
            Compute::Inserted(key, entry) => (entry.state.loaded(), Some(Arc::clone(key))),
            Compute::Updated {
                new: (_, entry), ..
            } => (entry.state.loaded(), None),
            Compute::Removed(..) => (Loaded::Unavailable, None),
        };
        drop(cache);
        if let Some(key) = admitted {
            self.admit(&key);
        }
        loaded
    }

    /// A change pushed by the store.
    fn apply(self: &Arc<Self>, change: Change) {
        match change {
            Change::Put { bucket, document } => {
                if !self.is_cached(&bucket) {
                    return; // nobody asked for it: nothing to update
                }
                match self.intern(document.text()) {
                    Ok(compiled) => {
                        self.install(
                            &bucket,
                            State::Configured(compiled),
                            document.version(),
                            false,
                        );
                    }
                    Err(error) => self.report(&bucket, &ReadThroughError::document(error)),
                }
            }
            Change::Deleted { bucket, version } => {
                if self.is_cached(&bucket) {
                    self.install(&bucket, State::NotConfigured, version, false);
                }
            }
            Change::Stale { bucket } => self.refresh_in_background(&bucket, false),
            Change::Resync => {
                let keys: Vec<Arc<str>> = self.cache.pin().keys().cloned().collect();
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
    fn refresh_in_background(self: &Arc<Self>, bucket: &str, force: bool) {
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

    /// Reloads every entry older than `ttl`.
    fn expire(self: &Arc<Self>, ttl: Duration) {
        let expired: Vec<Arc<str>> = self
            .cache
            .pin()
            .iter()
            .filter(|(_, entry)| entry.is_known() && entry.loaded_at.elapsed() >= ttl)
            .map(|(key, _)| Arc::clone(key))
            .collect();
        for key in expired {
            self.refresh_in_background(&key, false);
        }
    }

    /// A new bucket is cached: it joins the eviction clock, and the least
    /// recently asked-for buckets leave if there are too many.
    fn admit(&self, key: &Arc<str>) {
        let mut clock = lock(&self.clock);
        clock.push_back(Arc::clone(key));
        let capacity = self.settings.capacity;
        if self.cache.len() <= capacity {
            // Keys of buckets removed otherwise (invalidated) stay in the
            // clock until it passes them; keep it in proportion.
            if clock.len() > 2 * capacity + 64 {
                let cache = self.cache.pin();
                let mut seen = std::collections::HashSet::new();
                clock.retain(|key| cache.contains_key(&**key) && seen.insert(Arc::clone(key)));
            }
            return;
        }
        let cache = self.cache.pin();
        // Each entry is passed at most twice: once to clear its second
        // chance, once to evict it.
        let mut budget = 2 * clock.len();
        while cache.len() > capacity && budget > 0 {
            budget -= 1;
            let Some(key) = clock.pop_front() else { break };
            match cache.get(&*key) {
                None => {}
                // A load is running: requests wait for it.
                Some(entry) if matches!(entry.state, State::Loading(_)) => clock.push_back(key),
                Some(entry) if entry.referenced.swap(false, Ordering::Relaxed) => {
                    clock.push_back(key);
                }
                Some(_) => {
                    cache.remove(&*key);
                }
            }
        }
    }

    /// The compiled policy of `document`, shared with every bucket that has
    /// the same configuration.
    fn intern(&self, document: &str) -> Result<Arc<Compiled>, ConfigError> {
        let config = CorsConfiguration::from_document(document)?;
        let validation = self.settings.validation;
        let mut hasher = DefaultHasher::new();
        config.hash(&mut hasher);
        validation.hash(&mut hasher);
        let hash = hasher.finish();
        let same = |compiled: &Arc<Compiled>| {
            let policy = Policy::from_shared(Arc::clone(compiled));
            policy.validation() == validation && *policy.configuration() == config
        };
        if let Some(shared) = lock(&self.interner)
            .by_hash
            .get(&hash)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade)
            .find(same)
        {
            return Ok(shared);
        }
        let compiled = Policy::compile_with(&config, validation)?.into_shared();
        let mut interner = lock(&self.interner);
        let list = interner.by_hash.entry(hash).or_default();
        list.retain(|weak| weak.strong_count() > 0);
        list.push(Arc::downgrade(&compiled));
        interner.inserted += 1;
        if interner.inserted % 1024 == 0 {
            interner.by_hash.retain(|_, list| {
                list.retain(|weak| weak.strong_count() > 0);
                !list.is_empty()
            });
        }
        Ok(compiled)
    }

    /// `operation`, or a timeout error after the load timeout.
    async fn with_timeout<T>(
        &self,
        operation: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, ReadThroughError> {
        match tokio::time::timeout(self.settings.load_timeout, operation).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(ReadThroughError::store(error)),
            Err(_) => Err(ReadThroughError::timeout(self.settings.load_timeout)),
        }
    }

    fn report(&self, bucket: &str, error: &ReadThroughError) {
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
    }
}

/// A lock whose data stays whole if a holder panicked (every update is a
/// single assignment or collection operation).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PolicySource for ReadThrough {
    fn resolve(&self, request: &RequestHead<'_>) -> Resolution {
        match self.inner.addressing.locate_as_sent(request) {
            Some((bucket, key)) => self.resolve_bucket(bucket, ResourceType::from_key_path(key)),
            None => Resolution::NoSuchBucket,
        }
    }

    /// A hit answers without taking a policy handle; a miss starts the load
    /// and answers `true` (a `Vary` too many is harmless).
    fn is_configured_for(&self, request: &RequestHead<'_>) -> bool {
        let Some((bucket, _)) = self.inner.addressing.locate_as_sent(request) else {
            return false;
        };
        let name = lower_case(bucket);
        {
            let cache = self.inner.cache.pin();
            if let Some(entry) = cache.get(&*name) {
                entry.touch();
                return !matches!(entry.state, State::NotConfigured | State::NoSuchBucket);
            }
        }
        self.inner.start_load(name, ResourceType::Bucket);
        true
    }
}

impl fmt::Debug for ReadThrough {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThrough")
            .field("store", &self.inner.store)
            .field("addressing", &self.inner.addressing)
            .field("cached", &self.inner.cache.len())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ReadThroughBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThroughBuilder")
            .field("store", &self.store)
            .field("addressing", &self.addressing)
            .field("settings", &self.settings)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// [`ReadThroughBuilder::build`] was called outside a Tokio runtime, without
/// one given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRuntime;

impl fmt::Display for NoRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no Tokio runtime: build the ReadThrough inside one, or give it one with runtime()",
        )
    }
}

impl std::error::Error for NoRuntime {}

/// Why a [`ReadThrough`] could not load, write or read a bucket's
/// document.
pub struct ReadThroughError {
    kind: ReadThroughErrorKind,
    store: Option<StoreError>,
    document: Option<ConfigError>,
    timeout: Duration,
}

/// The kinds of [`ReadThroughError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadThroughErrorKind {
    /// The store failed; [`ReadThroughError::store_kind`] says how.
    Store,
    /// The store did not answer within the load timeout.
    Timeout,
    /// The document is not one S3 would accept (written by hand into the
    /// store, or refused on a write).
    Document,
}

impl ReadThroughError {
    fn store(error: StoreError) -> Self {
        Self {
            kind: ReadThroughErrorKind::Store,
            store: Some(error),
            document: None,
            timeout: Duration::ZERO,
        }
    }

    fn document(error: ConfigError) -> Self {
        Self {
            kind: ReadThroughErrorKind::Document,
            store: None,
            document: Some(error),
            timeout: Duration::ZERO,
        }
    }

    fn timeout(timeout: Duration) -> Self {
        Self {
            kind: ReadThroughErrorKind::Timeout,
            store: None,
            document: None,
            timeout,
        }
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ReadThroughErrorKind {
        self.kind
    }

    /// How the store failed, for [`ReadThroughErrorKind::Store`].
    #[must_use]
    pub fn store_kind(&self) -> Option<StoreErrorKind> {
        self.store.as_ref().map(StoreError::kind)
    }

    /// Why the document was refused, for [`ReadThroughErrorKind::Document`]:
    /// S3's code and message are there.
    #[must_use]
    pub fn config_error(&self) -> Option<&ConfigError> {
        self.document.as_ref()
    }
}

impl fmt::Display for ReadThroughError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, &self.store, &self.document) {
            (ReadThroughErrorKind::Timeout, ..) => {
                write!(f, "the CORS store did not answer within {:?}", self.timeout)
            }
            (_, Some(store), _) => write!(f, "{store}"),
            (_, _, Some(document)) => write!(f, "invalid CORS document: {document}"),
            (ReadThroughErrorKind::Store | ReadThroughErrorKind::Document, None, None) => {
                f.write_str("CORS store error")
            }
        }
    }
}

impl fmt::Debug for ReadThroughError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThroughError")
            .field("kind", &self.kind)
            .field("store", &self.store)
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

impl std::error::Error for ReadThroughError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match (&self.store, &self.document) {
            (Some(store), _) => Some(store),
            (None, Some(document)) => Some(document),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const XML: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                       <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
    const JSON: &str = r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}"#;

    fn compiled(source: &ReadThrough, bucket: &str) -> Arc<Compiled> {
        match &source.inner.cache.pin().get(bucket).expect("cached").state {
            State::Configured(compiled) => Arc::clone(compiled),
            State::NotConfigured | State::NoSuchBucket | State::Loading(_) | State::Failed(_) => {
                panic!("{bucket} is not configured")
            }
        }
    }

    #[tokio::test]
    async fn buckets_with_the_same_configuration_share_one_compiled_policy() {
        let store = MemoryStore::new();
        let source = ReadThrough::builder(store).build().expect("in a runtime");
        source.put_document("a", XML).await.expect("valid");
        source.put_document("b", JSON).await.expect("valid");
        source
            .put_document(
                "c",
                r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]"#,
            )
            .await
            .expect("valid");
        assert!(Arc::ptr_eq(
            &compiled(&source, "a"),
            &compiled(&source, "b")
        ));
        assert!(!Arc::ptr_eq(
            &compiled(&source, "a"),
            &compiled(&source, "c")
        ));
    }
}
