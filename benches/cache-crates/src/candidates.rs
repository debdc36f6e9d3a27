//! The caches compared, behind one small trait, each holding what the
//! read-through cache holds per bucket.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use papaya::{Compute, Operation};

/// Stands for a compiled policy (`Arc<Compiled>` in the project): a handle
/// cloned on every hit.
pub type Compiled = [u8; 64];

/// What the project caches for a bucket (`State` in read_through.rs), the
/// same shape and size: a policy handle, "no CORS", "no such bucket", a
/// load in progress (an `Arc`, as `Pending` is), a failure until a time.
#[derive(Clone)]
#[allow(dead_code)] // only `Configured` is ever made: every bucket has CORS
pub enum State {
    Configured(Arc<Compiled>),
    NotConfigured,
    NoSuchBucket,
    Loading(Arc<()>),
    Failed(Instant),
    Invalidated,
}

/// One bucket's cached value, as the project's `Entry` has it (less the
/// two flags that live beside it, below).
#[derive(Clone)]
#[allow(dead_code)] // there for their size: a real entry has them
pub struct Cached {
    pub state: State,
    pub version: u64,
    pub loaded_at: Instant,
    pub stamp: u64,
}

/// The project's process-wide entry counter.
static STAMPS: AtomicU64 = AtomicU64::new(0);

impl Cached {
    /// A loaded policy, made as `Entry::new` makes it.
    pub fn new(policy: &Arc<Compiled>) -> Self {
        Self {
            state: State::Configured(Arc::clone(policy)),
            version: 1,
            loaded_at: Instant::now(),
            stamp: STAMPS.fetch_add(1, Ordering::SeqCst) + 1,
        }
    }
}

/// A bucket cache: the hit path and the miss path of the read-through
/// cache.
pub trait Candidate: Send + Sync + 'static {
    /// At most `capacity` buckets.
    fn new(capacity: usize) -> Self;
    /// The hit path: the bucket's policy handle, or `None` on a miss.
    fn resolve(&self, bucket: &str) -> Option<Arc<Compiled>>;
    /// The miss path: caches `bucket` (evicting if over capacity).
    fn admit(&self, bucket: &str, value: Cached);
    /// Cached buckets.
    fn len(&self) -> usize;
    /// Lets deferred maintenance run (moka's); nothing for the others.
    fn settle(&self) {}
}

// ---------------------------------------------------------------------------
// papaya + CLOCK: the project's structure (src/source/read_through.rs).

/// One cached bucket: the value and the two flags of the project's `Entry`.
pub struct Entry {
    value: Cached,
    /// Asked for since the eviction clock last passed (second chance).
    referenced: AtomicBool,
    /// A background refresh is running (never set here; kept for size).
    #[allow(dead_code)]
    refreshing: AtomicBool,
}

impl Entry {
    fn new(value: Cached) -> Self {
        Self {
            value,
            referenced: AtomicBool::new(false),
            refreshing: AtomicBool::new(false),
        }
    }

    /// As `Entry::touch`: no write to a line that says so already.
    #[inline]
    fn touch(&self) {
        if !self.referenced.load(Ordering::Relaxed) {
            self.referenced.store(true, Ordering::Relaxed);
        }
    }
}

/// A `papaya::HashMap` (blocking resizes) and a CLOCK ring of its keys.
pub struct PapayaClock<S = RandomState> {
    capacity: usize,
    cache: papaya::HashMap<Arc<str>, Entry, S>,
    clock: Mutex<VecDeque<Arc<str>>>,
}

impl<S: BuildHasher + Default + Send + Sync + 'static> Candidate for PapayaClock<S> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            cache: papaya::HashMap::builder()
                .hasher(S::default())
                .resize_mode(papaya::ResizeMode::Blocking)
                .build(),
            clock: Mutex::new(VecDeque::new()),
        }
    }

    /// `ReadThrough::resolve_bucket`'s hit path (after `lower_case`, which
    /// every candidate would share).
    #[inline]
    fn resolve(&self, bucket: &str) -> Option<Arc<Compiled>> {
        let cache = self.cache.pin();
        let entry = cache.get(bucket)?;
        entry.touch();
        match &entry.value.state {
            State::Configured(compiled) => Some(Arc::clone(compiled)),
            _ => None,
        }
    }

    /// `Inner::start_load`'s insert (a `compute` that keeps an entry made
    /// meanwhile), then `Inner::admit`.
    fn admit(&self, bucket: &str, value: Cached) {
        let key: Arc<str> = Arc::from(bucket);
        let cache = self.cache.pin();
        let mut value = Some(value);
        let inserted = matches!(
            cache.compute(Arc::clone(&key), |current| match current {
                Some((_, entry))
                    if !matches!(entry.value.state, State::Failed(_) | State::Invalidated) =>
                {
                    Operation::Abort(())
                }
                _ => Operation::Insert(Entry::new(value.take().expect("one thread admits: no retry"))),
            }),
            Compute::Inserted(..)
        );
        drop(cache);
        if inserted {
            self.evict(&key);
        }
    }

    fn len(&self) -> usize {
        self.cache.len()
    }
}

