//! Unit tests of the read-through cache's internals: what the cache holds
//! after races between loads, changes and resyncs; the public behaviour is
//! tested in `tests/it/read_through.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::ReadThrough;
use super::cache::lock;
use super::entry::State;
use crate::policy::{Compiled, Policy};
use crate::source::BucketError;
use crate::source::{BucketCors, Resolution};
use crate::store::{Change, CorsStore, Lookup, Version};

const XML: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                   <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";
const JSON: &str = r#"{"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}"#;
const PUT: &str = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]"#;

fn compiled(source: &ReadThrough, bucket: &str) -> Arc<Compiled> {
    match &source.inner.cache.pin().get(bucket).expect("cached").state {
        State::Configured(compiled) => Arc::clone(compiled),
        State::NotConfigured
        | State::NoSuchBucket
        | State::Loading(_)
        | State::Failed(_)
        | State::Invalidated => {
            panic!("{bucket} is not configured")
        }
    }
}

/// A store whose reads answer what it held when they were made, once
/// the test lets them through; its changes come from the test.
#[derive(Debug)]
struct GatedStore {
    held: Mutex<Lookup>,
    gate: Semaphore,
    reads: AtomicUsize,
    answered: AtomicUsize,
    changes: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Change>>>,
}

struct Changes(tokio::sync::mpsc::UnboundedReceiver<Change>);

impl futures_core::Stream for Changes {
    type Item = Change;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Change>> {
        self.get_mut().0.poll_recv(cx)
    }
}

impl CorsStore for GatedStore {
    fn get(
        &self,
        _: &str,
    ) -> impl std::future::Future<Output = Result<Lookup, BucketError>> + Send {
        // What the store holds when the read is made, answered when the
        // gate opens.
        let read = lock(&self.held).clone();
        self.reads.fetch_add(1, Ordering::SeqCst);
        async move {
            self.gate.acquire().await.expect("open").forget();
            self.answered.fetch_add(1, Ordering::SeqCst);
            Ok(read)
        }
    }

    async fn put(&self, _: &str, _: &str) -> Result<Version, BucketError> {
        unreachable!("not written")
    }

    async fn delete(&self, _: &str) -> Result<Version, BucketError> {
        unreachable!("not written")
    }

    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        let receiver = lock(&self.changes).take()?;
        Some(Changes(receiver))
    }
}

/// Yields until `done` holds (at most a few seconds).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("never happened");
}

fn cached_version(source: &ReadThrough, bucket: &str) -> Option<Version> {
    let cache = source.inner.cache.pin();
    cache
        .get(bucket)
        .filter(|entry| entry.is_known())
        .map(|entry| entry.version)
}

/// A resync reloads every cached bucket whatever its version (an etcd
/// that lost its data counts again from 1), but a change that came
/// through the stream while the reload was on its way is newer than
/// what the reload read: the reload must not undo it.
#[tokio::test]
async fn a_resync_reload_does_not_undo_a_change_that_came_while_it_ran() {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let store = Arc::new(GatedStore {
        held: Mutex::new(Lookup::Found(XML.into(), Version::new(500))),
        gate: Semaphore::new(1),
        reads: 0.into(),
        answered: 0.into(),
        changes: Mutex::new(Some(receiver)),
    });
    let source = ReadThrough::builder(Arc::clone(&store))
        .build()
        .expect("in a runtime");
    let Resolution::Pending(pending) = source.resolve("a") else {
        panic!("a miss loads")
    };
    pending.await;
    assert_eq!(cached_version(&source, "a"), Some(Version::new(500)));

    // etcd lost its data and counts from 1 again: a resync reloads the
    // bucket, whose version is now smaller than the cached one.
    *lock(&store.held) = Lookup::Found(JSON.into(), Version::new(3));
    sender.send(Change::Resync).expect("streaming");
    until(|| store.reads.load(Ordering::SeqCst) == 2).await;
    store.gate.add_permits(1);
    until(|| cached_version(&source, "a") == Some(Version::new(3))).await;

    // Another resync: its reload reads version 3 and is held up while
    // a newer write comes through the stream.
    sender.send(Change::Resync).expect("streaming");
    until(|| store.reads.load(Ordering::SeqCst) == 3).await;
    let newer = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]"#;
    *lock(&store.held) = Lookup::Found(newer.into(), Version::new(4));
    sender
        .send(Change::Put {
            bucket: "a".to_owned(),
            text: newer.into(),
            version: Version::new(4),
        })
        .expect("streaming");
    until(|| cached_version(&source, "a") == Some(Version::new(4))).await;
    store.gate.add_permits(1);
    until(|| store.answered.load(Ordering::SeqCst) == 3).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        cached_version(&source, "a"),
        Some(Version::new(4)),
        "the reload of version 3 undid the change to version 4"
    );
    let policy = Policy::from_shared(compiled(&source, "a"));
    assert!(
        policy.configuration().rules[0]
            .allowed_methods
            .iter()
            .any(|m| m == "PUT")
    );
}

