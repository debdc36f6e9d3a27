//! The etcd store against a real three-member etcd cluster on loopback:
//! a member that hangs (`SIGSTOP`) under a reader's watch is noticed and the
//! watch moves on with a resync, within the bound the store promises; a
//! write sent while the cluster has no quorum is "unknown", and retrying it
//! is a no-op. Without `etcd` the tests are skipped with a loud message,
//! except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tower_s3_cors::store::{Change, CorsStore};
use tower_s3_cors_etcd::{EtcdConfig, EtcdError, EtcdStore};
use tower_s3_cors_test_support::etcd::Etcd;
use tower_s3_cors_test_support::say;

/// A change stream, boxed so that the helpers can take any.
type ChangeStream = std::pin::Pin<Box<dyn futures_core::Stream<Item = Change> + Send>>;

/// A store's change stream.
fn changes_of(store: &EtcdStore) -> ChangeStream {
    Box::pin(store.changes().expect("etcd pushes changes"))
}

const PREFIX: &str = "cluster";

/// How long a test waits for a change that must come.
const WAIT: Duration = Duration::from_secs(15);

fn document(n: u32) -> String {
    format!(r#"[{{"AllowedOrigins": ["https://{n}.example"], "AllowedMethods": ["GET"]}}]"#)
}

/// A store over the members `members` of `etcd`, in that order (the first
/// is where its watch opens).
async fn store(etcd: &Etcd, members: &[usize], timeout: Duration) -> EtcdStore {
    let endpoints: Vec<String> = members.iter().map(|&m| etcd.member_endpoint(m)).collect();
    let config = EtcdConfig::new(endpoints)
        .prefix(PREFIX)
        .request_timeout(timeout)
        .reconnect_backoff(Duration::from_millis(50), Duration::from_millis(400));
    EtcdStore::connect(config).await.unwrap()
}

async fn next(changes: &mut ChangeStream) -> Change {
    tokio::time::timeout(WAIT, poll_fn(|cx| changes.as_mut().poll_next(cx)))
        .await
        .expect("a change within the wait")
        .expect("the stream goes on")
}

/// The next change that is not a `Resync`, and whether a `Resync` came
/// before it.
async fn next_put(changes: &mut ChangeStream) -> (Change, bool) {
    let mut resynced = false;
    loop {
        match next(changes).await {
            Change::Resync => resynced = true,
            change => return (change, resynced),
        }
    }
}

#[tokio::test]
async fn a_paused_member_under_a_watch_is_left_within_3_s_with_a_resync() {
    let Some(etcd) = Etcd::builder()
        .members(3)
        .start_or_skip("a paused member under a watch")
    else {
        return;
    };
    // The reader watches a follower (a paused leader would add an
    // election to what is measured); the writer never uses that member.
    let leader = etcd.wait_for_leader();
    let watched = (leader + 1) % 3;
    let others: Vec<usize> = (0..3).filter(|&m| m != watched).collect();
    let reader = store(
        &etcd,
        &[watched, others[0], others[1]],
        Duration::from_secs(2),
    )
    .await;
    let writer = store(&etcd, &others, Duration::from_secs(2)).await;
    let heard = Arc::new(Mutex::new(Vec::new()));
    let hook = Arc::clone(&heard);
    reader.on_stale_change(move |stale| hook.lock().unwrap().push(stale));

    reader.get("photos").await.unwrap();
    let mut changes = changes_of(&reader);
    let first = writer.put("photos", &document(1)).await.unwrap();
    let (change, _) = next_put(&mut changes).await;
    assert!(matches!(&change, Change::Put { version, .. } if *version == first));
    assert_eq!(reader.possibly_stale_since(), None);

    etcd.pause(watched);
    let paused = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let written = writer.put("photos", &document(2)).await.unwrap();
    let acknowledged = Instant::now();
    let (change, resynced) = next_put(&mut changes).await;
    let seen = Instant::now();
    assert!(
        matches!(&change, Change::Put { version, .. } if *version == written),
        "{change:?}"
    );
    assert!(resynced, "the watch was reopened elsewhere, with a Resync");
    let stale_for = seen - acknowledged;
    say(&format!(
        "a paused follower under the watch: the write acknowledged {:.0?} after the pause was \
         delivered {stale_for:.2?} after its acknowledgement ({:.2?} after the pause)",
        acknowledged - paused,
        seen - paused
    ));
    // The store's promise: a hung member costs at most 3 s of staleness.
    assert!(stale_for <= Duration::from_secs(3), "{stale_for:?}");
    assert_eq!(reader.possibly_stale_since(), None, "fresh again");
    // Reads, too, go to the other members.
    let started = Instant::now();
    let stored = reader.get("photos").await.unwrap();
    assert_eq!(stored.version(), written);
    say(&format!(
        "a read with the watched member paused: {:.1?}",
        started.elapsed()
    ));

    etcd.resume(watched);
    assert_eq!(
        *heard.lock().unwrap(),
        [false, true, false, true, false],
        "the hook heard: fresh (no stream yet); stale until the first watch opened; \
         fresh; stale from the pause; fresh again"
    );
    let third = writer.put("photos", &document(3)).await.unwrap();
    let (change, _) = next_put(&mut changes).await;
    assert!(matches!(&change, Change::Put { version, .. } if *version == third));
}

#[tokio::test]
async fn a_write_without_quorum_is_unknown_and_its_retry_is_a_no_op() {
    let Some(etcd) = Etcd::builder()
        .members(3)
        .start_or_skip("a write without quorum")
    else {
        return;
    };
    let leader = etcd.wait_for_leader();
    let followers: Vec<usize> = (0..3).filter(|&m| m != leader).collect();
    // The writer reaches the leader alone; the watcher all members.
    let writer = store(&etcd, &[leader], Duration::from_secs(1)).await;
    let watcher = store(
        &etcd,
        &[leader, followers[0], followers[1]],
        Duration::from_secs(2),
    )
    .await;
    let before = writer.put("photos", &document(1)).await.unwrap();
    watcher.get("photos").await.unwrap();
    let mut changes = changes_of(&watcher);

    for &follower in &followers {
        etcd.pause(follower);
    }
    let started = Instant::now();
    let error = writer.put("photos", &document(2)).await.unwrap_err();
    let failed_after = started.elapsed();
    assert!(error.is_unavailable(), "{error}");
    assert!(EtcdError::of(&error).is_some(), "{error}");
    say(&format!(
        "quorum lost mid-write: the write failed after {failed_after:.1?}: {error}"
    ));
    for &follower in &followers {
        etcd.resume(follower);
    }
    let _ = etcd.wait_for_leader();

    // The write was sent: etcd may apply it once it has quorum again.
    let applied_late = loop {
        match watcher.get("photos").await {
            Ok(lookup) => {
                break lookup.text() == Some(document(2).as_str());
            }
            Err(error) => {
                assert!(started.elapsed() < WAIT, "{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // Either way, retrying it succeeds and leaves one write of it.
    let retried = loop {
        match writer.put("photos", &document(2)).await {
            Ok(version) => break version,
            Err(error) => {
                assert!(started.elapsed() < WAIT, "{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let (change, _) = next_put(&mut changes).await;
    let Change::Put { text, version, .. } = change else {
        panic!("{change:?}");
    };
    assert_eq!(&*text, document(2));
    assert_eq!(
        version, retried,
        "one write of the document: the retry answers its version"
    );
    assert!(before.is_older_than(retried));
    // No second write of it.
    let quiet = tokio::time::timeout(
        Duration::from_millis(300),
        poll_fn(|cx| changes.as_mut().poll_next(cx)),
    )
    .await;
    assert!(
        quiet.is_err() || matches!(quiet, Ok(Some(Change::Resync))),
        "{quiet:?}"
    );
    say(&format!(
        "after quorum came back: the unanswered write {}; the retry answered revision {retried}",
        if applied_late {
            "had been applied (late), and the retry wrote nothing"
        } else {
            "had not been applied, and the retry wrote it"
        }
    ));
}
