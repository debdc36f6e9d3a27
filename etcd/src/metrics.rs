//! The etcd store's metrics (feature `metrics`), through the [`metrics`]
//! facade, registered once on first use (install the recorder before the
//! store is made).
//!
//! - `s3_cors_etcd_watch_reconnects_total`: change-stream watches opened
//!   again after one was lost (or could not be opened).
//! - `s3_cors_etcd_watch_resyncs_total{reason}`: `Resync`s a change stream
//!   said: `start` (its first watch, when the store had not talked to etcd
//!   yet), `reconnect` (a watch opened again), `compacted` (etcd no longer
//!   had the revisions to resume from).
//! - `s3_cors_etcd_possibly_stale`: how many stores of this process may
//!   have missed changes now (a watch lost and not open again; see
//!   `EtcdStore::possibly_stale_since`); 0 while every watch is open.
//! - `s3_cors_etcd_watch_revisions_behind`: as of the latest watch response
//!   that carried changes, how many revisions etcd had beyond the last one
//!   delivered (0 when the watch keeps up; more while it replays a
//!   backlog after a reconnect).
//! - `s3_cors_etcd_change_lag_seconds`: for each write this process made,
//!   the time from sending it to etcd to its arrival on this process's
//!   change stream.
//!
//! etcd's revisions carry no time, so the lag of a change made elsewhere
//! cannot be measured here; the two lag metrics take the two sides that
//! can: in revisions for every change, in seconds for this process's own
//! writes (an upper bound on etcd's commit-to-delivery time, since it also
//! holds the request's trip to etcd).

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Unit};

const RECONNECTS: &str = "s3_cors_etcd_watch_reconnects_total";
const RESYNCS: &str = "s3_cors_etcd_watch_resyncs_total";
const POSSIBLY_STALE: &str = "s3_cors_etcd_possibly_stale";
const REVISIONS_BEHIND: &str = "s3_cors_etcd_watch_revisions_behind";
const CHANGE_LAG: &str = "s3_cors_etcd_change_lag_seconds";

/// Why a change stream said `Resync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ResyncReason {
    Start,
    Reconnect,
    Compacted,
}

pub(crate) struct Metrics {
    pub(crate) reconnects: Counter,
    resyncs: [Counter; 3],
    pub(crate) possibly_stale: Gauge,
    pub(crate) revisions_behind: Gauge,
    pub(crate) change_lag: Histogram,
}

impl Metrics {
    pub(crate) fn resync(&self, reason: ResyncReason) {
        self.resyncs[reason as usize].increment(1);
    }
}

static METRICS: OnceLock<Metrics> = OnceLock::new();

/// The process's handles.
pub(crate) fn get() -> &'static Metrics {
    METRICS.get_or_init(|| {
        metrics::describe_counter!(
            RECONNECTS,
            Unit::Count,
            "etcd change-stream watches opened again after one was lost or could not be opened"
        );
        metrics::describe_counter!(
            RESYNCS,
            Unit::Count,
            "Resyncs said by etcd change streams (every cached bucket is read again), by reason \
             (start, reconnect, compacted)"
        );
        metrics::describe_gauge!(
            POSSIBLY_STALE,
            Unit::Count,
            "etcd stores of this process whose change streams may have missed changes (a watch \
             lost and not open again); 0 while every watch is open"
        );
        metrics::describe_gauge!(
            REVISIONS_BEHIND,
            Unit::Count,
            "Revisions etcd had beyond the last change delivered, as of the latest watch \
             response with changes (0 when the watch keeps up)"
        );
        metrics::describe_histogram!(
            CHANGE_LAG,
            Unit::Seconds,
            "Time from sending a write of this process to etcd to its arrival on this process's \
             change stream"
        );
        Metrics {
            reconnects: metrics::counter!(RECONNECTS),
            resyncs: ["start", "reconnect", "compacted"]
                .map(|reason| metrics::counter!(RESYNCS, "reason" => reason)),
            possibly_stale: metrics::gauge!(POSSIBLY_STALE),
            revisions_behind: metrics::gauge!(REVISIONS_BEHIND),
            change_lag: metrics::histogram!(CHANGE_LAG),
        }
    })
}

/// How many writes, and how many arrivals, are kept waiting for their
/// other half.
const KEPT: usize = 256;

/// Pairs the writes a store made with their arrival on a change stream,
/// whichever comes first (the watch may deliver a write before its answer
/// reaches the writer).
#[derive(Default)]
pub(crate) struct Lag {
    halves: Mutex<Halves>,
}

#[derive(Default)]
struct Halves {
    /// Revisions written, with when their write was sent.
    written: VecDeque<(i64, Instant)>,
    /// Revisions delivered, with when, that no write was known for.
    arrived: VecDeque<(i64, Instant)>,
}

impl Lag {
    /// A write sent at `sent` landed at `revision`.
    pub(crate) fn written(&self, revision: i64, sent: Instant) {
        let mut halves = self.halves.lock().unwrap_or_else(PoisonError::into_inner);
        match take(&mut halves.arrived, revision) {
            Some(arrived) => get()
                .change_lag
                .record(arrived.saturating_duration_since(sent)),
            None => keep(&mut halves.written, (revision, sent)),
        }
    }

    /// A change stream delivered `revision` now.
    pub(crate) fn arrived(&self, revision: i64) {
        let now = Instant::now();
        let mut halves = self.halves.lock().unwrap_or_else(PoisonError::into_inner);
        match take(&mut halves.written, revision) {
            Some(sent) => get().change_lag.record(now.saturating_duration_since(sent)),
            None => keep(&mut halves.arrived, (revision, now)),
        }
    }
}

/// Takes `revision`'s entry out of `list`.
fn take(list: &mut VecDeque<(i64, Instant)>, revision: i64) -> Option<Instant> {
    let at = list.iter().position(|(r, _)| *r == revision)?;
    list.remove(at).map(|(_, when)| when)
}

/// Keeps `entry`, dropping the oldest beyond [`KEPT`].
fn keep(list: &mut VecDeque<(i64, Instant)>, entry: (i64, Instant)) {
    if list.len() >= KEPT {
        list.pop_front();
    }
    list.push_back(entry);
}
