//! The read-through source over a store, and its faults: a store that
//! fails, hangs, is slow or holds an invalid document never fails a request
//! that a cached policy can answer, never replaces a good policy with a bad
//! one, and never keeps a request past the load timeout.

#![cfg(feature = "store")]

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tower::{Layer, service_fn};
use tower_s3_cors::S3CorsLayer;
use tower_s3_cors::source::{
    BucketCors, BucketError, BucketPolicy, ReadThrough, RequestHead, Resolution, Ttl,
};
use tower_s3_cors::store::{Change, CorsStore, Lookup, MemoryStore, Version};

use crate::support::{self, Body, echo, request};

const GET_ONLY: &str =
    r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]"#;
const GET_PUT: &str =
    r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"]}]"#;
const INVALID: &str = r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#;

/// A store to break: over a `MemoryStore`, it can fail, hang or be slow,
/// counts its reads, and pushes the changes the test sends.
#[derive(Clone, Debug, Default)]
struct Faulty {
    memory: MemoryStore,
    state: Arc<FaultState>,
}

#[derive(Debug, Default)]
struct FaultState {
    fail: AtomicBool,
    hang: AtomicBool,
    delay: Mutex<Duration>,
    gets: AtomicUsize,
    changes: Mutex<Option<mpsc::UnboundedReceiver<Change>>>,
}

impl Faulty {
    /// A store, and a sender for the changes its stream pushes.
    fn new() -> (Self, mpsc::UnboundedSender<Change>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let store = Self::default();
        *store.state.changes.lock().unwrap() = Some(receiver);
        (store, sender)
    }

    fn gets(&self) -> usize {
        self.state.gets.load(Ordering::SeqCst)
    }

    async fn fault(&self) -> Result<(), BucketError> {
        let delay = *self.state.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.state.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.state.fail.load(Ordering::SeqCst) {
            return Err(BucketError::unavailable("the test broke the store"));
        }
        Ok(())
    }
}

impl CorsStore for Faulty {
    async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
        self.state.gets.fetch_add(1, Ordering::SeqCst);
        self.fault().await?;
        self.memory.get(bucket).await
    }

    async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
        self.fault().await?;
        self.memory.put(bucket, document).await
    }

    async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
        self.fault().await?;
        self.memory.delete(bucket).await
    }

    fn changes(&self) -> Option<impl futures_core::Stream<Item = Change> + Send + 'static> {
        let receiver = self.state.changes.lock().unwrap().take()?;
        Some(ChannelStream(receiver))
    }
}

struct ChannelStream(mpsc::UnboundedReceiver<Change>);

impl futures_core::Stream for ChannelStream {
    type Item = Change;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Change>> {
        self.0.poll_recv(cx)
    }
}

/// The change a store announces for a write of `text` to `bucket`.
fn put_change(bucket: &str, text: &str, version: Version) -> Change {
    Change::Put {
        bucket: bucket.into(),
        text: text.into(),
        version,
    }
}

fn head(uri: &str) -> Request<()> {
    Request::get(uri).body(()).unwrap()
}

/// What the source has for `uri`'s bucket, once any load is over.
async fn settled(source: &ReadThrough, uri: &str) -> BucketPolicy {
    let request = head(uri);
    let located = source
        .locate(&RequestHead::new(&request))
        .expect("a bucket");
    support::settled(source, located.bucket()).await
}

/// The methods the cached policy of `uri`'s bucket allows.
async fn methods(source: &ReadThrough, uri: &str) -> Option<Vec<String>> {
    match settled(source, uri).await {
        BucketPolicy::Configured(policy) => {
            Some(policy.configuration().rules[0].allowed_methods.clone())
        }
        _ => None,
    }
}

const PREFLIGHT: &[(&str, &str)] = &[
    ("origin", "https://app.example"),
    ("access-control-request-method", "GET"),
];