/// The state cached for `bucket`, by name.
fn state(source: &ReadThrough, bucket: &str) -> Option<&'static str> {
    let cache = source.inner.cache.pin();
    cache.get(bucket).map(|entry| match entry.state {
        State::Configured(_) => "configured",
        State::NotConfigured => "not configured",
        State::NoSuchBucket => "no such bucket",
        State::Loading(_) => "loading",
        State::Failed(_) => "failed",
        State::Invalidated => "invalidated",
    })
}

/// Resolves `bucket`, waiting for a load; the answer's name.
async fn settled(source: &ReadThrough, bucket: &str) -> &'static str {
    let policy = match source.resolve(bucket) {
        Resolution::Ready(policy) | Resolution::Shadowed(policy, _) => policy,
        Resolution::Pending(pending) => pending.await,
    };
    match policy {
        crate::source::BucketPolicy::Configured(_) => "configured",
        crate::source::BucketPolicy::NotConfigured => "not configured",
        crate::source::BucketPolicy::NoSuchBucket => "no such bucket",
        crate::source::BucketPolicy::Unavailable => "unavailable",
    }
}

/// A time to live holds to the millisecond (paused time): an entry made at
/// `t` is read again at `t + ttl`, not up to half a period later.
#[tokio::test(start_paused = true)]
async fn entries_are_read_again_when_their_time_to_live_is_up() {
    let store = crate::store::MemoryStore::new();
    store.put("a", XML).await.expect("written");
    let reads = Arc::new(AtomicUsize::new(0));
    let counted = CountingStore(store.clone(), Arc::clone(&reads));
    let source = ReadThrough::builder(counted)
        .ttl(super::Ttl::After(Duration::from_secs(5)))
        .build()
        .expect("in a runtime");
    assert_eq!(settled(&source, "a").await, "configured");
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    store.put("a", PUT).await.expect("written");
    tokio::time::sleep(Duration::from_millis(4_990)).await;
    assert_eq!(
        reads.load(Ordering::SeqCst),
        1,
        "read again before its time"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    until(|| reads.load(Ordering::SeqCst) == 2).await;
    let policy = Policy::from_shared(compiled(&source, "a"));
    assert_eq!(policy.configuration().rules[0].allowed_methods, ["PUT"]);
}

/// "No such bucket" expires after its own time to live, even over a store
/// that pushes changes (none says a bucket was created).
#[tokio::test(start_paused = true)]
async fn no_such_bucket_is_looked_up_again_after_its_time_to_live() {
    let existing = Arc::new(Mutex::new(Vec::<String>::new()));
    let known = Arc::clone(&existing);
    let source = ReadThrough::builder(crate::store::MemoryStore::new())
        .bucket_exists(move |bucket: &str| lock(&known).iter().any(|b| b == bucket))
        .missing_bucket_ttl(Duration::from_secs(2))
        .build()
        .expect("in a runtime");
    assert_eq!(settled(&source, "late").await, "no such bucket");
    lock(&existing).push("late".to_owned());
    tokio::time::sleep(Duration::from_millis(1_990)).await;
    assert_eq!(settled(&source, "late").await, "no such bucket", "cached");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(state(&source, "late"), Some("invalidated"));
    assert_eq!(settled(&source, "late").await, "not configured");
}

/// `bucket_deleted` makes the bucket unknown at once and removes its
/// document, even with an existence check that no longer knows it; a
/// late change for the deletion does not bring "no CORS" back.
#[tokio::test]
async fn a_deleted_bucket_is_gone_at_once_with_its_document() {
    let store = crate::store::MemoryStore::new();
    let existing = Arc::new(Mutex::new(vec!["b".to_owned()]));
    let known = Arc::clone(&existing);
    let source = ReadThrough::builder(store.clone())
        .bucket_exists(move |bucket: &str| lock(&known).iter().any(|b| b == bucket))
        .build()
        .expect("in a runtime");
    source.put_document("b", XML).await.expect("written");
    lock(&existing).clear(); // the backend deletes the bucket first
    source
        .bucket_deleted("b")
        .await
        .expect("the document is removed");
    assert_eq!(settled(&source, "b").await, "no such bucket");
    assert!(matches!(store.get("b").await, Ok(Lookup::NotFound(_))));
    source.inner.apply(Change::Deleted {
        bucket: "b".to_owned(),
        version: Version::new(u64::MAX),
    });
    assert_eq!(state(&source, "b"), Some("no such bucket"));

    lock(&existing).push("b".to_owned());
    source.bucket_created("b").await.expect("created");
    assert_eq!(settled(&source, "b").await, "not configured");
}

#[tokio::test]
async fn settings_that_cannot_be_honoured_are_build_errors() {
    use super::{BuildError, Ttl};
    let build = |builder: super::ReadThroughBuilder| builder.build().map(drop);
    let store = crate::store::MemoryStore::new;
    assert_eq!(
        build(ReadThrough::builder(store()).capacity(0)),
        Err(BuildError::ZeroCapacity)
    );
    assert_eq!(
        build(ReadThrough::builder(store()).load_timeout(Duration::ZERO)),
        Err(BuildError::ZeroLoadTimeout)
    );
    assert_eq!(
        build(ReadThrough::builder(store()).ttl(Ttl::After(Duration::ZERO))),
        Err(BuildError::ZeroTtl)
    );
    assert_eq!(
        build(ReadThrough::builder(store()).missing_bucket_ttl(Duration::ZERO)),
        Err(BuildError::ZeroTtl)
    );
    assert_eq!(
        build(ReadThrough::builder(Silent).ttl(Ttl::UntilChanged)),
        Err(BuildError::NoChangeStream)
    );
    assert_eq!(build(ReadThrough::builder(store()).capacity(1)), Ok(()));
}

/// A store that counts its reads.
#[derive(Debug)]
struct CountingStore(crate::store::MemoryStore, Arc<AtomicUsize>);

impl CorsStore for CountingStore {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.get(bucket).await
    }

    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        self.0.put(bucket, document).await
    }

    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        self.0.delete(bucket).await
    }
}

