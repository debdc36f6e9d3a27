//! [`Fifo`]: the S3-FIFO eviction that bounds the cache.
//!
//! S3-FIFO (Yang et al., "FIFO queues are all you need for cache
//! eviction", SOSP 2023) keeps the cached buckets in two queues, in the
//! order they came, and remembers some it let go:
//!
//! - **Small** (a tenth of the capacity, at least one): where a new bucket
//!   enters. Most buckets asked for once are never asked for again (a
//!   client walking many buckets, a scan); they leave from here, after a
//!   short stay, without pushing out anything asked for twice.
//! - **Main** (the rest): a bucket reaches it by being asked for again
//!   while in the small queue, or by coming back soon after it left it.
//!   The eviction takes from here only while the small queue is within its
//!   share; a bucket at the front with hits left spends one and goes to
//!   the back (up to three more rounds for the hottest), one without is
//!   evicted.
//! - **Ghosts:** the hashes of the buckets evicted from the small queue
//!   (as many as the main queue holds, the oldest forgotten first). A
//!   bucket asked for again while its ghost is remembered was let go too
//!   early: it goes straight to the main queue.
//!
//! Hits only count, in the entry (`Entry::touch`, a counter from 0 to 3
//! written only while not full): they never take this lock, which is
//! taken when a bucket is cached (a miss, a write), to queue it and evict.
//! An entry whose first load is running is never evicted: requests wait
//! on it.
//!
//! The queues hold names, not entries, so they can hold names of entries
//! that left the map by another path, or a name twice (one removed, then
//! cached again). Such names are dropped when the eviction reaches them,
//! and all at once when the queues grow to twice the capacity (or twice
//! the map, when first loads keep it over its capacity).

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, Mutex};

use super::cache::{Cache, lock};
use super::entry::{Entry, MAX_HITS};

/// The queues of a cache of `capacity` buckets.
pub(super) struct Fifo {
    capacity: usize,
    /// The small queue's share of the capacity.
    small_capacity: usize,
    queues: Mutex<Queues>,
    /// Hashes names for the ghosts: keyed at random, as the map's hasher
    /// is, so a client cannot choose names whose ghosts collide.
    hasher: RandomState,
}

/// The map, pinned for the eviction.
type Pinned<'a> = papaya::HashMapRef<'a, Arc<str>, Entry, RandomState, papaya::LocalGuard<'a>>;

struct Queues {
    small: VecDeque<Arc<str>>,
    main: VecDeque<Arc<str>>,
    ghosts: Ghosts,
}

/// What happened to the name at the front of a queue.
enum Pass {
    /// The queue is empty.
    Empty,
    /// Its first load is running: back to the end of its queue.
    Loading,
    /// Evicted, dropped (no longer cached), or moved on for its hits.
    Done,
}

impl Fifo {
    pub(super) fn new(capacity: usize) -> Self {
        let small_capacity = (capacity / 10).max(1);
        Self {
            capacity,
            small_capacity,
            queues: Mutex::new(Queues {
                small: VecDeque::new(),
                main: VecDeque::new(),
                // As many ghosts as the main queue holds buckets (within
                // what their numbers can tell apart).
                ghosts: Ghosts::new(capacity.saturating_sub(small_capacity).clamp(1, 1 << 31)),
            }),
            hasher: RandomState::new(),
        }
    }

    /// `key` was just cached (its entry inserted in `cache`): it joins the
    /// small queue, or the main one if its ghost is remembered; then, while
    /// `cache` holds more than the capacity, the eviction takes buckets.
    pub(super) fn admit(&self, key: &Arc<str>, cache: &Cache) {
        let hash = self.hash(key);
        let mut queues = lock(&self.queues);
        let queues = &mut *queues;
        if queues.ghosts.take(hash) {
            queues.main.push_back(Arc::clone(key));
        } else {
            queues.small.push_back(Arc::clone(key));
        }
        queues.tidy(cache, self.capacity);
        if cache.len() <= self.capacity {
            return;
        }
        let cache = cache.pin();
        // Without hits meanwhile, one eviction passes each queued name at
        // most four times (once out of the small queue, three hits spent in
        // the main one, then out): the budget bounds the work of one
        // admission even if hits keep coming.
        let mut budget = 4 * (queues.small.len() + queues.main.len()) + 1;
        // Names passed over in a row because their first load is running:
        // once a queue's every name was, it has nothing to evict.
        let (mut small_waiting, mut main_waiting) = (0, 0);
        while cache.len() > self.capacity && budget > 0 {
            budget -= 1;
            let small_open = small_waiting < queues.small.len();
            let main_open = main_waiting < queues.main.len();
            if small_open && (queues.small.len() > self.small_capacity || !main_open) {
                match queues.pass_small(&cache, |key| self.hash(key)) {
                    Pass::Empty => break,
                    Pass::Loading => small_waiting += 1,
                    Pass::Done => {
                        small_waiting = 0;
                        // The main queue may have gained a bucket.
                        main_waiting = 0;
                    }
                }
            } else if main_open {
                match queues.pass_main(&cache) {
                    Pass::Empty => break,
                    Pass::Loading => main_waiting += 1,
                    Pass::Done => main_waiting = 0,
                }
            } else {
                break; // every bucket queued is being loaded
            }
        }
    }

