//! Policies from a store: the read-through source's hit path against the
//! in-memory `Buckets` at 1, 10 k and 1 M buckets; adding and removing a
//! bucket at 1 k and 1 M buckets (the same name, or a new one each time); a miss loaded from the memory and the
//! directory stores; 100 k distinct buckets churning through a 10 k-entry
//! cache. Memory per cached bucket is printed before the benchmarks run.
//!
//! Run with `cargo bench --bench store --features dir-store`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http::Request;
use tokio::runtime::Runtime;
use tower_s3_cors::SharedPolicy;
use tower_s3_cors::source::{
    BucketCors, BucketPolicy, Buckets, ReadThrough, RequestHead, Resolution,
};
use tower_s3_cors::store::{CorsStore, DirectoryStore, MemoryStore};

/// The demo's three-rule document.
const THREE_RULES: &str = include_str!("../tests/fixtures/three-rules.xml");

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn name(i: usize) -> String {
    format!("bucket-{i:07}")
}

/// `n` buckets sharing one policy, in a `Buckets`.
fn buckets(n: usize) -> Buckets {
    let buckets = Buckets::path_style();
    let shared = SharedPolicy::from_document(THREE_RULES).unwrap();
    for i in 0..n {
        buckets.insert(&name(i), shared.clone());
    }
    buckets
}

/// `n` buckets, every one cached, in a `ReadThrough` over a memory store.
fn read_through(runtime: &Runtime, n: usize) -> ReadThrough {
    runtime.block_on(async {
        let source = ReadThrough::builder(MemoryStore::new())
            .capacity(n + 16)
            .build()
            .unwrap();
        for i in 0..n {
            source.put_document(&name(i), THREE_RULES).await.unwrap();
        }
        source
    })
}

fn request_for(bucket: &str) -> Request<()> {
    Request::get(format!("/{bucket}/photos/cat.jpg"))
        .body(())
        .unwrap()
}

fn configured(resolution: Resolution) -> bool {
    matches!(resolution, Resolution::Ready(BucketPolicy::Configured(_)))
}

/// The policy, once any load is over.
async fn settle(resolution: Resolution) -> BucketPolicy {
    match resolution {
        Resolution::Ready(policy) | Resolution::Shadowed(policy, _) => policy,
        Resolution::Pending(pending) => pending.await,
    }
}

/// What the layer does for a request: locate its bucket, then resolve it.
#[inline]
fn resolve(source: &impl BucketCors, head: &RequestHead<'_>) -> Resolution {
    match source.locate(head) {
        Some(located) => source.resolve(located.bucket()),
        None => Resolution::Ready(BucketPolicy::NoSuchBucket),
    }
}

/// The hit path: a request for a cached bucket, at each size.
fn hits(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("hit");
    for n in [1, 10_000, 1_000_000] {
        let request = request_for(&name(n / 2));
        let head = RequestHead::new(&request);
        let map = buckets(n);
        assert!(configured(resolve(&map, &head)));
        group.bench_function(BenchmarkId::new("buckets", n), |b| {
            b.iter(|| black_box(resolve(&map, black_box(&head))));
        });
        drop(map);
        let source = read_through(&runtime, n);
        assert!(configured(resolve(&source, &head)));
        group.bench_function(BenchmarkId::new("read_through", n), |b| {
            b.iter(|| black_box(resolve(&source, black_box(&head))));
        });
    }
    group.finish();
}

/// Requests spread over many buckets (4,096 requests for random buckets,
/// in turn): at 1 M buckets the table no longer fits in the processor's
/// caches, which a request for the same bucket again and again hides.
fn spread_hits(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("hit_spread");
    for n in [1_000, 1_000_000] {
        // A fixed pseudo-random sequence (xorshift), the same for both.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let requests: Vec<Request<()>> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                request_for(&name(usize::try_from(x % n as u64).unwrap()))
            })
            .collect();
        let map = buckets(n);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("buckets", n), |b| {
            b.iter(|| {
                i = (i + 1) % requests.len();
                black_box(resolve(&map, &RequestHead::new(&requests[i])))
            });
        });
        drop(map);
        let source = read_through(&runtime, n);
        group.bench_function(BenchmarkId::new("read_through", n), |b| {
            b.iter(|| {
                i = (i + 1) % requests.len();
                black_box(resolve(&source, &RequestHead::new(&requests[i])))
            });
        });
    }
    group.finish();
}