/// A store that pushes no changes.
#[derive(Debug)]
struct Silent;

impl CorsStore for Silent {
    async fn get(&self, _: &str) -> Result<Lookup, BucketError> {
        Ok(Lookup::NotFound(Version::UNKNOWN))
    }

    async fn put(&self, _: &str, _: &str) -> Result<Version, BucketError> {
        Ok(Version::UNKNOWN)
    }

    async fn delete(&self, _: &str) -> Result<Version, BucketError> {
        Ok(Version::UNKNOWN)
    }
}

/// Resolves `bucket` once, waiting for a load: one request.
async fn ask(source: &ReadThrough, bucket: &str) {
    let _ = settled(source, bucket).await;
}

/// However many buckets are asked for, at most `capacity` stay cached.
#[tokio::test]
async fn the_capacity_bounds_the_cache() {
    let source = ReadThrough::builder(crate::store::MemoryStore::new())
        .capacity(20)
        .build()
        .expect("in a runtime");
    for round in 0..5 {
        for i in 0..200 {
            ask(&source, &format!("b{}", (i * 7 + round) % 150)).await;
            assert!(source.len() <= 20, "{} cached", source.len());
        }
    }
}

/// A bucket asked for twice outlives a scan of buckets asked for once,
/// however long: the scan passes through the small queue and never
/// reaches the main one. (CLOCK lost it once the scan was as long as the
/// cache.)
#[tokio::test]
async fn a_bucket_asked_for_twice_survives_a_scan_larger_than_the_cache() {
    let source = ReadThrough::builder(crate::store::MemoryStore::new())
        .capacity(100)
        .build()
        .expect("in a runtime");
    ask(&source, "hot").await;
    ask(&source, "hot").await;
    for i in 0..1_000 {
        ask(&source, &format!("scan-{i}")).await;
    }
    assert!(source.len() <= 100, "{} cached", source.len());
    assert_eq!(state(&source, "hot"), Some("not configured"), "evicted");
}

