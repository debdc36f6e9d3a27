//! A recorder for the `metrics` facade that keeps every series it is asked
//! for, so that a test reads what a library counted. Installed once for
//! the whole process (the facade's recorder is global), before anything
//! registers a metric: call [`registry`] first thing in every test of a
//! binary, and hold the turn it gives, so that the tests of the binary
//! count one at a time and compare values before and after.
//!
//! ```no_run
//! use tower_s3_cors_test_support::metrics::registry;
//!
//! let (registry, _turn) = registry();
//! let before = registry.counters();
//! // … run what counts …
//! let changed = registry.changes(&before);
//! assert_eq!(changed.get("s3_cors_store_loads_total"), Some(&1));
//! ```
//!
//! A series is named `name{label=value,…}`, its labels sorted (`name` alone
//! without labels).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// Every series registered, and what was described.
#[derive(Debug, Default)]
pub struct Registry {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
    descriptions: Mutex<BTreeMap<String, (Option<Unit>, String)>>,
}

/// A histogram's samples.
#[derive(Debug, Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        lock(&self.0).push(value);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The name of `key`'s series.
fn series(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|label| format!("{}={}", label.key(), label.value()))
        .collect();
    labels.sort();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

/// The recorder: a handle on the process's [`Registry`].
struct Keeper(&'static Registry);

impl Keeper {
    fn describe(&self, key: &KeyName, unit: Option<Unit>, description: &SharedString) {
        lock(&self.0.descriptions).insert(key.as_str().to_owned(), (unit, description.to_string()));
    }
}

impl Recorder for Keeper {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(&key, unit, &description);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = lock(&self.0.counters);
        Counter::from_arc(Arc::clone(counters.entry(series(key)).or_default()))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut gauges = lock(&self.0.gauges);
        Gauge::from_arc(Arc::clone(gauges.entry(series(key)).or_default()))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = lock(&self.0.histograms);
        Histogram::from_arc(Arc::clone(histograms.entry(series(key)).or_default()))
    }
}

/// The process's registry (its recorder installed on the first call), and
/// this test's turn.
///
/// # Panics
///
/// When another recorder was installed first.
#[must_use = "hold the turn while the test counts"]
pub fn registry() -> (&'static Registry, MutexGuard<'static, ()>) {
    static REGISTRY: OnceLock<&'static Registry> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let registry = *REGISTRY.get_or_init(|| {
        let registry: &'static Registry = Box::leak(Box::default());
        metrics::set_global_recorder(Keeper(registry)).expect("no other recorder");
        registry
    });
    (registry, lock(&TURN))
}

impl Registry {
    /// Every counter's value now.
    #[must_use]
    pub fn counters(&self) -> BTreeMap<String, u64> {
        lock(&self.counters)
            .iter()
            .map(|(series, value)| (series.clone(), value.load(Ordering::Relaxed)))
            .collect()
    }

    /// The counters that grew since `before` (from [`counters`](Self::counters)),
    /// and by how much.
    #[must_use]
    pub fn changes(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.counters()
            .into_iter()
            .filter_map(|(series, now)| {
                let delta = now.saturating_sub(before.get(&series).copied().unwrap_or(0));
                (delta > 0).then_some((series, delta))
            })
            .collect()
    }

    /// A gauge's value (0 when it was never registered).
    #[must_use]
    pub fn gauge(&self, series: &str) -> f64 {
        lock(&self.gauges)
            .get(series)
            .map_or(0.0, |bits| f64::from_bits(bits.load(Ordering::Relaxed)))
    }

    /// A histogram's samples so far.
    #[must_use]
    pub fn samples(&self, series: &str) -> Vec<f64> {
        lock(&self.histograms)
            .get(series)
            .map(|samples| lock(&samples.0).clone())
            .unwrap_or_default()
    }

    /// What `name` was described with: its unit and help text.
    #[must_use]
    pub fn description(&self, name: &str) -> Option<(Option<Unit>, String)> {
        lock(&self.descriptions).get(name).cloned()
    }

    /// The series registered whose names begin with `prefix`.
    #[must_use]
    pub fn series(&self, prefix: &str) -> Vec<String> {
        let counters = lock(&self.counters);
        let gauges = lock(&self.gauges);
        let histograms = lock(&self.histograms);
        counters
            .keys()
            .chain(gauges.keys())
            .chain(histograms.keys())
            .filter(|series| series.starts_with(prefix))
            .cloned()
            .collect()
    }
}
