//! The read-through cache's papaya map + CLOCK against quick_cache and
//! moka: hit cost, miss+insert cost, memory per entry, hit ratios.
//! See README.md for how to run it and what it found.
//!
//! ```text
//! cache-crates hit [ROUNDS]        hit cost, interleaved batches
//! cache-crates miss [ROUNDS]       miss+insert at capacity 10 k
//! cache-crates mem-all [N]         memory per entry (one process each)
//! cache-crates mem CANDIDATE [N]   one candidate's memory
//! cache-crates ratio               hit ratios (Zipf, scan)
//! cache-crates instr CANDIDATE CASE N   for callgrind (CASE: hit1, hit1m, miss)
//! cache-crates table FILE...       medians over runs of `hit`/`miss` output
//! ```

mod candidates;
mod work;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use candidates::{Cached, Candidate, Compiled};
use work::{Names, Rng, Zipf};

/// The candidates timed, in the order printed.
const TIMED: &[&str] = &[
    "papaya-clock",
    "quick_cache",
    "moka",
    "papaya-s3fifo",
    "papaya-clock-foldhash",
    "quick_cache-foldhash",
];
/// The candidates of the memory, miss and ratio measurements.
const MAIN: &[&str] = &["papaya-clock", "quick_cache", "moka", "papaya-s3fifo"];

const MILLION: usize = 1_000_000;

/// The candidates to time: `CANDIDATES=a,b,…` in the environment, or
/// [`TIMED`].
fn timed() -> Vec<&'static str> {
    match std::env::var("CANDIDATES") {
        Ok(list) => list
            .split(',')
            .map(|name| *TIMED.iter().find(|t| **t == name).expect("a timed candidate"))
            .collect(),
        Err(_) => TIMED.to_vec(),
    }
}

fn policy() -> Arc<Compiled> {
    Arc::new([7; 64])
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize, default: usize| arg(i).map_or(default, |s| s.parse().expect("a number"));
    match arg(0) {
        Some("hit") => hit(num(1, 200)),
        Some("miss") => miss(num(1, 200)),
        Some("mem-all") => mem_all(num(1, MILLION)),
        Some("mem") => mem(arg(1).expect("a candidate"), num(2, MILLION)),
        Some("ratio") => ratio(),
        Some("instr") => instr(
            arg(1).expect("a candidate"),
            arg(2).expect("a case"),
            num(3, 100_000),
        ),
        Some("table") => table(&args[1..]),
        _ => {
            eprintln!("usage: cache-crates hit|miss|mem-all|mem|ratio|instr|table …");
            std::process::exit(2);
        }
    }
}

// ---------------------------------------------------------------------------
// Timing harness: interleaved batches.

/// Times one batch; returns ns per operation.
type Batch<'a> = Box<dyn FnMut() -> f64 + 'a>;

/// Runs every case's batch once per round, in turn (so a burst of other
/// work on the machine hits them alike), and prints each case's lowest and
/// median batch.
fn interleave(group: &str, rounds: usize, cases: &mut [(&str, Batch<'_>)]) {
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); cases.len()];
    for _ in 0..2 {
        for (_, batch) in cases.iter_mut() {
            batch(); // warm-up
        }
    }
    for round in 0..rounds {
        // Start each round with a different case.
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            samples[i].push((cases[i].1)());
        }
    }
    for ((name, _), mut s) in cases.iter().zip(samples) {
        s.sort_by(f64::total_cmp);
        let min = s[0];
        let median = s[s.len() / 2];
        println!("R\t{group}\t{name}\t{min:.1}\t{median:.1}");
    }
}