/// A bucket evicted from the small queue leaves its ghost; asked for again
/// while the ghost is remembered, it goes straight to the main queue. A
/// bucket never seen enters the small one.
#[tokio::test]
async fn a_returning_ghost_goes_to_the_main_queue() {
    let source = ReadThrough::builder(crate::store::MemoryStore::new())
        .capacity(10)
        .build()
        .expect("in a runtime");
    let eviction = &source.inner.eviction;
    ask(&source, "g").await;
    assert_eq!(eviction.whereabouts("g"), Some("small"));
    for i in 0..10 {
        ask(&source, &format!("other-{i}")).await;
    }
    assert_eq!(state(&source, "g"), None, "evicted first: asked for once");
    assert_eq!(eviction.whereabouts("g"), Some("ghost"));
    ask(&source, "g").await;
    assert_eq!(eviction.whereabouts("g"), Some("main"));
    assert_eq!(state(&source, "g"), Some("not configured"));
    ask(&source, "new").await;
    assert_eq!(eviction.whereabouts("new"), Some("small"));
    assert!(source.len() <= 10, "{} cached", source.len());
}

/// Requests wait on an entry whose first load is running: the eviction
/// passes over it, even when the cache holds nothing else; once the loads
/// are over, the next admission brings the cache back to its capacity.
#[tokio::test]
async fn entries_being_loaded_are_not_evicted() {
    let store = Arc::new(GatedStore {
        held: Mutex::new(Lookup::Found(XML.into(), Version::new(1))),
        gate: Semaphore::new(0),
        reads: 0.into(),
        answered: 0.into(),
        changes: Mutex::new(None),
    });
    let source = ReadThrough::builder(Arc::clone(&store))
        .capacity(2)
        .build()
        .expect("in a runtime");
    let mut waiting = Vec::new();
    for bucket in ["a", "b", "c", "d", "e"] {
        let Resolution::Pending(pending) = source.resolve(bucket) else {
            panic!("{bucket} is not cached yet")
        };
        waiting.push(pending);
    }
    assert_eq!(source.len(), 5);
    for bucket in ["a", "b", "c", "d", "e"] {
        assert_eq!(state(&source, bucket), Some("loading"), "{bucket}");
    }
    until(|| store.reads.load(Ordering::SeqCst) == 5).await;
    store.gate.add_permits(6);
    for pending in waiting {
        assert!(matches!(
            pending.await,
            crate::source::BucketPolicy::Configured(_)
        ));
    }
    assert_eq!(settled(&source, "f").await, "configured");
    assert_eq!(source.len(), 2);
    assert_eq!(state(&source, "f"), Some("configured"), "f was loading");
}

/// Names of entries that left the map by another path than the eviction,
/// and names cached again meanwhile (queued twice), do not pile up in the
/// queues: they are dropped when the queues reach twice the capacity.
/// (Today nothing else removes an entry: invalidations, deletions and
/// expiries mark it. The test removes entries from the map itself.)
#[tokio::test]
async fn names_of_removed_entries_do_not_pile_up() {
    let source = ReadThrough::builder(crate::store::MemoryStore::new())
        .capacity(8)
        .build()
        .expect("in a runtime");
    for i in 0..2_000 {
        let bucket = format!("k{}", i % 5);
        ask(&source, &bucket).await;
        if i % 2 == 0 {
            source.inner.cache.pin().remove(bucket.as_str());
        }
        let queued = source.inner.eviction.queued();
        assert!(queued <= 2 * 8 + 64, "{queued} names queued");
    }
    // Every cached bucket is still queued: the eviction can reach it.
    for i in 0..5 {
        let bucket = format!("k{i}");
        if state(&source, &bucket).is_some() {
            assert!(source.inner.eviction.whereabouts(&bucket).is_some());
        }
    }
}
