//! Policies from a store: the read-through source's hit path against the
//! in-memory `Buckets` at 1, 10 k and 1 M buckets; adding and removing a
//! bucket at 1 k and 1 M buckets; a miss loaded from the memory and the
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
use tower_s3_cors::source::{Buckets, PolicySource, ReadThrough, RequestHead, Resolution};
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
    matches!(resolution, Resolution::Configured(..))
}

/// The hit path: a request for a cached bucket, at each size.
fn hits(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("hit");
    for n in [1, 10_000, 1_000_000] {
        let request = request_for(&name(n / 2));
        let head = RequestHead::new(&request);
        let map = buckets(n);
        assert!(configured(map.resolve(&head)));
        group.bench_function(BenchmarkId::new("buckets", n), |b| {
            b.iter(|| black_box(map.resolve(black_box(&head))));
        });
        drop(map);
        let source = read_through(&runtime, n);
        assert!(configured(source.resolve(&head)));
        group.bench_function(BenchmarkId::new("read_through", n), |b| {
            b.iter(|| black_box(source.resolve(black_box(&head))));
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
        group.bench_function(BenchmarkId::new("buckets", n), |b| {
            b.iter(|| {
                map.insert("newcomer", shared.clone());
                black_box(map.remove("newcomer"));
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

/// Builds a source over a store holding the benchmark's document.
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
                        let resolution = match source.resolve(&head) {
                            Resolution::Pending(pending, resource) => {
                                pending.await.for_resource(resource)
                            }
                            other => other,
                        };
                        total += started.elapsed();
                        assert!(configured(resolution));
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
                    let resolution = match source.resolve(&head) {
                        Resolution::Pending(pending, resource) => {
                            pending.await.for_resource(resource)
                        }
                        other => other,
                    };
                    assert!(configured(resolution));
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
    targets = hits, insert_remove, misses, churn
}
criterion_main!(benches);