/// Looks up `n` names from `queries` (from `start`, wrapping); the only
/// code callgrind counts in `instr`.
///
/// `CHAINED`: each lookup's name depends on the previous lookup's result
/// (through an AND with a zero the compiler cannot see), so the CPU cannot
/// start a lookup before the last one is done: the latency of a hit, as on
/// a request path where much other work separates two lookups. Without
/// it, the CPU overlaps the cache misses of consecutive lookups: their
/// throughput in a tight loop.
#[inline(never)]
fn measured_hits<C: Candidate, const CHAINED: bool>(
    cache: &C,
    queries: &Names,
    start: usize,
    n: usize,
) -> usize {
    let len = queries.len();
    let zero = black_box(0usize);
    let mut i = start % len;
    let mut found = 0;
    for _ in 0..n {
        let mut next = i + 1;
        if let Some(policy) = cache.resolve(black_box(queries.get(i))) {
            if CHAINED {
                next += Arc::as_ptr(&policy) as usize & zero;
            }
            black_box(&policy);
            found += 1;
        }
        i = if next >= len { 0 } else { next };
    }
    found
}

/// Misses on `n` new names from `fresh` (from `start`) and caches them.
#[inline(never)]
fn measured_misses<C: Candidate>(
    cache: &C,
    fresh: &Names,
    start: usize,
    n: usize,
    policy: &Arc<Compiled>,
) -> usize {
    let mut missed = 0;
    for i in start..start + n {
        let name = black_box(fresh.get(i));
        if cache.resolve(name).is_none() {
            missed += 1;
            cache.admit(name, Cached::new(policy));
        }
    }
    missed
}

/// A cache of `capacity` holding `names`.
fn filled<C: Candidate>(capacity: usize, names: &Names, policy: &Arc<Compiled>) -> C {
    let cache = C::new(capacity);
    for i in 0..names.len() {
        cache.admit(names.get(i), Cached::new(policy));
    }
    cache.settle();
    cache
}

/// A hit batch of `n` lookups on each of `threads` threads (each its own
/// part of `queries`): ns per lookup on each thread, from the moment the
/// threads are let go together to the moment the last one is done. A batch
/// whose threads did not run at once (a core taken by other work) counts
/// as slower, so the lowest batch is one where they ran side by side.
fn hit_batch<'a, C: Candidate, const CHAINED: bool>(
    cache: &'a C,
    queries: &'a Names,
    n: usize,
    threads: usize,
) -> Batch<'a> {
    let mut start = 0usize;
    Box::new(move || {
        start = start.wrapping_add(n * threads) % queries.len().max(1);
        let barrier = Barrier::new(threads);
        let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let barrier = &barrier;
                    let from = start + t * n;
                    scope.spawn(move || {
                        barrier.wait();
                        let began = Instant::now();
                        let found = measured_hits::<C, CHAINED>(cache, queries, from, n);
                        let ended = Instant::now();
                        assert_eq!(found, n, "every lookup hits");
                        (began, ended)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("no panic")).collect()
        });
        let began = spans.iter().map(|s| s.0).min().expect("a thread");
        let ended = spans.iter().map(|s| s.1).max().expect("a thread");
        (ended - began).as_nanos() as f64 / n as f64
    })
}

// ---------------------------------------------------------------------------
// hit: ns per hit at 1 and 1 M cached buckets, 1 and 2 threads.

