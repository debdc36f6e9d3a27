//! The crate's metrics (feature `metrics`), through the [`metrics`] facade,
//! so that any exporter (Prometheus, OpenTelemetry, StatsD, …) takes them.
//!
//! Every handle is registered once, in a process-wide table, when the
//! first layer wraps a service or the first `ReadThrough` is built (or on
//! first use): the request path increments a handle it indexes, and hashes
//! no label. Handles are bound to the recorder installed when they are
//! made, so the recorder must be installed before the service is built;
//! one installed later sees nothing of this crate.
//!
//! The names, types, labels and help texts are listed in the README
//! ("Metrics"); each constant below is one of them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;
use metrics::{Counter, Gauge, Histogram, Unit};

use crate::observe::{Kind, Outcome};
use crate::source::BucketError;

/// `s3_cors_requests_total{kind, outcome}`.
pub(crate) const REQUESTS: &str = "s3_cors_requests_total";
/// `s3_cors_bucket_requests_total{bucket, kind, outcome}` (opt-in).
pub(crate) const BUCKET_REQUESTS: &str = "s3_cors_bucket_requests_total";
/// `s3_cors_shadow_total{kind, live, shadow}`.
pub(crate) const SHADOW: &str = "s3_cors_shadow_total";
/// `s3_cors_store_loads_total`.
pub(crate) const STORE_LOADS: &str = "s3_cors_store_loads_total";
/// `s3_cors_store_load_duration_seconds`.
pub(crate) const STORE_LOAD_DURATION: &str = "s3_cors_store_load_duration_seconds";
/// `s3_cors_store_load_failures_total{kind}`.
pub(crate) const STORE_LOAD_FAILURES: &str = "s3_cors_store_load_failures_total";
/// `s3_cors_store_cached_buckets`.
pub(crate) const STORE_CACHED_BUCKETS: &str = "s3_cors_store_cached_buckets";
/// `s3_cors_store_evictions_total`.
pub(crate) const STORE_EVICTIONS: &str = "s3_cors_store_evictions_total";

/// The `bucket` label of the requests of buckets beyond the bound (and of
/// buckets that do not exist). S3's bucket names never begin with `_`.
pub(crate) const OTHER_BUCKETS: &str = "_other";

/// Why a load failed, as the `kind` label says it.
const FAILURE_KINDS: [&str; 4] = ["unavailable", "timeout", "invalid", "other"];

/// One counter per request kind and outcome.
#[derive(Debug)]
pub(crate) struct Outcomes([[Counter; Outcome::ALL.len()]; Kind::ALL.len()]);

impl Outcomes {
    fn register(name: &'static str, bucket: Option<&str>) -> Self {
        Self(Kind::ALL.map(|kind| {
            Outcome::ALL.map(|outcome| {
                let (kind, outcome) = (kind.label(), outcome.label());
                match bucket {
                    None => metrics::counter!(name, "kind" => kind, "outcome" => outcome),
                    Some(bucket) => metrics::counter!(
                        name, "bucket" => bucket.to_owned(), "kind" => kind, "outcome" => outcome
                    ),
                }
            })
        }))
    }

    /// Counts one request.
    #[inline]
    pub(crate) fn count(&self, kind: Kind, outcome: Outcome) {
        self.0[kind as usize][outcome as usize].increment(1);
    }
}

/// The process's handles.
#[cfg_attr(not(feature = "store"), allow(dead_code))]
pub(crate) struct Metrics {
    pub(crate) requests: Outcomes,
    /// By kind, live verdict, shadow verdict (0: allowed, 1: refused).
    shadow: [[[Counter; 2]; 2]; Kind::ALL.len()],
    pub(crate) store_loads: Counter,
    pub(crate) store_load_duration: Histogram,
    store_load_failures: [Counter; FAILURE_KINDS.len()],
    pub(crate) store_cached_buckets: Gauge,
    pub(crate) store_evictions: Counter,
    buckets: BucketLabels,
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's handles, registered with the recorder installed now on
/// first use.
#[inline]
pub(crate) fn get() -> &'static Metrics {
    METRICS.get_or_init(Metrics::register)
}

impl Metrics {
    fn register() -> Self {
        describe();
        let verdicts = ["allowed", "refused"];
        Self {
            requests: Outcomes::register(REQUESTS, None),
            shadow: Kind::ALL.map(|kind| {
                verdicts.map(|live| {
                    verdicts.map(|shadow| {
                        metrics::counter!(
                            SHADOW, "kind" => kind.label(), "live" => live, "shadow" => shadow
                        )
                    })
                })
            }),
            store_loads: metrics::counter!(STORE_LOADS),
            store_load_duration: metrics::histogram!(STORE_LOAD_DURATION),
            store_load_failures: FAILURE_KINDS
                .map(|kind| metrics::counter!(STORE_LOAD_FAILURES, "kind" => kind)),
            store_cached_buckets: metrics::gauge!(STORE_CACHED_BUCKETS),
            store_evictions: metrics::counter!(STORE_EVICTIONS),
            buckets: BucketLabels::default(),
        }
    }