#[tokio::test]
async fn a_miss_loads_once_for_all_concurrent_requests_then_hits() {
    let (store, _changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    *store.state.delay.lock().unwrap() = Duration::from_millis(50);
    let source = ReadThrough::builder(store.clone()).build().unwrap();
    let service = S3CorsLayer::new(source.clone()).layer(echo());
    let mut answers = Vec::new();
    for _ in 0..20 {
        let service = service.clone();
        answers.push(tokio::spawn(async move {
            support::send(service, request(Method::OPTIONS, "/photos/k", PREFLIGHT)).await
        }));
    }
    for answer in answers {
        assert_eq!(answer.await.unwrap().status, StatusCode::OK);
    }
    assert_eq!(store.gets(), 1, "twenty misses, one load");
    assert!(matches!(
        source.resolve("photos"),
        Resolution::Ready(BucketPolicy::Configured(_))
    ));
    assert_eq!(store.gets(), 1, "hits do not ask the store");
    // No CORS and no bucket are remembered too.
    for _ in 0..3 {
        assert!(matches!(
            settled(&source, "/empty/k").await,
            BucketPolicy::NotConfigured
        ));
    }
    assert_eq!(store.gets(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_store_times_out_and_nothing_waits_past_the_timeout() {
    let (store, _changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    store.memory.put("videos", GET_ONLY).await.unwrap();
    let source = ReadThrough::builder(store.clone())
        .load_timeout(Duration::from_millis(300))
        .retry_after(Duration::from_secs(5))
        .build()
        .unwrap();
    let service = S3CorsLayer::new(source.clone()).layer(echo());
    // Cached before the store hangs.
    assert!(methods(&source, "/photos/k").await.is_some());
    store.state.hang.store(true, Ordering::SeqCst);

    let started = Instant::now();
    let answer = support::send(
        service.clone(),
        request(Method::OPTIONS, "/videos/k", PREFLIGHT),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(300),
        "answered at the timeout"
    );
    // Within the retry time, no new load: answered at once.
    let started = Instant::now();
    let answer = support::send(
        service.clone(),
        request(Method::OPTIONS, "/videos/k", PREFLIGHT),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(started.elapsed(), Duration::ZERO);
    // The cached bucket answers as if nothing happened.
    let answer = support::send(service, request(Method::OPTIONS, "/photos/k", PREFLIGHT)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_slow_store_never_delays_an_actual_request_beyond_the_load() {
    let (store, _changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    *store.state.delay.lock().unwrap() = Duration::from_millis(200);
    let source = ReadThrough::builder(store).build().unwrap();
    let slow_inner = service_fn(|_req: Request<Body>| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<_, Infallible>(Response::new(Body::default()))
    });
    let service = S3CorsLayer::new(source).layer(slow_inner);
    let started = Instant::now();
    let answer = support::send(
        service,
        request(
            Method::GET,
            "/photos/k",
            &[("origin", "https://app.example")],
        ),
    )
    .await;
    // The load (200 ms) ran while the inner service did (300 ms).
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "https://app.example"
    );
}

#[tokio::test]
async fn a_failing_store_keeps_cached_policies_serving() {
    let (store, changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    let errors = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&errors);
    let source = ReadThrough::builder(store.clone())
        .on_error(move |_, _| {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let service = S3CorsLayer::new(source.clone()).layer(echo());
    assert!(methods(&source, "/photos/k").await.is_some());

    store.state.fail.store(true, Ordering::SeqCst);
    // A refresh fails: the error is given, the entry stays.
    let error = source.refresh("photos").await.unwrap_err();
    assert!(error.is_unavailable());
    // So does a change the source must re-read, and a resync.
    changes
        .send(Change::Stale {
            bucket: "photos".into(),
        })
        .unwrap();
    changes.send(Change::Resync).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(errors.load(Ordering::SeqCst) >= 2, "failures are reported");
    for _ in 0..10 {
        let answer = support::send(
            service.clone(),
            request(Method::OPTIONS, "/photos/k", PREFLIGHT),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "stale-if-error");
    }
    // Nothing cached: a preflight gets S3's 503, an actual request passes.
    let answer = support::send(
        service.clone(),
        request(Method::OPTIONS, "/videos/k", PREFLIGHT),
    )
    .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let answer = support::send(
        service,
        request(
            Method::GET,
            "/videos/k",
            &[("origin", "https://app.example")],
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn an_invalid_document_never_replaces_a_good_policy() {
    let (store, changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    let reported = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&reported);
    let source = ReadThrough::builder(store.clone())
        .on_error(move |bucket, error| {
            sink.lock()
                .unwrap()
                .push((bucket.to_owned(), error.config_error().map(|e| e.s3_code())));
        })
        .build()
        .unwrap();
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET"]);

    // Someone writes a bad document straight into the store.
    let version = store.memory.put("photos", INVALID).await.unwrap();
    changes
        .send(put_change("photos", INVALID, version))
        .unwrap();
    changes
        .send(Change::Stale {
            bucket: "photos".into(),
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        methods(&source, "/photos/k").await.unwrap(),
        ["GET"],
        "the good policy serves"
    );
    assert!(
        reported
            .lock()
            .unwrap()
            .iter()
            .any(|(bucket, code)| bucket == "photos" && *code == Some("InvalidRequest"))
    );
    // A write through the source is validated before the store sees it.
    let error = source.put_document("photos", INVALID).await.unwrap_err();
    assert!(error.is_document());
    // Nothing cached and a bad document: unavailable, not "no CORS".
    store.memory.put("videos", INVALID).await.unwrap();
    assert!(matches!(
        settled(&source, "/videos/k").await,
        BucketPolicy::Unavailable
    ));
}

#[tokio::test]
async fn changes_update_the_cache_and_a_late_older_change_is_ignored() {
    let (store, changes) = Faulty::new();
    let v1 = store.memory.put("photos", GET_ONLY).await.unwrap();
    let source = ReadThrough::builder(store.clone()).build().unwrap();
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET"]);

    let v2 = store.memory.put("photos", GET_PUT).await.unwrap();
    changes.send(put_change("photos", GET_PUT, v2)).unwrap();
    // A delayed notice of the first write arrives after the second.
    changes.send(put_change("photos", GET_ONLY, v1)).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET", "PUT"]);

    let v3 = store.memory.delete("photos").await.unwrap();
    changes
        .send(Change::Deleted {
            bucket: "photos".into(),
            version: v3,
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        settled(&source, "/photos/k").await,
        BucketPolicy::NotConfigured
    ));
    // Changes for buckets nobody asked for are not cached.
    let before = source.len();
    changes
        .send(put_change("elsewhere", GET_ONLY, Version::new(99)))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(source.len(), before);
}

#[tokio::test]
async fn two_sources_over_one_store_see_each_other_s_writes() {
    let store = MemoryStore::new();
    let a = ReadThrough::builder(store.clone()).build().unwrap();
    let b = ReadThrough::builder(store.clone()).build().unwrap();
    assert!(matches!(
        settled(&b, "/photos/k").await,
        BucketPolicy::NotConfigured
    ));
    a.put_document("photos", GET_PUT).await.unwrap();
    assert_eq!(
        methods(&a, "/photos/k").await.unwrap(),
        ["GET", "PUT"],
        "read-your-writes"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while methods(&b, "/photos/k").await.is_none() {
        assert!(Instant::now() < deadline, "b never saw a's write");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.delete_document("photos").await.unwrap();
    while methods(&b, "/photos/k").await.is_some() {
        assert!(Instant::now() < deadline, "b never saw a's delete");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_failed_write_changes_nothing() {
    let (store, _changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    let source = ReadThrough::builder(store.clone()).build().unwrap();
    assert!(methods(&source, "/photos/k").await.is_some());
    store.state.fail.store(true, Ordering::SeqCst);
    assert!(
        source
            .put_document("photos", GET_PUT)
            .await
            .unwrap_err()
            .is_unavailable()
    );
    assert!(source.delete_document("photos").await.is_err());
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET"]);
    store.state.fail.store(false, Ordering::SeqCst);
    assert!(matches!(
        store.memory.get("photos").await.unwrap(),
        Lookup::Found(text, _) if &*text == GET_ONLY
    ));
}

#[tokio::test]
async fn the_cache_is_bounded_and_keeps_the_hot_bucket() {
    let (store, _changes) = Faulty::new();
    for i in 0..300 {
        store.memory.put(&format!("b{i}"), GET_ONLY).await.unwrap();
    }
    store.memory.put("hot", GET_PUT).await.unwrap();
    let source = ReadThrough::builder(store.clone())
        .capacity(50)
        .build()
        .unwrap();
    assert!(methods(&source, "/hot/k").await.is_some());
    for i in 0..300 {
        assert!(methods(&source, &format!("/b{i}/k")).await.is_some());
        assert!(methods(&source, "/hot/k").await.is_some());
        assert!(source.len() <= 51, "{} cached", source.len());
    }
    assert_eq!(store.gets(), 301, "the hot bucket was loaded once");
}

#[tokio::test]
async fn no_task_outlives_the_source() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let (store, _changes) = Faulty::new();
    store.memory.put("photos", GET_ONLY).await.unwrap();
    let source = ReadThrough::builder(store.clone())
        .ttl(Ttl::After(Duration::from_secs(60)))
        .build()
        .unwrap();
    assert!(methods(&source, "/photos/k").await.is_some());
    assert!(
        metrics.num_alive_tasks() > before,
        "the watch and the time to live run"
    );
    drop(source);
    for _ in 0..100 {
        if metrics.num_alive_tasks() == before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{} tasks left", metrics.num_alive_tasks() - before);
}

#[tokio::test(start_paused = true)]
async fn without_a_change_stream_entries_expire_after_the_time_to_live() {
    /// A memory store that pushes nothing.
    #[derive(Clone, Debug)]
    struct Silent(MemoryStore);
    impl CorsStore for Silent {
        async fn get(&self, bucket: &str) -> Result<Lookup, BucketError> {
            self.0.get(bucket).await
        }
        async fn put(&self, bucket: &str, document: &str) -> Result<Version, BucketError> {
            self.0.put(bucket, document).await
        }
        async fn delete(&self, bucket: &str) -> Result<Version, BucketError> {
            self.0.delete(bucket).await
        }
    }
    let memory = MemoryStore::new();
    memory.put("photos", GET_ONLY).await.unwrap();
    let source = ReadThrough::builder(Silent(memory.clone()))
        .ttl(Ttl::After(Duration::from_secs(10)))
        .build()
        .unwrap();
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET"]);
    memory.put("photos", GET_PUT).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        methods(&source, "/photos/k").await.unwrap(),
        ["GET"],
        "not yet expired"
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET", "PUT"]);
}

#[tokio::test]
async fn outside_a_runtime_building_is_an_error_not_a_panic() {
    let store = MemoryStore::new();
    let built = std::thread::spawn(move || ReadThrough::builder(store).build().map(drop))
        .join()
        .unwrap();
    assert!(built.is_err());
}

#[tokio::test]
async fn is_configured_starts_the_load_and_answers_true_meanwhile() {
    let (store, _changes) = Faulty::new();
    let source = ReadThrough::builder(store.clone()).build().unwrap();
    assert!(source.is_configured("nothing"), "unknown yet: Vary");
    assert!(matches!(
        settled(&source, "/nothing/k").await,
        BucketPolicy::NotConfigured
    ));
    assert!(!source.is_configured("nothing"));
    assert_eq!(store.gets(), 1);
}

#[cfg(feature = "admin")]
#[tokio::test]
async fn the_admin_layer_writes_through_the_store() {
    use tower_s3_cors::admin::CorsAdminLayer;

    let (store, _changes) = Faulty::new();
    let source = ReadThrough::builder(store.clone()).build().unwrap();
    let service = || {
        S3CorsLayer::new(source.clone()).layer(
            CorsAdminLayer::new(source.clone())
                .require_content_md5(false)
                .layer(echo()),
        )
    };
    let put = |body: &str| support::request_with_body(Method::PUT, "/photos?cors", &[], body);

    let answer = support::send(service(), put(GET_PUT)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        matches!(store.memory.get("photos").await.unwrap(), Lookup::Found(text, _) if &*text == GET_PUT)
    );
    assert_eq!(
        methods(&source, "/photos/k").await.unwrap(),
        ["GET", "PUT"],
        "read-your-writes"
    );
    let answer = support::send(service(), request(Method::GET, "/photos?cors", &[])).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("<AllowedMethod>PUT</AllowedMethod>"));

    // A bad document: S3's error, the store untouched.
    let answer = support::send(service(), put(INVALID)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(support::error_of(&answer.body).0, "InvalidRequest");

    // The store is down: S3's 503, and nothing changes anywhere.
    store.state.fail.store(true, Ordering::SeqCst);
    for request in [
        put(GET_ONLY),
        request(Method::DELETE, "/photos?cors", &[]),
        request(Method::GET, "/photos?cors", &[]),
    ] {
        let answer = support::send(service(), request).await;
        assert_eq!(
            answer.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            answer.body
        );
        assert_eq!(support::error_of(&answer.body).0, "ServiceUnavailable");
    }
    assert_eq!(methods(&source, "/photos/k").await.unwrap(), ["GET", "PUT"]);
    store.state.fail.store(false, Ordering::SeqCst);
    assert!(
        matches!(store.memory.get("photos").await.unwrap(), Lookup::Found(text, _) if &*text == GET_PUT)
    );

    let answer = support::send(service(), request(Method::DELETE, "/photos?cors", &[])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(matches!(
        settled(&source, "/photos/k").await,
        BucketPolicy::NotConfigured
    ));
    let answer = support::send(service(), request(Method::GET, "/photos?cors", &[])).await;
    assert_eq!(support::error_of(&answer.body).0, "NoSuchCORSConfiguration");
}