/// Adding then removing one bucket among `n`.
fn insert_remove(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("insert_remove");
    let shared = SharedPolicy::from_document(THREE_RULES).unwrap();
    for n in [1_000, 1_000_000] {
        let map = buckets(n);
        // The same name added and removed again and again.
        group.bench_function(BenchmarkId::new("buckets_same_name", n), |b| {
            b.iter(|| {
                map.insert("newcomer", shared.clone());
                black_box(map.remove("newcomer"));
            });
        });
        // A new name each time.
        let mut next = 0_u64;
        group.bench_function(BenchmarkId::new("buckets_new_names", n), |b| {
            b.iter(|| {
                let name = format!("new-{next}");
                next += 1;
                map.insert(&name, shared.clone());
                black_box(map.remove(&name));
            });
        });
        drop(map);
        let source = read_through(&runtime, n);
        group.bench_function(BenchmarkId::new("read_through_put_delete", n), |b| {
            b.iter(|| {
                runtime.block_on(async {
                    source.put_document("newcomer", THREE_RULES).await.unwrap();
                    source.delete_document("newcomer").await.unwrap();
                });
            });
        });
    }
    group.finish();
}

/// Builds a source for the miss benchmark.
type MakeSource<'a> = Box<dyn Fn() -> ReadThrough + 'a>;

/// A miss: the time from the request to the policy, loaded from the store
/// (the bucket is invalidated before each request).
fn misses(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("miss");
    let dir = std::env::temp_dir().join(format!("tower-s3-cors-bench-{}", std::process::id()));
    let stores: [(&str, MakeSource<'_>); 2] = [
        (
            "memory",
            Box::new(|| {
                let store = MemoryStore::new();
                runtime.block_on(store.put("photos", THREE_RULES)).unwrap();
                runtime.block_on(async { ReadThrough::builder(store).build().unwrap() })
            }),
        ),
        (
            "directory",
            Box::new(|| {
                let store = DirectoryStore::open(&dir).unwrap();
                runtime.block_on(store.put("photos", THREE_RULES)).unwrap();
                runtime.block_on(async { ReadThrough::builder(store).build().unwrap() })
            }),
        ),
    ];
    let request = request_for("photos");
    let head = RequestHead::new(&request);
    for (store, make) in stores {
        let source = make();
        group.bench_function(store, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        source.invalidate("photos");
                        let started = Instant::now();
                        let policy = settle(resolve(&source, &head)).await;
                        total += started.elapsed();
                        assert!(matches!(policy, BucketPolicy::Configured(_)));
                    }
                    total
                })
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// 100 k distinct buckets asked for in turn through a 10 k-entry cache:
/// nearly every request misses, loads and evicts.
fn churn(c: &mut Criterion) {
    let runtime = runtime();
    let store = MemoryStore::new();
    runtime.block_on(async {
        for i in 0..100_000 {
            store.put(&name(i), THREE_RULES).await.unwrap();
        }
    });
    let source = runtime.block_on(async {
        ReadThrough::builder(store)
            .capacity(10_000)
            .build()
            .unwrap()
    });
    let requests: Vec<Request<()>> = (0..100_000).map(|i| request_for(&name(i))).collect();
    let mut next = 0;
    let mut group = c.benchmark_group("churn");
    group.bench_function("100k_buckets_10k_cache", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                for _ in 0..iters {
                    let head = RequestHead::new(&requests[next % requests.len()]);
                    next += 1;
                    let policy = settle(resolve(&source, &head)).await;
                    assert!(matches!(policy, BucketPolicy::Configured(_)));
                }
                started.elapsed()
            })
        });
    });
    group.finish();
    assert!(source.len() <= 10_000 + 1, "{} cached", source.len());
}

criterion_group! {
    name = benches;
    config = support::criterion();
    targets = hits, spread_hits, insert_remove, misses, churn
}
criterion_main!(benches);