    /// Counts one shadowed request: what the live policy and the shadow
    /// each said.
    #[inline]
    pub(crate) fn count_shadow(&self, kind: Kind, live_allowed: bool, shadow_allowed: bool) {
        self.shadow[kind as usize][usize::from(!live_allowed)][usize::from(!shadow_allowed)]
            .increment(1);
    }

    /// Counts a load that failed with `error`.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    pub(crate) fn count_load_failure(&self, error: &BucketError) {
        let kind = if error.is_timeout() {
            1
        } else if error.is_unavailable() {
            0
        } else if error.is_invalid() {
            2
        } else {
            3
        };
        self.store_load_failures[kind].increment(1);
    }

    /// The per-bucket counters of `bucket`: its own while fewer than
    /// `bound` buckets have theirs (and `may_label`: the bucket exists),
    /// else those of [`OTHER_BUCKETS`].
    pub(crate) fn bucket(&self, bucket: &str, may_label: bool, bound: usize) -> &'static Outcomes {
        self.buckets.get(bucket, may_label, bound)
    }
}

/// The per-bucket counters: at most as many buckets as the layers' bounds
/// allow, each registered once (and kept for the life of the process, as
/// the recorder keeps their series); the rest share [`OTHER_BUCKETS`].
///
/// A map swapped whole (it only grows, at most to the bound, and is read
/// far more often than written): a lookup is an `arc-swap` load and a
/// hash, without the epoch guard a concurrent map takes. Its cost is in
/// `benches/observe.rs`, `get/bucket_labels`.
#[derive(Default)]
struct BucketLabels {
    labelled: ArcSwap<HashMap<Box<str>, &'static Outcomes>>,
    /// Taken to add a bucket, so that the bound holds.
    adding: Mutex<()>,
    other: OnceLock<&'static Outcomes>,
}

impl BucketLabels {
    fn get(&self, bucket: &str, may_label: bool, bound: usize) -> &'static Outcomes {
        let labelled = self.labelled.load();
        if let Some(outcomes) = labelled.get(bucket) {
            return outcomes;
        }
        if may_label && labelled.len() < bound {
            drop(labelled);
            let _adding = self.adding.lock().unwrap_or_else(PoisonError::into_inner);
            let labelled = self.labelled.load_full();
            if let Some(outcomes) = labelled.get(bucket) {
                return outcomes;
            }
            if labelled.len() < bound {
                // Leaked on purpose, as the `_other` set is: at most
                // `bound` of them, each as long lived as the series it
                // counts (the recorder keeps those).
                let outcomes: &'static Outcomes =
                    Box::leak(Box::new(Outcomes::register(BUCKET_REQUESTS, Some(bucket))));
                let mut more = HashMap::clone(&labelled);
                more.insert(bucket.into(), outcomes);
                self.labelled.store(Arc::new(more));
                return outcomes;
            }
        }
        self.other()
    }

    fn other(&self) -> &'static Outcomes {
        self.other.get_or_init(|| {
            Box::leak(Box::new(Outcomes::register(
                BUCKET_REQUESTS,
                Some(OTHER_BUCKETS),
            )))
        })
    }
}

/// Describes every metric to the recorder: unit and help text.
fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        Unit::Count,
        "CORS requests (with an Origin header) answered by the layer, by kind (preflight, \
         actual) and outcome (allowed, refused, not_configured, no_such_bucket, unavailable)"
    );
    metrics::describe_counter!(
        BUCKET_REQUESTS,
        Unit::Count,
        "CORS requests by bucket (opt-in, bounded; the rest under bucket=\"_other\"), kind and \
         outcome"
    );
    metrics::describe_counter!(
        SHADOW,
        Unit::Count,
        "CORS requests of buckets with a shadow policy, by kind and by what the live policy and \
         the shadow each said (allowed, refused); the answer is always the live one"
    );
    metrics::describe_counter!(
        STORE_LOADS,
        Unit::Count,
        "Bucket policies read from the store by the read-through cache (misses, refreshes, \
         resyncs)"
    );
    metrics::describe_histogram!(
        STORE_LOAD_DURATION,
        Unit::Seconds,
        "Time to read a bucket's policy from the store, failures and timeouts included"
    );
    metrics::describe_counter!(
        STORE_LOAD_FAILURES,
        Unit::Count,
        "Bucket policies the read-through cache could not load (a read or a pushed change), by \
         kind (unavailable, timeout, invalid, other); what was cached keeps serving"
    );
    metrics::describe_gauge!(
        STORE_CACHED_BUCKETS,
        Unit::Count,
        "Buckets held by the read-through caches of this process (loads in progress and \
         negative entries included)"
    );
    metrics::describe_counter!(
        STORE_EVICTIONS,
        Unit::Count,
        "Buckets evicted from the read-through caches to keep within their capacity"
    );
}