fn hit(rounds: usize) {
    let policy = policy();
    eprintln!("hit: filling the caches");
    let one = Names::range(0, 1);
    let million = Names::range(0, MILLION);
    // Lookups in a random order over the million, read in sequence: the
    // name a request carries is in the CPU's cache, the entry is not.
    let mut rng = Rng::new(0x5eed);
    let queries = Names::of((0..2 * MILLION).map(|_| rng.below(MILLION) as u32));
    // Room to spare: no candidate evicts (quick_cache's shards fill
    // unevenly, moka admits by frequency once full).
    let capacity = MILLION + MILLION / 4;

    // Same number of candidates at each size, built once.
    struct Built {
        one: Vec<Box<dyn std::any::Any>>,
        million: Vec<Box<dyn std::any::Any>>,
    }
    let mut built = Built {
        one: Vec::new(),
        million: Vec::new(),
    };
    let timed = timed();
    for name in &timed {
        with_candidate!(*name, C => {
            built.one.push(Box::new(filled::<C>(capacity, &one, &policy)));
            built.million.push(Box::new(filled::<C>(capacity, &million, &policy)));
            let big = built.million.last().and_then(|b| b.downcast_ref::<C>()).expect("built");
            eprintln!("  {name}: {} cached", big.len());
        });
    }

    // Latency (chained lookups) at both sizes and on 1 and 2 threads, then
    // the throughput of independent lookups at 1 M (1 thread).
    for (size, caches, queries, n, threads, chained) in [
        ("1", &built.one, &one, 100_000, 1, true),
        ("1", &built.one, &one, 100_000, 2, true),
        ("1M", &built.million, &queries, 5_000, 1, true),
        ("1M", &built.million, &queries, 5_000, 2, true),
        ("1M", &built.million, &queries, 5_000, 1, false),
    ] {
        {
            let mut cases: Vec<(&str, Batch<'_>)> = Vec::new();
            for (name, cache) in timed.iter().zip(caches) {
                with_candidate!(*name, C => {
                    let cache = cache.downcast_ref::<C>().expect("built");
                    let batch = if chained {
                        hit_batch::<C, true>(cache, queries, n, threads)
                    } else {
                        hit_batch::<C, false>(cache, queries, n, threads)
                    };
                    cases.push((name, batch));
                });
            }
            let kind = if chained { "hit" } else { "hit-throughput" };
            let group = format!("{kind}/{size}/{threads}t");
            eprintln!("{group}");
            interleave(&group, rounds, &mut cases);
        }
    }
}

// ---------------------------------------------------------------------------
// miss: a miss and its insert at capacity (each insert evicts).

fn miss(rounds: usize) {
    const CAPACITY: usize = 10_000;
    const BATCH: usize = 5_000;
    let policy = policy();
    let resident = Names::range(0, CAPACITY);
    // Fresh names for every batch of every round (warm-ups included).
    let fresh = Names::range(10_000_000, (rounds + 2) * BATCH);
    let caches: Vec<(&str, Box<dyn std::any::Any>)> = MAIN
        .iter()
        .map(|name| {
            with_candidate!(*name, C => {
                let cache: Box<dyn std::any::Any> = Box::new(filled::<C>(CAPACITY, &resident, &policy));
                (*name, cache)
            })
        })
        .collect();
    let mut cases: Vec<(&str, Batch<'_>)> = Vec::new();
    for (name, cache) in &caches {
        with_candidate!(*name, C => {
            let cache = cache.downcast_ref::<C>().expect("built");
            let fresh = &fresh;
            let policy = &policy;
            let mut start = 0;
            let batch: Batch<'_> = Box::new(move || {
                let began = Instant::now();
                let missed = measured_misses(cache, fresh, start, BATCH, policy);
                let ns = began.elapsed().as_nanos() as f64 / BATCH as f64;
                assert_eq!(missed, BATCH, "every name is new");
                start += BATCH;
                ns
            });
            cases.push((name, batch));
        });
    }
    interleave("miss+insert/10k", rounds, &mut cases);
    for (name, cache) in &caches {
        with_candidate!(*name, C => {
            let cache = cache.downcast_ref::<C>().expect("built");
            cache.settle();
            eprintln!("  {name}: {} cached after the misses (capacity {CAPACITY})", cache.len());
        });
    }
}

// ---------------------------------------------------------------------------
// mem: resident-set growth for N entries.

fn mem_all(n: usize) {
    let exe = std::env::current_exe().expect("this binary");
    for name in ["floor"].iter().chain(MAIN) {
        let status = std::process::Command::new(&exe)
            .args(["mem", name, &n.to_string()])
            .status()
            .expect("a child");
        assert!(status.success());
    }
}

