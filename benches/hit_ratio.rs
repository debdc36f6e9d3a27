//! Hit ratios of the read-through cache's eviction: `ReadThrough` driven
//! through its public API, on the workloads of `cache-crates ratio`
//! (`benches/cache-crates`), the same streams request for request.
//!
//! - **Zipf:** capacity 10 k; Zipf(s) popularity over n buckets (s = 1.0
//!   and 0.8, n = 100 k and 1 M), the ranks shuffled; 1 M requests of
//!   warm-up, then 4 M measured. "Ideal" is the probability mass of the
//!   10 k most popular buckets: the best any cache of 10 k can do on
//!   average over an independent stream.
//! - **Scan:** a hot set (Zipf 1.0 over 100 k buckets) alone, then the
//!   same hot requests interleaved 1:1 with one pass over 1 M cold buckets
//!   (each asked for once), then 200 k hot requests after it; the hit ratio
//!   of the hot requests before, during and after the scan, and of the same
//!   hot requests without the scan.
//!
//! A request is a hit when [`BucketCors::resolve`] answers at once
//! ([`Resolution::Ready`]; no bucket has a shadow here); a miss answers [`Resolution::Pending`], and the
//! harness waits for the load (from a store that holds one document for
//! every bucket) before the next request, so a miss caches its bucket as
//! the one-thread replay of `cache-crates` does. Only the cache's own
//! decisions differ from one build to another: the streams are seeded.
//!
//! Run with `cargo bench --bench hit_ratio --features store`; name
//! workloads to run only those (`-- zipf-1.0-100k scan`). One line per
//! workload with the seconds it took (mostly misses: the loads): about a
//! minute in all on an idle 2-core machine, five under a load of 6 to 9.

#![allow(clippy::unwrap_used, missing_docs)]

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tower_s3_cors::source::{BucketCors, BucketError, ReadThrough, Resolution};
use tower_s3_cors::store::{Change, CorsStore, Lookup, Version};

/// The cache's capacity, as in `cache-crates ratio`.
const CAPACITY: usize = 10_000;
const MILLION: usize = 1_000_000;
/// Requests before the measured ones.
const WARM: usize = MILLION;
/// Requests measured (Zipf workloads).
const MEASURED: usize = 4 * MILLION;

/// The demo's three-rule document, every bucket's.
const THREE_RULES: &str = include_str!("../tests/fixtures/three-rules.xml");

/// A store in memory where every bucket holds the same document; it pushes
/// no changes (its stream never ends), so entries live until evicted.
#[derive(Debug)]
struct EveryBucket(Arc<str>);

impl CorsStore for EveryBucket {
    async fn get(&self, _: &str) -> Result<Lookup, BucketError> {
        Ok(Lookup::Found(Arc::clone(&self.0), Version::new(1)))
    }

    async fn put(&self, _: &str, _: &str) -> Result<Version, BucketError> {
        unreachable!("read only")
    }

    async fn delete(&self, _: &str) -> Result<Version, BucketError> {
        unreachable!("read only")
    }

    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        Some(NoChanges)
    }
}

/// A change stream that never yields.
struct NoChanges;

impl futures_core::Stream for NoChanges {
    type Item = Change;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Change>> {
        Poll::Pending
    }
}

/// SplitMix64, as `cache-crates` seeds its streams.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    #[allow(clippy::cast_precision_loss)]
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// Uniform in 0..n.
    #[allow(clippy::cast_possible_truncation)]
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

/// Zipf(s) over `n` items: item k (0-based) with probability ∝ 1/(k+1)^s.
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    #[allow(clippy::cast_precision_loss)]
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 0..n {
            sum += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(sum);
        }
        for p in &mut cdf {
            *p /= sum;
        }
        Self { cdf }
    }

    #[allow(clippy::cast_possible_truncation)]
    fn sample(&self, rng: &mut Rng) -> u32 {
        let u = rng.unit();
        self.cdf.partition_point(|&p| p < u).min(self.cdf.len() - 1) as u32
    }

    /// The probability mass of the `k` most popular items.
    fn top_mass(&self, k: usize) -> f64 {
        self.cdf[k.min(self.cdf.len()) - 1]
    }
}

/// A random permutation of 0..n (Fisher–Yates): popularity has nothing to
/// do with the order of the names.
#[allow(clippy::cast_possible_truncation)]
fn permutation(n: usize, rng: &mut Rng) -> Vec<u32> {
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.below(i + 1));
    }
    p
}

/// The names of buckets `0..n`, as `cache-crates` makes them (20 bytes).
fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("bucket-{i:013}")).collect()
}

