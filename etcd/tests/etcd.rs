//! The etcd store against a real etcd, started by each test on free
//! loopback ports (the workspace's test-support crate). Without an `etcd` binary the tests
//! are skipped with a loud message, except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::poll_fn;
use std::time::{Duration, Instant};

use tower_s3_cors::store::{Change, CorsStore, Lookup, Version};
use tower_s3_cors_etcd::{EtcdConfig, EtcdStore};
use tower_s3_cors_test_support::etcd::Etcd;
use tower_s3_cors_test_support::proxy::TcpProxy;
use tower_s3_cors_test_support::say;

/// A change stream, boxed so that the helpers can take any.
type ChangeStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>;

/// A store's change stream.
fn changes_of(store: &EtcdStore) -> ChangeStream {
    Box::pin(store.changes().expect("etcd pushes changes"))
}

/// The request timeout of the tests' stores.
const TIMEOUT: Duration = Duration::from_millis(1000);

/// How long a test waits for a change that must come.
const WAIT: Duration = Duration::from_secs(10);

const XML: &str = "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\r\n  \
    <CORSRule><AllowedOrigin>https://exämple.com</AllowedOrigin>\
    <AllowedMethod>GET</AllowedMethod></CORSRule>\r\n</CORSConfiguration>\n";

const JSON: &str = "{\n  \"CORSRules\": [ { \"AllowedOrigins\": [\"https://日本.example\"],\
    \"AllowedMethods\": [\"PUT\"], \"ExposeHeaders\": [\"x-amz-meta-ü\"] } ]\n}  ";

fn config(endpoint: &str, prefix: &str) -> EtcdConfig {
    EtcdConfig::new([endpoint])
        .prefix(prefix)
        .request_timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(500))
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400))
}

async fn store(endpoint: &str, prefix: &str) -> EtcdStore {
    EtcdStore::connect(config(endpoint, prefix)).await.unwrap()
}

/// A raw etcd client, for what the store does not do (compaction, values
/// that are not UTF-8, keys outside the rules).
async fn raw(etcd: &Etcd) -> etcd_client::Client {
    etcd_client::Client::connect([etcd.endpoint()], None)
        .await
        .unwrap()
}

async fn next(changes: &mut ChangeStream, within: Duration) -> Option<Option<Change>> {
    tokio::time::timeout(within, poll_fn(|cx| changes.as_mut().poll_next(cx)))
        .await
        .ok()
}

/// The next change, which must come within [`WAIT`].
async fn expect_change(changes: &mut ChangeStream) -> Change {
    match next(changes, WAIT).await {
        Some(Some(change)) => change,
        Some(None) => panic!("the change stream ended"),
        None => panic!("no change within {WAIT:?}"),
    }
}

/// `reader`'s change stream, once it has carried one change `writer` made:
/// the watch is then known to be established.
async fn watching(reader: &EtcdStore, writer: &EtcdStore) -> ChangeStream {
    reader.get("photos").await.unwrap();
    let mut changes = changes_of(reader);
    put_and_see(writer, &mut changes, "photos", XML).await;
    changes
}