fn mem(name: &str, n: usize) {
    let policy = policy();
    let names = Names::range(0, n);
    with_candidate!(name, C => {
        let before = work::resident_bytes();
        let cache = filled::<C>(n, &names, &policy);
        let after = work::resident_bytes();
        let len = cache.len();
        let per_entry = (after - before) as f64 / len as f64;
        // What a (name, value) pair is, allocated as the candidates hold
        // it: the `Arc<str>` (16 B of counts + 20 B of name, a 48 B malloc
        // chunk) and its handle, and the value inline.
        println!(
            "M\t{name}\t{len}\t{}\t{per_entry:.1}",
            after - before,
        );
        black_box(&cache);
    });
}

// ---------------------------------------------------------------------------
// ratio: hit ratios at capacity 10 k.

/// Feeds `stream` (bucket ids) to a cache of `capacity`: a hit is a hit,
/// a miss caches the bucket. Returns the hit ratio of each phase
/// (`from..to` in the stream), counting only ids below `hot`, and the
/// time per request over the whole stream (hits, misses and evictions;
/// one pass, not interleaved: indicative only).
fn replay<C: Candidate>(
    capacity: usize,
    names: &Names,
    stream: &[u32],
    phases: &[(usize, usize)],
    hot: u32,
) -> (Vec<f64>, f64) {
    let policy = policy();
    let cache = C::new(capacity);
    let began = Instant::now();
    let mut hits = vec![0u64; phases.len()];
    let mut asks = vec![0u64; phases.len()];
    for (at, &id) in stream.iter().enumerate() {
        let name = names.get(id as usize);
        let hit = cache.resolve(name).is_some();
        if !hit {
            cache.admit(name, Cached::new(&policy));
        }
        if id < hot {
            for (p, &(from, to)) in phases.iter().enumerate() {
                if (from..to).contains(&at) {
                    asks[p] += 1;
                    hits[p] += u64::from(hit);
                }
            }
        }
    }
    let ns = began.elapsed().as_nanos() as f64 / stream.len() as f64;
    let ratios = hits.iter().zip(&asks).map(|(&h, &a)| h as f64 / a as f64).collect();
    (ratios, ns)
}

fn ratio() {
    const CAPACITY: usize = 10_000;
    const WARM: usize = MILLION;
    const MEASURED: usize = 4 * MILLION;
    for (n, s) in [(100_000, 1.0), (100_000, 0.8), (MILLION, 1.0), (MILLION, 0.8)] {
        let zipf = Zipf::new(n, s);
        let mut rng = Rng::new(n as u64 ^ s.to_bits());
        let ranks = work::permutation(n, &mut rng);
        let stream: Vec<u32> = (0..WARM + MEASURED)
            .map(|_| ranks[zipf.sample(&mut rng) as usize])
            .collect();
        let names = Names::range(0, n);
        let workload = format!("zipf s={s} n={}", label(n));
        println!("H\t{workload}\tideal\t{:.4}\t-", zipf.top_mass(CAPACITY));
        for name in MAIN {
            with_candidate!(*name, C => {
                let (r, ns) =
                    replay::<C>(CAPACITY, &names, &stream, &[(WARM, WARM + MEASURED)], n as u32);
                println!("H\t{workload}\t{name}\t{:.4}\t{ns:.0}", r[0]);
            });
        }
    }

    // Scan resistance: a hot set (Zipf 1.0 over 100 k buckets) alone, then
    // interleaved 1:1 with one pass over 1 M cold buckets, then alone again.
    const HOT: usize = 100_000;
    const COLD: usize = MILLION;
    const AFTER: usize = 200_000;
    let zipf = Zipf::new(HOT, 1.0);
    let mut rng = Rng::new(0x5ca9);
    let ranks = work::permutation(HOT, &mut rng);
    let mut hot_stream = (0..).map(|_| ranks[zipf.sample(&mut rng) as usize]);
    let mut stream: Vec<u32> = hot_stream.by_ref().take(WARM).collect();
    for cold in 0..COLD {
        stream.push(hot_stream.next().expect("endless"));
        stream.push((HOT + cold) as u32);
    }
    stream.extend(hot_stream.by_ref().take(AFTER));
    let names = Names::range(0, HOT + COLD);
    let phases = [
        (WARM / 2, WARM),
        (WARM, WARM + 2 * COLD),
        (WARM + 2 * COLD, stream.len()),
    ];
    // The same hot requests without the scan.
    let alone: Vec<u32> = stream.iter().copied().filter(|&id| (id as usize) < HOT).collect();
    let alone_phases = [(WARM, WARM + COLD + AFTER)];
    println!("S\tcandidate\thot alone\tbefore the scan\tduring\tafter");
    println!("S\tideal\t{:.4}", zipf.top_mass(CAPACITY));
    for name in MAIN {
        with_candidate!(*name, C => {
            let (r, _) = replay::<C>(CAPACITY, &names, &stream, &phases, HOT as u32);
            let (a, _) = replay::<C>(CAPACITY, &names, &alone, &alone_phases, HOT as u32);
            println!(
                "S\t{name}\t{:.4}\t{:.4}\t{:.4}\t{:.4}",
                a[0], r[0], r[1], r[2]
            );
        });
    }
}