impl<S: BuildHasher> PapayaClock<S> {
    /// `Inner::admit`: the new key joins the ring; while over capacity the
    /// hand clears second chances and evicts the first entry without one.
    fn evict(&self, key: &Arc<str>) {
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        clock.push_back(Arc::clone(key));
        let capacity = self.capacity;
        if self.cache.len() <= capacity {
            if clock.len() > 2 * capacity + 64 {
                let cache = self.cache.pin();
                let mut seen = std::collections::HashSet::new();
                clock.retain(|key| cache.contains_key(&**key) && seen.insert(Arc::clone(key)));
            }
            return;
        }
        let cache = self.cache.pin();
        let mut budget = 2 * clock.len();
        while cache.len() > capacity && budget > 0 {
            budget -= 1;
            let Some(key) = clock.pop_front() else { break };
            match cache.get(&*key) {
                None => {}
                Some(entry) if matches!(entry.value.state, State::Loading(_)) => clock.push_back(key),
                Some(entry) if entry.referenced.swap(false, Ordering::Relaxed) => {
                    clock.push_back(key);
                }
                Some(_) => {
                    cache.remove(&*key);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// papaya + S3-FIFO: a prototype of ours (not the project's code), the same
// map and hit path with a better eviction: new buckets enter a small FIFO
// (a tenth of the capacity); one asked for again while there moves to the
// main FIFO, one that was not leaves and its hash is remembered (a ghost),
// so that if it comes back it goes straight to the main FIFO. The main
// FIFO gives second chances by a small counter (0 to 3) set on hits.

/// One cached bucket: the value, a hit counter, the refresh flag.
pub struct FifoEntry {
    value: Cached,
    /// Hits since the entry last moved in the queues, up to 3.
    freq: AtomicU8,
    #[allow(dead_code)]
    refreshing: AtomicBool,
}

impl FifoEntry {
    /// No write once the counter is full: a hot entry's line stays shared.
    #[inline]
    fn touch(&self) {
        let freq = self.freq.load(Ordering::Relaxed);
        if freq < 3 {
            self.freq.store(freq + 1, Ordering::Relaxed);
        }
    }
}

struct Queues<S> {
    small: VecDeque<Arc<str>>,
    main: VecDeque<Arc<str>>,
    ghost: VecDeque<u64>,
    ghosts: HashSet<u64>,
    hasher: S,
}

pub struct PapayaS3Fifo<S = RandomState> {
    capacity: usize,
    cache: papaya::HashMap<Arc<str>, FifoEntry, S>,
    queues: Mutex<Queues<S>>,
}

impl<S: BuildHasher + Default + Send + Sync + 'static> Candidate for PapayaS3Fifo<S> {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            cache: papaya::HashMap::builder()
                .hasher(S::default())
                .resize_mode(papaya::ResizeMode::Blocking)
                .build(),
            queues: Mutex::new(Queues {
                small: VecDeque::new(),
                main: VecDeque::new(),
                ghost: VecDeque::new(),
                ghosts: HashSet::new(),
                hasher: S::default(),
            }),
        }
    }

    #[inline]
    fn resolve(&self, bucket: &str) -> Option<Arc<Compiled>> {
        let cache = self.cache.pin();
        let entry = cache.get(bucket)?;
        entry.touch();
        match &entry.value.state {
            State::Configured(compiled) => Some(Arc::clone(compiled)),
            _ => None,
        }
    }

    fn admit(&self, bucket: &str, value: Cached) {
        let key: Arc<str> = Arc::from(bucket);
        let cache = self.cache.pin();
        let mut value = Some(value);
        let inserted = matches!(
            cache.compute(Arc::clone(&key), |current| match current {
                Some((_, entry))
                    if !matches!(entry.value.state, State::Failed(_) | State::Invalidated) =>
                {
                    Operation::Abort(())
                }
                _ => Operation::Insert(FifoEntry {
                    value: value.take().expect("one thread admits: no retry"),
                    freq: AtomicU8::new(0),
                    refreshing: AtomicBool::new(false),
                }),
            }),
            Compute::Inserted(..)
        );
        drop(cache);
        if inserted {
            self.evict(key);
        }
    }

    fn len(&self) -> usize {
        self.cache.len()
    }
}

impl<S: BuildHasher> PapayaS3Fifo<S> {
    fn evict(&self, key: Arc<str>) {
        let mut q = self.queues.lock().unwrap_or_else(PoisonError::into_inner);
        let q = &mut *q;
        let hash = q.hasher.hash_one(&*key);
        if q.ghosts.remove(&hash) {
            q.main.push_back(key);
        } else {
            q.small.push_back(key);
        }
        let capacity = self.capacity;
        let small_capacity = (capacity / 10).max(1);
        let cache = self.cache.pin();
        let mut budget = 2 * (q.small.len() + q.main.len());
        while cache.len() > capacity && budget > 0 {
            budget -= 1;
            if q.small.len() > small_capacity || q.main.is_empty() {
                let Some(key) = q.small.pop_front() else { break };
                match cache.get(&*key) {
                    None => {}
                    Some(entry) if matches!(entry.value.state, State::Loading(_)) => {
                        q.small.push_back(key);
                    }
                    Some(entry) if entry.freq.load(Ordering::Relaxed) > 0 => {
                        entry.freq.store(0, Ordering::Relaxed);
                        q.main.push_back(key);
                    }
                    Some(_) => {
                        cache.remove(&*key);
                        let hash = q.hasher.hash_one(&*key);
                        if q.ghosts.insert(hash) {
                            q.ghost.push_back(hash);
                            if q.ghost.len() > capacity - small_capacity {
                                if let Some(old) = q.ghost.pop_front() {
                                    q.ghosts.remove(&old);
                                }
                            }
                        }
                    }
                }
            } else {
                let Some(key) = q.main.pop_front() else { break };
                match cache.get(&*key) {
                    None => {}
                    Some(entry) if matches!(entry.value.state, State::Loading(_)) => {
                        q.main.push_back(key);
                    }
                    Some(entry) => {
                        let freq = entry.freq.load(Ordering::Relaxed);
                        if freq > 0 {
                            entry.freq.store(freq - 1, Ordering::Relaxed);
                            q.main.push_back(key);
                        } else {
                            cache.remove(&*key);
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// quick_cache: sharded, a read lock per shard on a hit, CLOCK-PRO-like
// (S3-FIFO-like hot/cold queues with ghost entries).

pub struct QuickCache<S = RandomState> {
    cache: quick_cache::sync::Cache<Arc<str>, Cached, quick_cache::UnitWeighter, S>,
}

impl<S: BuildHasher + Default + Clone + Send + Sync + 'static> Candidate for QuickCache<S> {
    fn new(capacity: usize) -> Self {
        Self {
            cache: quick_cache::sync::Cache::with(
                capacity,
                capacity as u64,
                quick_cache::UnitWeighter,
                S::default(),
                Default::default(),
            ),
        }
    }

    #[inline]
    fn resolve(&self, bucket: &str) -> Option<Arc<Compiled>> {
        match self.cache.get(bucket)?.state {
            State::Configured(compiled) => Some(compiled),
            _ => None,
        }
    }

    fn admit(&self, bucket: &str, value: Cached) {
        self.cache.insert(Arc::from(bucket), value);
    }

    fn len(&self) -> usize {
        self.cache.len()
    }
}

// ---------------------------------------------------------------------------
// moka: TinyLFU admission, LRU eviction, reads recorded in a buffer and
// applied by later maintenance.

pub struct Moka {
    cache: moka::sync::Cache<Arc<str>, Cached>,
}

impl Candidate for Moka {
    fn new(capacity: usize) -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(capacity as u64)
                .build(),
        }
    }

    #[inline]
    fn resolve(&self, bucket: &str) -> Option<Arc<Compiled>> {
        match self.cache.get(bucket)?.state {
            State::Configured(compiled) => Some(compiled),
            _ => None,
        }
    }

    fn admit(&self, bucket: &str, value: Cached) {
        self.cache.insert(Arc::from(bucket), value);
    }

    fn len(&self) -> usize {
        self.cache.entry_count() as usize
    }

    fn settle(&self) {
        self.cache.run_pending_tasks();
    }
}

/// A plain `Vec` of (name, value): no lookup at all, the floor for memory.
pub struct Floor {
    entries: Mutex<Vec<(Arc<str>, Cached)>>,
}

impl Candidate for Floor {
    fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(Vec::with_capacity(capacity)),
        }
    }

    fn resolve(&self, _bucket: &str) -> Option<Arc<Compiled>> {
        None
    }

    fn admit(&self, bucket: &str, value: Cached) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((Arc::from(bucket), value));
    }

    fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// foldhash's seeded fast hasher, for the hasher control rows.
pub type Fold = foldhash::fast::RandomState;

/// Runs `$body` with `$C` bound to the candidate named `$name`.
#[macro_export]
macro_rules! with_candidate {
    ($name:expr, $C:ident => $body:expr) => {
        match $name {
            "papaya-clock" => {
                type $C = $crate::candidates::PapayaClock;
                $body
            }
            "papaya-clock-foldhash" => {
                type $C = $crate::candidates::PapayaClock<$crate::candidates::Fold>;
                $body
            }
            "papaya-s3fifo" => {
                type $C = $crate::candidates::PapayaS3Fifo;
                $body
            }
            "quick_cache" => {
                type $C = $crate::candidates::QuickCache;
                $body
            }
            "quick_cache-foldhash" => {
                type $C = $crate::candidates::QuickCache<$crate::candidates::Fold>;
                $body
            }
            "moka" => {
                type $C = $crate::candidates::Moka;
                $body
            }
            "floor" => {
                type $C = $crate::candidates::Floor;
                $body
            }
            other => panic!("no candidate {other:?}"),
        }
    };
}