/// Feeds `stream` (bucket ids) to a fresh `ReadThrough` of [`CAPACITY`];
/// returns the hit ratio of each phase (`from..to` in the stream) counting
/// only ids below `hot`, and the seconds it took.
fn replay(
    names: &[String],
    stream: &[u32],
    phases: &[(usize, usize)],
    hot: u32,
) -> (Vec<f64>, f64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = ReadThrough::builder(EveryBucket(THREE_RULES.into()))
            .capacity(CAPACITY)
            .build()
            .unwrap();
        let began = Instant::now();
        let mut hits = vec![0_u64; phases.len()];
        let mut asks = vec![0_u64; phases.len()];
        for (at, &id) in stream.iter().enumerate() {
            let hit = match source.resolve(&names[id as usize]) {
                Resolution::Ready(_) | Resolution::Shadowed(..) => true,
                Resolution::Pending(pending) => {
                    pending.await;
                    false
                }
            };
            if id < hot {
                for (p, &(from, to)) in phases.iter().enumerate() {
                    if (from..to).contains(&at) {
                        asks[p] += 1;
                        hits[p] += u64::from(hit);
                    }
                }
            }
        }
        assert!(
            source.len() <= CAPACITY + 1,
            "{} cached, capacity {CAPACITY}",
            source.len()
        );
        #[allow(clippy::cast_precision_loss)]
        let ratios = hits
            .iter()
            .zip(&asks)
            .map(|(&h, &a)| h as f64 / a as f64)
            .collect();
        (ratios, began.elapsed().as_secs_f64())
    })
}

fn label(n: usize) -> String {
    if n >= MILLION {
        format!("{}M", n / MILLION)
    } else {
        format!("{}k", n / 1000)
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else names workloads.
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!("workload\tideal\tReadThrough\tseconds");
    for (n, s) in [
        (100_000, 1.0),
        (100_000, 0.8),
        (MILLION, 1.0),
        (MILLION, 0.8),
    ] {
        let workload = format!("zipf-{s:.1}-{}", label(n));
        if !run(&workload) {
            continue;
        }
        let zipf = Zipf::new(n, s);
        let mut rng = Rng(n as u64 ^ f64::to_bits(s));
        let ranks = permutation(n, &mut rng);
        let stream: Vec<u32> = (0..WARM + MEASURED)
            .map(|_| ranks[zipf.sample(&mut rng) as usize])
            .collect();
        let (r, secs) = replay(
            &names(n),
            &stream,
            &[(WARM, WARM + MEASURED)],
            u32::try_from(n).unwrap(),
        );
        println!(
            "{workload}\t{:.4}\t{:.4}\t{secs:.1}",
            zipf.top_mass(CAPACITY),
            r[0]
        );
    }

    if !run("scan") {
        return;
    }
    const HOT: usize = 100_000;
    const COLD: usize = MILLION;
    const AFTER: usize = 200_000;
    let zipf = Zipf::new(HOT, 1.0);
    let mut rng = Rng(0x5ca9);
    let ranks = permutation(HOT, &mut rng);
    let mut hot_stream = (0..).map(|_| ranks[zipf.sample(&mut rng) as usize]);
    let mut stream: Vec<u32> = hot_stream.by_ref().take(WARM).collect();
    for cold in 0..COLD {
        stream.push(hot_stream.next().expect("endless"));
        stream.push(u32::try_from(HOT + cold).unwrap());
    }
    stream.extend(hot_stream.by_ref().take(AFTER));
    let names = names(HOT + COLD);
    let hot = u32::try_from(HOT).unwrap();
    let phases = [
        (WARM / 2, WARM),
        (WARM, WARM + 2 * COLD),
        (WARM + 2 * COLD, stream.len()),
    ];
    let (r, secs) = replay(&names, &stream, &phases, hot);
    // The same hot requests without the scan.
    let alone: Vec<u32> = stream.iter().copied().filter(|&id| id < hot).collect();
    let (a, alone_secs) = replay(&names, &alone, &[(WARM, WARM + COLD + AFTER)], hot);
    println!(
        "scan: hot alone\t{:.4}\t{:.4}\t{alone_secs:.1}",
        zipf.top_mass(CAPACITY),
        a[0]
    );
    println!("scan: hot before the scan\t\t{:.4}\t{secs:.1}", r[0]);
    println!("scan: hot during the scan\t\t{:.4}", r[1]);
    println!("scan: hot after the scan\t\t{:.4}", r[2]);
}