fn label(n: usize) -> String {
    if n >= MILLION {
        format!("{}M", n / MILLION)
    } else {
        format!("{}k", n / 1000)
    }
}

// ---------------------------------------------------------------------------
// instr: one case for callgrind (`--toggle-collect='*measured*'`).

fn instr(name: &str, case: &str, n: usize) {
    let policy = policy();
    with_candidate!(name, C => {
        match case {
            "hit1" | "hit1m" => {
                let size = if case == "hit1" { 1 } else { MILLION };
                let cache = filled::<C>(size + size / 4, &Names::range(0, size), &policy);
                let mut rng = Rng::new(0x5eed);
                let queries = Names::of((0..n).map(|_| rng.below(size) as u32));
                let found = measured_hits::<C, true>(&cache, &queries, 0, n);
                assert_eq!(found, n);
            }
            "miss" => {
                let cache = filled::<C>(10_000, &Names::range(0, 10_000), &policy);
                let fresh = Names::range(10_000_000, n);
                let missed = measured_misses(&cache, &fresh, 0, n, &policy);
                assert_eq!(missed, n);
            }
            other => panic!("no case {other:?}"),
        }
    });
}

// ---------------------------------------------------------------------------
// table: over several runs of `hit`/`miss`, each case's median of the
// runs' lowest batches, their range, and the median of the runs' medians.

fn table(files: &[String]) {
    let mut by_case: BTreeMap<(String, usize), (String, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut order = 0;
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).expect("a results file");
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f.first() != Some(&"R") {
                continue;
            }
            let key = (f[1].to_owned(), f[2].to_owned());
            let index = *seen.entry(key).or_insert_with(|| {
                order += 1;
                order
            });
            let slot = by_case
                .entry((f[1].to_owned(), index))
                .or_insert_with(|| (f[2].to_owned(), Vec::new(), Vec::new()));
            slot.1.push(f[3].parse().expect("a number"));
            slot.2.push(f[4].parse().expect("a number"));
        }
    }
    println!("| case | candidate | runs | lowest batch, median of runs (ns) | range of lowest | median batch, median of runs (ns) |");
    println!("|---|---|---:|---:|---:|---:|");
    for ((group, _), (name, mut mins, mut medians)) in by_case {
        mins.sort_by(f64::total_cmp);
        medians.sort_by(f64::total_cmp);
        println!(
            "| {group} | {name} | {} | {:.1} | {:.1}–{:.1} | {:.1} |",
            mins.len(),
            mins[mins.len() / 2],
            mins[0],
            mins[mins.len() - 1],
            medians[medians.len() / 2],
        );
    }
}
