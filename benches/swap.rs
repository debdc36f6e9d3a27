//! Loading the policy while another thread stores new ones: the layer's
//! request path (`SharedPolicy` load, evaluate, headers) with no writer,
//! with a writer storing a policy every millisecond, and with a writer
//! storing as fast as it can. On a 2-core machine the busy writer takes the
//! other core, so its numbers also show contention for the CPU.
//!
//! Run with `cargo bench --bench swap`.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use tower::Layer;
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

/// A thread that stores one of two equivalent policies in turn until
/// stopped, pausing `pause` between stores (none: store in a loop).
struct Writer {
    stop: Arc<AtomicBool>,
    stores: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Writer {
    fn start(shared: SharedPolicy, pause: Option<Duration>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stores = Arc::new(AtomicU64::new(0));
        let policies = [support::policy(1, false), support::policy(1, false)];
        let thread = thread::spawn({
            let (stop, stores) = (Arc::clone(&stop), Arc::clone(&stores));
            move || {
                for policy in policies.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    drop(shared.put(policy.clone()));
                    stores.fetch_add(1, Ordering::Relaxed);
                    match pause {
                        Some(pause) => thread::sleep(pause),
                        None => thread::yield_now(),
                    }
                }
            }
        });
        Self {
            stop,
            stores,
            thread: Some(thread),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the writer thread does not panic");
        }
        eprintln!(
            "(writer stored {} policies)",
            self.stores.load(Ordering::Relaxed)
        );
    }
}

fn loads_under_stores(c: &mut Criterion) {
    let mut group = c.benchmark_group("load_while_storing");
    for (name, pause) in [
        ("no_writer", None),
        ("store_every_1ms", Some(Some(Duration::from_millis(1)))),
        ("store_busy_loop", Some(None)),
    ] {
        let shared = SharedPolicy::new(support::policy(1, false));
        let _writer = pause.map(|pause| Writer::start(shared.clone(), pause));

        group.bench_function(format!("load/{name}"), |b| {
            b.iter(|| black_box(shared.load()));
        });

        let mut service = S3CorsLayer::new(shared.clone()).layer(support::inner());
        group.bench_function(format!("get_origin/{name}"), |b| {
            b.iter_batched(
                support::get_with_origin,
                |request| black_box(support::call(&mut service, request)),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group! { name = benches; config = support::criterion(); targets = loads_under_stores }
criterion_main!(benches);
