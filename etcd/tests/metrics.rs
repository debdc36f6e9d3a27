//! The etcd store's metrics (feature `metrics`) against a real etcd: a
//! change stream's first resync, the lag of this process's writes, the
//! revisions behind, the possibly-stale gauge while etcd is away, and the
//! reconnect and resync when it is back. Read from the test harness's
//! recorder, installed before the store is made.

#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::poll_fn;
use std::time::{Duration, Instant};

use tower_s3_cors::store::{Change, CorsStore};
use tower_s3_cors_etcd::{EtcdConfig, EtcdStore};
use tower_s3_cors_test_support::etcd::Etcd;
use tower_s3_cors_test_support::metrics::registry;

const DOCUMENT: &str = r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#;

type ChangeStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>;

/// The next change, within ten seconds.
async fn next(changes: &mut ChangeStream) -> Change {
    tokio::time::timeout(
        Duration::from_secs(10),
        poll_fn(|cx| changes.as_mut().poll_next(cx)),
    )
    .await
    .expect("a change within 10 s")
    .expect("the stream goes on")
}

/// Waits until `check` holds, at most ten seconds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_streams_are_counted_and_their_staleness_and_lag_measured() {
    // The binary's only test: no turn to hold.
    let (registry, turn) = registry();
    drop(turn);
    let Some(mut etcd) = Etcd::start_or_skip("etcd metrics") else {
        return;
    };
    let config = EtcdConfig::new([etcd.endpoint()])
        .prefix("metrics/")
        .request_timeout(Duration::from_secs(1))
        .connect_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(200));
    let store = EtcdStore::connect(config).await.unwrap();
    let before = registry.counters();
    let stale = || registry.gauge("s3_cors_etcd_possibly_stale");

    // A stream made before the store talked to etcd begins with a Resync.
    let mut changes: ChangeStream = Box::pin(store.changes().unwrap());
    assert_eq!(next(&mut changes).await, Change::Resync);
    eventually("fresh once the watch is open", || stale() == 0.0).await;

    // This process's write, timed from sending it to its arrival here.
    let lags_before = registry.samples("s3_cors_etcd_change_lag_seconds").len();
    store.put("photos", DOCUMENT).await.unwrap();
    assert!(matches!(next(&mut changes).await, Change::Put { .. }));
    eventually("the write's lag recorded", || {
        registry.samples("s3_cors_etcd_change_lag_seconds").len() == lags_before + 1
    })
    .await;
    let lag = registry.samples("s3_cors_etcd_change_lag_seconds")[lags_before];
    assert!((0.0..1.0).contains(&lag), "{lag} s");
    assert_eq!(registry.gauge("s3_cors_etcd_watch_revisions_behind"), 0.0);

    // etcd away: possibly stale; back: a reconnect and a resync.
    etcd.stop().unwrap();
    eventually("possibly stale while etcd is away", || stale() == 1.0).await;
    etcd.restart().unwrap();
    assert_eq!(next(&mut changes).await, Change::Resync);
    eventually("fresh again", || stale() == 0.0).await;

    let changed = registry.changes(&before);
    assert_eq!(changed["s3_cors_etcd_watch_resyncs_total{reason=start}"], 1);
    assert_eq!(
        changed["s3_cors_etcd_watch_resyncs_total{reason=reconnect}"],
        1
    );
    assert_eq!(changed["s3_cors_etcd_watch_reconnects_total"], 1);
    assert!(!changed.contains_key("s3_cors_etcd_watch_resyncs_total{reason=compacted}"));
    let (unit, help) = registry
        .description("s3_cors_etcd_change_lag_seconds")
        .unwrap();
    assert_eq!(unit, Some(metrics::Unit::Seconds));
    assert!(help.contains("this process"), "{help}");
}