/// Asserts that no change comes within `quiet`.
/// A reader reaching etcd through a proxy (to cut it off), a writer reaching
/// it directly, and the reader's established watch.
async fn behind_a_proxy(etcd: &Etcd) -> (TcpProxy, EtcdStore, EtcdStore, ChangeStream) {
    let proxy = TcpProxy::start(&etcd.endpoint()).unwrap();
    let reader = store(&proxy.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    let changes = watching(&reader, &writer).await;
    (proxy, reader, writer, changes)
}

/// Writes `text` for `bucket` with `writer` and expects the change on
/// `changes`, with the revision the write returned (which it returns).
async fn put_and_see(
    writer: &EtcdStore,
    changes: &mut ChangeStream,
    bucket: &str,
    text: &str,
) -> Version {
    let v = writer.put(bucket, text).await.unwrap();
    assert_eq!(expect_change(changes).await, put(bucket, text, v));
    v
}

/// Expects `expected` on `changes`, in order.
async fn expect_all(changes: &mut ChangeStream, expected: &[Change]) {
    for want in expected {
        assert!(
            &expect_change(changes).await == want,
            "a change is missing or out of order"
        );
    }
}

async fn expect_quiet(changes: &mut ChangeStream, quiet: Duration) {
    if let Some(item) = next(changes, quiet).await {
        panic!("expected no change, got {item:?}");
    }
}

fn put(bucket: &str, text: &str, version: Version) -> Change {
    Change::Put {
        bucket: bucket.to_owned(),
        text: text.into(),
        version,
    }
}

fn deleted(bucket: &str, version: Version) -> Change {
    Change::Deleted {
        bucket: bucket.to_owned(),
        version,
    }
}

/// Puts `count` documents of `bucket` through `store`, returning the
/// changes they must produce.
async fn put_many(store: &EtcdStore, bucket: &str, count: usize) -> Vec<Change> {
    let mut expected = Vec::new();
    for i in 0..count {
        let text = format!("[{{\"AllowedOrigins\": [\"https://{i}.example\"]}}]");
        let version = store.put(bucket, &text).await.unwrap();
        expected.push(put(bucket, &text, version));
    }
    expected
}

#[tokio::test]
async fn put_get_delete_round_trip_with_revisions() {
    let Some(etcd) = Etcd::start_or_skip("put_get_delete_round_trip_with_revisions") else {
        return;
    };
    let store = store(&etcd.endpoint(), "cors").await;

    assert_eq!(store.get("photos").await.unwrap().text(), None);
    let first = store.put("photos", XML).await.unwrap();
    assert_ne!(first, Version::UNKNOWN);
    assert_eq!(
        store.get("photos").await.unwrap(),
        Lookup::Found(XML.into(), first)
    );

    let second = store.put("photos", JSON).await.unwrap();
    assert!(first.is_older_than(second));
    assert_eq!(
        store.get("photos").await.unwrap(),
        Lookup::Found(JSON.into(), second)
    );
    assert!(second <= store.current_revision().await.unwrap());

    // Another bucket does not disturb this one; its write is a later
    // revision of the same cluster-wide counter.
    let other = store.put("videos", XML).await.unwrap();
    assert!(second.is_older_than(other));
    assert_eq!(store.get("photos").await.unwrap().version(), second);

    let removed = store.delete("photos").await.unwrap();
    assert!(other.is_older_than(removed));
    assert_eq!(store.get("photos").await.unwrap().text(), None);
    // Removing what is not there succeeds, at a revision no older.
    let again = store.delete("photos").await.unwrap();
    assert!(!again.is_older_than(removed));
    assert_eq!(store.get("videos").await.unwrap().version(), other);

    // The document sits at `{prefix}{bucket}`, as written.
    assert_eq!(store.key("videos").unwrap(), "cors/videos");
    let mut raw = raw(&etcd).await;
    let response = raw.get("cors/videos", None).await.unwrap();
    assert_eq!(response.kvs()[0].value(), XML.as_bytes());
}

#[tokio::test]
async fn documents_are_kept_byte_for_byte() {
    let Some(etcd) = Etcd::start_or_skip("documents_are_kept_byte_for_byte") else {
        return;
    };
    let store = store(&etcd.endpoint(), "cors/").await;
    let long = format!("<!-- {} -->{XML}", "x".repeat(100_000));
    let documents = [
        XML,
        JSON,
        "\u{feff}<CORSConfiguration/>",
        "  \t\n",
        "",
        "emoji 🦀 and NUL \0 inside",
        &long,
    ];
    for (i, document) in documents.iter().enumerate() {
        let bucket = format!("bucket-{i}");
        let version = store.put(&bucket, document).await.unwrap();
        let stored = store.get(&bucket).await.unwrap();
        assert_eq!(
            stored.text().unwrap_or_default().as_bytes(),
            document.as_bytes(),
            "document {i}"
        );
        assert_eq!(stored.version(), version);
    }
}

#[tokio::test]
async fn bad_bucket_names_and_values_are_invalid() {
    let Some(etcd) = Etcd::start_or_skip("bad_bucket_names_and_values_are_invalid") else {
        return;
    };
    let store = store(&etcd.endpoint(), "cors").await;
    let too_long = "b".repeat(tower_s3_cors_etcd::MAX_BUCKET_LEN + 1);
    for bucket in ["", "a/b", "/", too_long.as_str()] {
        assert!(store.get(bucket).await.unwrap_err().is_invalid());
        assert!(store.put(bucket, XML).await.unwrap_err().is_invalid());
        assert!(store.delete(bucket).await.unwrap_err().is_invalid());
    }
    let longest = "b".repeat(tower_s3_cors_etcd::MAX_BUCKET_LEN);
    store.put(&longest, XML).await.unwrap();

    // A value written by something else that is not UTF-8.
    let mut changes = changes_of(&store);
    let mut raw = raw(&etcd).await;
    raw.put("cors/binary", vec![0xff, 0xfe, b'<'], None)
        .await
        .unwrap();
    let error = store.get("binary").await.unwrap_err();
    assert!(error.is_invalid());
    assert!(error.to_string().contains("not UTF-8"), "{error}");
    // The change stream says the bucket changed, and `get` tells what.
    assert_eq!(
        expect_change(&mut changes).await,
        Change::Stale {
            bucket: "binary".to_owned()
        }
    );

    // A document larger than etcd takes (1.5 MiB by default) is refused
    // as invalid, not as an outage.
    let huge = "x".repeat(3 << 20);
    let error = store.put("huge", &huge).await.unwrap_err();
    assert!(error.is_invalid(), "{error}");
    assert_eq!(store.get("huge").await.unwrap().text(), None);
}

#[tokio::test]
async fn changes_from_another_client_arrive_in_order_with_their_revisions() {
    let Some(etcd) = Etcd::start_or_skip("changes_arrive_in_order") else {
        return;
    };
    let reader = store(&etcd.endpoint(), "fleet").await;
    let writer = store(&etcd.endpoint(), "fleet").await;
    // The reader has talked to etcd: its stream starts right after what it
    // saw, so nothing written from now on can be missed.
    assert_eq!(reader.get("photos").await.unwrap().text(), None);
    let mut changes = changes_of(&reader);

    let mut expected = Vec::new();
    let v = writer.put("photos", XML).await.unwrap();
    expected.push(put("photos", XML, v));
    let v = writer.put("videos", JSON).await.unwrap();
    expected.push(put("videos", JSON, v));
    let v = writer.put("photos", JSON).await.unwrap();
    expected.push(put("photos", JSON, v));
    let v = writer.delete("photos").await.unwrap();
    expected.push(deleted("photos", v));
    // Keys that are not this store's documents are not changes.
    let mut raw = raw(&etcd).await;
    raw.put("fleet/not/a-bucket", "x", None).await.unwrap();
    raw.put("fleetwood/b", "x", None).await.unwrap();
    raw.put("other/b", "x", None).await.unwrap();
    let v = writer.put("last", XML).await.unwrap();
    expected.push(put("last", XML, v));

    expect_all(&mut changes, &expected).await;
    expect_quiet(&mut changes, Duration::from_millis(200)).await;

    // A second stream is a second subscription, from the same point on:
    // right after the last revision the reader saw itself.
    let mut second = changes_of(&reader);
    let v = writer.put("after", XML).await.unwrap();
    expected.push(put("after", XML, v));
    for want in &expected {
        assert_eq!(&expect_change(&mut second).await, want);
    }
    assert_eq!(expect_change(&mut changes).await, put("after", XML, v));
}

#[tokio::test]
async fn a_stream_resumes_from_the_last_revision_seen() {
    let Some(etcd) = Etcd::start_or_skip("a_stream_resumes_from_the_last_revision_seen") else {
        return;
    };
    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.put("seen", XML).await.unwrap();
    // Written before the stream exists, after what the reader saw: the
    // stream starts from the reader's last revision and delivers them.
    let expected = put_many(&writer, "photos", 20).await;
    let mut changes = changes_of(&reader);
    expect_all(&mut changes, &expected).await;
    expect_quiet(&mut changes, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_cut_off_reader_resyncs_and_gets_what_it_missed() {
    let Some(etcd) = Etcd::start_or_skip("a_cut_off_reader_resyncs") else {
        return;
    };
    let (proxy, reader, writer, mut changes) = behind_a_proxy(&etcd).await;

    proxy.cut();
    // While cut off, the reader's operations fail as an outage, in time.
    let started = Instant::now();
    let error = reader.get("photos").await.unwrap_err();
    assert!(error.is_unavailable(), "{error}");
    assert!(started.elapsed() < TIMEOUT + Duration::from_millis(500));
    // The others go on.
    let mut expected = put_many(&writer, "photos", 5).await;
    let v = writer.delete("photos").await.unwrap();
    expected.push(deleted("photos", v));
    expected.extend(put_many(&writer, "videos", 3).await);
    expect_quiet(&mut changes, Duration::from_millis(300)).await;

    proxy.restore();
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    expect_all(&mut changes, &expected).await;
    put_and_see(&writer, &mut changes, "photos", JSON).await;
}

#[tokio::test]
async fn keep_alive_finds_a_silent_connection() {
    // etcd refuses pings more frequent than its minimum (5 s by default).
    let Some(etcd) = Etcd::builder()
        .arg("--grpc-keepalive-min-time=200ms")
        .start_or_skip("keep_alive")
    else {
        return;
    };
    let proxy = TcpProxy::start(&etcd.endpoint()).unwrap();
    let keep_alive = (Duration::from_millis(500), Duration::from_millis(500));
    let reader = EtcdStore::connect(config(&proxy.endpoint(), "cors").keep_alive(Some(keep_alive)))
        .await
        .unwrap();
    let writer = store(&etcd.endpoint(), "cors").await;
    let mut changes = watching(&reader, &writer).await;

    // Pings while all is well keep the watch: nothing to resync.
    expect_quiet(&mut changes, Duration::from_millis(1500)).await;
    put_and_see(&writer, &mut changes, "photos", JSON).await;

    proxy.freeze();
    let expected = put_many(&writer, "videos", 3).await;
    let error = reader.get("photos").await.unwrap_err();
    assert!(error.is_unavailable());
    // Long enough for an unanswered ping to drop the connection.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.thaw();
    // Had the watch stayed on the silent connection (no keep-alive), the
    // held changes would come now without a Resync.
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    expect_all(&mut changes, &expected).await;
}

#[tokio::test]
async fn a_compacted_history_means_resync_then_changes_from_now() {
    let Some(etcd) = Etcd::start_or_skip("a_compacted_history_means_resync") else {
        return;
    };
    let mut raw = raw(&etcd).await;

    // 1. A stream that is to start at a compacted revision.
    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.put("seen", XML).await.unwrap();
    put_many(&writer, "photos", 5).await;
    let now = writer.current_revision().await.unwrap();
    raw.compact(i64::try_from(now.get()).unwrap(), None)
        .await
        .unwrap();
    let mut changes = changes_of(&reader);
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    put_and_see(&writer, &mut changes, "photos", JSON).await;

    // 2. A stream cut off while etcd compacted what it missed.
    let proxy = TcpProxy::start(&etcd.endpoint()).unwrap();
    let reader = store(&proxy.endpoint(), "cors").await;
    let mut changes = watching(&reader, &writer).await;
    proxy.cut();
    put_many(&writer, "photos", 5).await;
    let now = writer.current_revision().await.unwrap();
    raw.compact(i64::try_from(now.get()).unwrap(), None)
        .await
        .unwrap();
    proxy.restore();
    // One resync (not one for the reconnect and one for the compaction),
    // then only what comes after.
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    put_and_see(&writer, &mut changes, "videos", XML).await;
}

#[tokio::test]
async fn an_etcd_that_lost_its_data_means_resync_not_a_silent_wait() {
    let Some(mut etcd) = Etcd::start_or_skip("an_etcd_that_lost_its_data") else {
        return;
    };
    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.get("photos").await.unwrap();
    let mut changes = changes_of(&reader);
    let expected = put_many(&writer, "photos", 10).await;
    expect_all(&mut changes, &expected).await;

    // A new, empty etcd at the same address: its revisions are behind the
    // ones the stream delivered, and resuming there would wait for them.
    etcd.restart_with_fresh_data().unwrap();
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    let v = writer.put("photos", JSON).await.unwrap();
    assert!(v < expected.len().try_into().map(Version::new).unwrap());
    assert_eq!(expect_change(&mut changes).await, put("photos", JSON, v));
    assert_eq!(reader.get("photos").await.unwrap().version(), v);
}

#[tokio::test]
async fn while_etcd_is_down_operations_fail_in_time_and_the_stream_recovers() {
    let Some(mut etcd) = Etcd::start_or_skip("while_etcd_is_down") else {
        return;
    };
    // Default timeouts: what a server gets unless it says otherwise.
    let reader = EtcdStore::connect(EtcdConfig::new([etcd.endpoint()]))
        .await
        .unwrap();
    let writer = store(&etcd.endpoint(), EtcdConfig::DEFAULT_PREFIX).await;
    reader.get("photos").await.unwrap();
    let mut changes = changes_of(&reader);
    let before = writer.put("photos", XML).await.unwrap();
    assert_eq!(
        expect_change(&mut changes).await,
        put("photos", XML, before)
    );

    etcd.stop().unwrap();
    let limit = EtcdConfig::DEFAULT_REQUEST_TIMEOUT;
    let mut timings = Vec::new();
    for round in 0..3 {
        let started = Instant::now();
        let get = reader.get("photos").await.unwrap_err();
        let get_took = started.elapsed();
        let started = Instant::now();
        let put = reader.put("photos", JSON).await.unwrap_err();
        let put_took = started.elapsed();
        let started = Instant::now();
        let delete = reader.delete("photos").await.unwrap_err();
        let delete_took = started.elapsed();
        for (error, took) in [(&get, get_took), (&put, put_took), (&delete, delete_took)] {
            assert!(error.is_unavailable(), "{error}");
            assert!(
                took <= limit + Duration::from_millis(300),
                "{took:?}: {error}"
            );
        }
        timings.push(format!(
            "round {round}: get {get_took:.1?}, put {put_took:.1?}, delete {delete_took:.1?} ({get})"
        ));
    }
    say(&format!(
        "etcd stopped, default timeouts ({limit:?}): operations failed with Unavailable after\n  {}",
        timings.join("\n  ")
    ));
    expect_quiet(&mut changes, Duration::from_millis(300)).await;

    let started = Instant::now();
    etcd.restart().unwrap();
    let restarted = started.elapsed();
    let started = Instant::now();
    // Changes made after the restart, before or after the reader's watch
    // is back.
    let expected = put_many(&writer, "photos", 3).await;
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    let resynced = started.elapsed();
    expect_all(&mut changes, &expected).await;
    say(&format!(
        "etcd restarted (healthy) in {restarted:.1?}; the stream's Resync came {resynced:.1?} later \
         (reconnect backoff up to 2 s), then the changes made meanwhile"
    ));
    // The document written before the outage outlived it; the reader writes
    // again.
    assert!(before.is_older_than(reader.put("photos", JSON).await.unwrap()));
}

#[tokio::test]
async fn an_etcd_that_never_answers_fails_operations_within_the_timeout() {
    // No etcd needed: a listener that takes connections and never answers,
    // as a hung member or a half-open connection would.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = silent.local_addr().unwrap().to_string();
    let timeout = Duration::from_millis(300);
    let store = EtcdStore::connect(EtcdConfig::new([endpoint]).request_timeout(timeout))
        .await
        .unwrap();
    let mut changes = changes_of(&store);
    let mut took = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let error = store.get("photos").await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        assert!(
            error.to_string().contains("did not answer within"),
            "{error}"
        );
        took.push(started.elapsed());
        let started = Instant::now();
        let error = store.put("photos", XML).await.unwrap_err();
        assert!(error.is_unavailable(), "{error}");
        took.push(started.elapsed());
    }
    for t in &took {
        assert!(
            *t >= timeout && *t < timeout + Duration::from_millis(200),
            "{t:?}"
        );
    }
    say(&format!(
        "a silent etcd: operations failed with Unavailable after {took:.0?} (request timeout {timeout:?})"
    ));
    expect_quiet(&mut changes, Duration::from_millis(200)).await;
    drop(store);
    assert_eq!(
        next(&mut changes, WAIT).await,
        Some(None),
        "the stream ends"
    );
}

#[tokio::test]
async fn a_store_made_while_etcd_is_down_works_once_it_is_up() {
    let Some(mut etcd) = Etcd::start_or_skip("a_store_made_while_etcd_is_down") else {
        return;
    };
    etcd.stop().unwrap();
    let started = Instant::now();
    let reader = store(&etcd.endpoint(), "cors").await;
    assert!(started.elapsed() < Duration::from_millis(100));
    let started = Instant::now();
    let error = reader.get("photos").await.unwrap_err();
    assert!(error.is_unavailable());
    assert!(started.elapsed() <= TIMEOUT + Duration::from_millis(300));
    // A stream made before the store ever talked to etcd starts with a
    // Resync once its watch is open.
    let mut changes = changes_of(&reader);
    expect_quiet(&mut changes, Duration::from_millis(300)).await;

    etcd.restart().unwrap();
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    let writer = store(&etcd.endpoint(), "cors").await;
    let v = put_and_see(&writer, &mut changes, "photos", XML).await;
    assert_eq!(
        reader.get("photos").await.unwrap(),
        Lookup::Found(XML.into(), v)
    );
}

#[tokio::test]
async fn writing_what_is_there_already_is_a_no_op() {
    let Some(etcd) = Etcd::start_or_skip("writing_what_is_there_already_is_a_no_op") else {
        return;
    };
    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.get("photos").await.unwrap();
    let mut changes = changes_of(&reader);

    let first = put_and_see(&writer, &mut changes, "photos", XML).await;
    // A retried write of the same document: same version, nothing written.
    assert_eq!(writer.put("photos", XML).await.unwrap(), first);
    assert_eq!(reader.put("photos", XML).await.unwrap(), first);
    expect_quiet(&mut changes, Duration::from_millis(200)).await;
    assert_eq!(
        writer.current_revision().await.unwrap(),
        first,
        "etcd wrote nothing"
    );
    // Another document is a write.
    let second = put_and_see(&writer, &mut changes, "photos", JSON).await;
    assert!(first.is_older_than(second));
    // A delete, then a delete of nothing: no second change.
    let removed = writer.delete("photos").await.unwrap();
    assert_eq!(
        expect_change(&mut changes).await,
        deleted("photos", removed)
    );
    assert_eq!(writer.delete("photos").await.unwrap(), removed);
    expect_quiet(&mut changes, Duration::from_millis(200)).await;
}

#[tokio::test]
async fn two_writers_of_one_bucket_end_with_the_last_write_everywhere() {
    let Some(etcd) = Etcd::start_or_skip("two_writers_of_one_bucket") else {
        return;
    };
    let a = store(&etcd.endpoint(), "cors").await;
    let b = store(&etcd.endpoint(), "cors").await;
    a.get("shared").await.unwrap();
    b.get("shared").await.unwrap();
    let mut changes_a = changes_of(&a);
    let mut changes_b = changes_of(&b);

    let mut written = Vec::new();
    for round in 0..20 {
        let doc_a = format!("{XML}<!-- a {round} -->");
        let doc_b = format!("{JSON} /* b {round} */");
        let (va, vb) = tokio::join!(a.put("shared", &doc_a), b.put("shared", &doc_b));
        written.push((va.unwrap(), doc_a));
        written.push((vb.unwrap(), doc_b));
    }
    let (last_version, last_document) = written.iter().max_by_key(|(v, _)| *v).unwrap();
    // Every write has its own revision.
    let mut versions: Vec<_> = written.iter().map(|(v, _)| *v).collect();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), written.len());

    let expected = Lookup::Found(last_document.as_str().into(), *last_version);
    assert_eq!(a.get("shared").await.unwrap(), expected);
    assert_eq!(b.get("shared").await.unwrap(), expected);
    // Both streams see all writes in revision order, the last one last.
    for changes in [&mut changes_a, &mut changes_b] {
        let mut seen = Vec::new();
        while seen.len() < written.len() {
            match expect_change(changes).await {
                Change::Put { text, version, .. } => seen.push(Lookup::Found(text, version)),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(seen.windows(2).all(|w| w[0].version() < w[1].version()));
        assert_eq!(seen.last(), Some(&expected));
    }
}

#[tokio::test]
async fn dropping_the_store_ends_its_streams_and_their_tasks() {
    let Some(etcd) = Etcd::start_or_skip("dropping_the_store_ends_its_streams") else {
        return;
    };
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();

    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.get("photos").await.unwrap();
    let mut kept = changes_of(&reader);
    let dropped = changes_of(&reader);
    put_and_see(&writer, &mut kept, "photos", XML).await;
    let with_streams = metrics.num_alive_tasks();
    assert!(with_streams >= baseline + 2, "{baseline} -> {with_streams}");

    // Dropping a stream ends its task (at its next step at the latest).
    drop(dropped);
    put_and_see(&writer, &mut kept, "photos", JSON).await;
    wait_for_tasks(&metrics, with_streams - 1).await;

    // Dropping the store's last handles ends the other stream: no task
    // left behind, the etcd client's included.
    let clone = reader.clone();
    drop(reader);
    drop(writer);
    expect_quiet(&mut kept, Duration::from_millis(200)).await;
    drop(clone);
    assert_eq!(next(&mut kept, WAIT).await, Some(None), "the stream ends");
    wait_for_tasks(&metrics, baseline).await;
}

/// Waits until at most `count` tasks are alive.
async fn wait_for_tasks(metrics: &tokio::runtime::RuntimeMetrics, count: usize) {
    let deadline = Instant::now() + WAIT;
    while metrics.num_alive_tasks() > count {
        assert!(
            Instant::now() < deadline,
            "{} tasks alive, expected at most {count}",
            metrics.num_alive_tasks()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn put_to_watch_latency_on_loopback() {
    let Some(etcd) = Etcd::start_or_skip("put_to_watch_latency_on_loopback") else {
        return;
    };
    let reader = store(&etcd.endpoint(), "cors").await;
    let writer = store(&etcd.endpoint(), "cors").await;
    reader.get("photos").await.unwrap();
    let mut changes = changes_of(&reader);
    let warm_up = put_many(&writer, "warm-up", 10).await;
    for want in &warm_up {
        assert_eq!(&expect_change(&mut changes).await, want);
    }

    let count = 300;
    let mut put_times = Vec::with_capacity(count);
    let mut delivery = Vec::with_capacity(count);
    for i in 0..count {
        let text = format!("{XML}<!-- {i} -->");
        let started = Instant::now();
        let version = writer.put("photos", &text).await.unwrap();
        put_times.push(started.elapsed());
        assert_eq!(
            expect_change(&mut changes).await,
            put("photos", &text, version)
        );
        delivery.push(started.elapsed());
    }
    let (put_p50, put_p99) = percentiles(&mut put_times);
    let (p50, p99) = percentiles(&mut delivery);
    say(&format!(
        "put -> watch delivery over {count} sequential changes on loopback: \
         p50 {p50:.2?}, p99 {p99:.2?}, max {:.2?} (the put alone: p50 {put_p50:.2?}, p99 {put_p99:.2?})",
        delivery[count - 1]
    ));
    // The fleet's goal is p99 <= 100 ms; this is a sanity bound for a
    // loaded CI machine, the figure is what the message says.
    assert!(p99 < Duration::from_millis(500), "p99 {p99:?}");
}

/// Sorts `times` and returns its 50th and 99th percentiles.
fn percentiles(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    let at = |q: f64| {
        // Nearest rank.
        let rank = (q * times.len() as f64).ceil() as usize;
        times[rank.clamp(1, times.len()) - 1]
    };
    (at(0.50), at(0.99))
}

#[test]
fn connect_errors_are_typed() {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use tower_s3_cors_etcd::{ConnectErrorKind, UrlErrorKind};

    // Outside a runtime: an error, not a panic (the future is ready at its
    // first poll).
    let mut connecting = pin!(EtcdStore::connect_url("etcd://127.0.0.1:2379"));
    match connecting
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Err(error)) => assert_eq!(error.kind(), ConnectErrorKind::NoRuntime),
        other => panic!("{other:?}"),
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let error = EtcdStore::connect_url("etcd://127.0.0.1:2379/a b")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ConnectErrorKind::Url);
        let source = std::error::Error::source(&error).unwrap();
        let url_error = source
            .downcast_ref::<tower_s3_cors_etcd::UrlError>()
            .unwrap();
        assert_eq!(url_error.kind(), UrlErrorKind::Prefix);

        let none: [&str; 0] = [];
        let error = EtcdStore::connect(EtcdConfig::new(none)).await.unwrap_err();
        assert_eq!(error.kind(), ConnectErrorKind::Endpoint);
        let error = EtcdStore::connect(EtcdConfig::new(["http://bad host:1"]))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ConnectErrorKind::Endpoint, "{error}");

        // A URL that reads connects lazily: no etcd needed.
        let store = EtcdStore::connect_url("etcd://127.0.0.1:1/p")
            .await
            .unwrap();
        assert_eq!(store.config().key_prefix(), "p/");
        assert_eq!(store.key("photos").unwrap(), "p/photos");
    });
}