    fn hash(&self, key: &str) -> u32 {
        // The low half of a keyed SipHash: a collision sends a new bucket
        // to the main queue as if it had come back, which is harmless and,
        // with a million ghosts, once in four thousand admissions.
        #[allow(clippy::cast_possible_truncation)]
        let hash = self.hasher.hash_one(key) as u32;
        hash
    }

    /// Names queued (both queues, stale ones included).
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        let queues = lock(&self.queues);
        queues.small.len() + queues.main.len()
    }

    /// The queue `key` is in ("small", "main"), or "ghost" if only its
    /// ghost is remembered.
    #[cfg(test)]
    pub(super) fn whereabouts(&self, key: &str) -> Option<&'static str> {
        let queues = lock(&self.queues);
        if queues.small.iter().any(|queued| &**queued == key) {
            Some("small")
        } else if queues.main.iter().any(|queued| &**queued == key) {
            Some("main")
        } else if queues.ghosts.known.contains_key(&self.hash(key)) {
            Some("ghost")
        } else {
            None
        }
    }
}

impl Queues {
    /// The front of the small queue: a bucket asked for since it came goes
    /// to the main queue, its hits spent; one that was not is evicted and
    /// leaves its ghost.
    fn pass_small(&mut self, cache: &Pinned<'_>, hash: impl Fn(&str) -> u32) -> Pass {
        let Some(key) = self.small.pop_front() else {
            return Pass::Empty;
        };
        // Decided in the map's removal, so that an entry replaced meanwhile
        // (a load starting) is judged as it is now.
        match cache.remove_if(&*key, |_, entry| !entry.is_loading() && entry.hits() == 0) {
            Ok(Some(_)) => {
                count_eviction();
                self.ghosts.add(hash(&key));
            }
            Ok(None) => {} // no longer cached
            Err((_, entry)) if entry.is_loading() => {
                self.small.push_back(key);
                return Pass::Loading;
            }
            Err((_, entry)) => {
                entry.spend_hits(MAX_HITS);
                self.main.push_back(key);
            }
        }
        Pass::Done
    }

    /// The front of the main queue: a bucket with hits spends one and goes
    /// round again; one without is evicted.
    fn pass_main(&mut self, cache: &Pinned<'_>) -> Pass {
        let Some(key) = self.main.pop_front() else {
            return Pass::Empty;
        };
        match cache.remove_if(&*key, |_, entry| !entry.is_loading() && entry.hits() == 0) {
            Ok(Some(_)) => count_eviction(),
            Ok(None) => {} // no longer cached
            Err((_, entry)) if entry.is_loading() => {
                self.main.push_back(key);
                return Pass::Loading;
            }
            Err((_, entry)) => {
                entry.spend_hits(1);
                self.main.push_back(key);
            }
        }
        Pass::Done
    }

    /// Drops the names of buckets no longer cached, and second copies of
    /// a name, once the queues hold twice as many names as the cache may
    /// (or as it does, while first loads keep it over its capacity): the
    /// work is paid for by the admissions since the last time.
    fn tidy(&mut self, cache: &Cache, capacity: usize) {
        let queued = self.small.len() + self.main.len();
        if queued <= 2 * capacity.max(cache.len()) + 64 {
            return;
        }
        let cache = cache.pin();
        let mut seen = HashSet::with_capacity(cache.len());
        let mut keep = |key: &Arc<str>| cache.contains_key(&**key) && seen.insert(Arc::clone(key));
        self.main.retain(&mut keep);
        self.small.retain(&mut keep);
    }
}

/// Counts an eviction (feature `metrics`).
fn count_eviction() {
    #[cfg(feature = "metrics")]
    {
        let metrics = crate::metrics::get();
        metrics.store_evictions.increment(1);
        metrics.store_cached_buckets.decrement(1.0);
    }
}

/// The ghosts: hashes of buckets evicted from the small queue, the oldest
/// forgotten first.
struct Ghosts {
    limit: usize,
    /// Each remembered hash, with the number it was given when it was
    /// (last) added.
    known: HashMap<u32, u32, BuildHasherDefault<Spread>>,
    /// Hashes and their numbers, oldest first. A ghost taken back leaves
    /// its place here, stale (its number no longer the one `known` has),
    /// until it is the oldest.
    order: VecDeque<(u32, u32)>,
    /// The next ghost's number (wrapping: the numbers in `order` span
    /// fewer than 2^32 additions, so a stale place never matches).
    next: u32,
}

impl Ghosts {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            known: HashMap::default(),
            order: VecDeque::new(),
            next: 0,
        }
    }

    /// Remembers `hash`, forgetting the oldest ghost if there are too many.
    fn add(&mut self, hash: u32) {
        let number = self.next;
        self.next = self.next.wrapping_add(1);
        self.known.insert(hash, number);
        self.order.push_back((hash, number));
        while self.order.len() > self.limit {
            let Some((old, number)) = self.order.pop_front() else {
                break;
            };
            if self.known.get(&old) == Some(&number) {
                self.known.remove(&old);
            }
        }
    }

    /// Whether `hash` was remembered; forgets it.
    fn take(&mut self, hash: u32) -> bool {
        self.known.remove(&hash).is_some()
    }
}

/// The hasher of the ghost table, whose keys are already keyed hashes:
/// multiplies them out over 64 bits rather than hash them again.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, hash: u32) {
        self.0 = u64::from(hash).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