#[tokio::test]
async fn several_members_one_down_or_cut_off() {
    let Some(etcd) = Etcd::start_or_skip("several_members_one_down_or_cut_off") else {
        return;
    };
    // A member that refuses connections, listed first.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_endpoint = dead.local_addr().unwrap().to_string();
    drop(dead);
    let url = format!("etcd://{dead_endpoint},{}/cors", etcd.endpoint());
    let store = EtcdStore::connect_url(&url).await.unwrap();
    let mut changes = changes_of(&store);
    for i in 0..50 {
        let text = format!("{XML}<!-- {i} -->");
        let version = store.put("photos", &text).await.unwrap();
        let stored = store.get("photos").await.unwrap();
        assert_eq!(stored, Lookup::Found(text.into(), version));
    }
    assert_eq!(expect_change(&mut changes).await, Change::Resync);

    // Two ways to the same etcd, as two members of one cluster would be;
    // the one in use is cut off.
    let first = TcpProxy::start(&etcd.endpoint()).unwrap();
    let second = TcpProxy::start(&etcd.endpoint()).unwrap();
    let config = EtcdConfig::new([first.endpoint(), second.endpoint()])
        .prefix("cors")
        .request_timeout(TIMEOUT)
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400));
    let reader = EtcdStore::connect(config).await.unwrap();
    let writer = store;
    let mut changes = watching(&reader, &writer).await;
    first.cut();
    let expected = put_many(&writer, "videos", 3).await;
    // Operations move on to the other member at once.
    let started = Instant::now();
    let Lookup::Found(text, version) = reader.get("videos").await.unwrap() else {
        panic!("written")
    };
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(
        Change::Put {
            bucket: "videos".to_owned(),
            text,
            version,
        },
        expected[2]
    );
    // So does the watch, which resumes where it was.
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    expect_all(&mut changes, &expected).await;
}

#[tokio::test]
async fn a_large_replay_comes_through() {
    let Some(etcd) = Etcd::start_or_skip("a_large_replay_comes_through") else {
        return;
    };
    let (proxy, _reader, writer, mut changes) = behind_a_proxy(&etcd).await;

    // More than a gRPC message may be here (16 MiB), written while the
    // reader is cut off: the replay after the reconnect carries all of it,
    // in parts.
    proxy.cut();
    let mut expected = Vec::new();
    for i in 0..20 {
        let text = format!("<!-- {i} -->{}", "x".repeat(1 << 20));
        let version = writer.put("photos", &text).await.unwrap();
        expected.push(put("photos", &text, version));
    }
    proxy.restore();
    assert_eq!(expect_change(&mut changes).await, Change::Resync);
    expect_all(&mut changes, &expected).await;
}
