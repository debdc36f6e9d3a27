//! Shadow policies through the bucket model: set, replace, read and clear
//! on each of the crate's sources and on a source of one's own; a bad
//! shadow refused with its `ConfigError`, never touching the live policy;
//! the layer's answers unchanged by a shadow.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use http::Method;
use tower::ServiceExt as _;
use tower_s3_cors::source::{
    BucketCors, BucketError, BucketPolicy, Buckets, Located, RequestHead, Resolution,
};
use tower_s3_cors::{Policy, S3CorsLayer, SharedPolicy};

use crate::support::{echo, request, settled};

const LIVE: &str = r#"[{"AllowedOrigins":["*"],"AllowedMethods":["GET"]}]"#;
const CANDIDATE: &str =
    r#"[{"AllowedOrigins":["https://app.example"],"AllowedMethods":["GET","PUT"]}]"#;
const NEXT: &str = r#"[{"AllowedOrigins":["https://next.example"],"AllowedMethods":["PUT"]}]"#;
/// Whether this build observes shadows (features `metrics`, `tracing`).
const OBSERVED: bool = cfg!(any(feature = "metrics", feature = "tracing"));
const BAD: &str = r#"[{"AllowedOrigins":["*"],"AllowedMethods":["PATCH"]}]"#;

/// The first allowed origin of a policy's first rule.
fn first_origin(policy: &Policy) -> String {
    policy.configuration().rules[0].allowed_origins[0].clone()
}

/// What the live policy of `bucket` allows, once loaded.
async fn live_origin(source: &impl BucketCors, bucket: &str) -> Option<String> {
    match settled(source, bucket).await {
        BucketPolicy::Configured(policy) => Some(first_origin(&policy)),
        _ => None,
    }
}

/// The shadow verbs on `source`'s `bucket` (whose live policy is [`LIVE`]):
/// set, replace, refuse a bad one, read, resolve, clear.
async fn the_shadow_verbs_work_and_never_touch_the_live_policy(
    source: &impl BucketCors,
    bucket: &str,
) {
    assert!(source.shadow(bucket).is_none());
    source.put_shadow_document(bucket, CANDIDATE).unwrap();
    assert_eq!(
        source.shadow(bucket).map(|p| first_origin(&p)).as_deref(),
        Some("https://app.example")
    );
    assert_eq!(live_origin(source, bucket).await.as_deref(), Some("*"));

    let refused = source.put_shadow_document(bucket, BAD).unwrap_err();
    assert!(refused.is_document(), "{refused}");
    assert_eq!(refused.s3_code(), "InvalidRequest");
    assert_eq!(
        refused.config_error().map(|e| e.s3_code()),
        Some("InvalidRequest")
    );
    assert_eq!(
        source.shadow(bucket).map(|p| first_origin(&p)).as_deref(),
        Some("https://app.example"),
        "a bad shadow leaves the shadow"
    );
    assert_eq!(live_origin(source, bucket).await.as_deref(), Some("*"));

    source.put_shadow_document(bucket, NEXT).unwrap();
    assert_eq!(
        source.shadow(bucket).map(|p| first_origin(&p)).as_deref(),
        Some("https://next.example"),
        "replaced"
    );
    // Answered beside the live policy when something observes shadows.
    match source.resolve(bucket) {
        Resolution::Shadowed(BucketPolicy::Configured(live), shadow) if OBSERVED => {
            assert_eq!(first_origin(&live), "*");
            assert_eq!(first_origin(&shadow), "https://next.example");
        }
        Resolution::Ready(BucketPolicy::Configured(live)) if !OBSERVED => {
            assert_eq!(first_origin(&live), "*");
        }
        other => panic!("{other:?}"),
    }

    source.delete_shadow(bucket).unwrap();
    assert!(source.shadow(bucket).is_none());
    assert!(matches!(
        source.resolve(bucket),
        Resolution::Ready(BucketPolicy::Configured(_))
    ));
    source.delete_shadow(bucket).unwrap();
}

#[tokio::test]
async fn shared_policy_keeps_a_shadow_beside_its_policy() {
    let cors = SharedPolicy::from_document(LIVE).unwrap();
    the_shadow_verbs_work_and_never_touch_the_live_policy(&cors, "").await;

    // The inherent, one-bucket forms.
    let candidate = Policy::from_document(CANDIDATE).unwrap();
    assert!(cors.put_shadow(candidate).is_none());
    assert!(cors.put_shadow_document(BAD).is_err());
    assert_eq!(
        cors.shadow().map(|p| first_origin(&p)).as_deref(),
        Some("https://app.example")
    );
    assert!(cors.delete_shadow().is_some());
    assert!(cors.delete_shadow().is_none());
}

#[tokio::test]
async fn buckets_keep_a_shadow_per_bucket_and_refuse_one_for_an_unknown_bucket() {
    let buckets = Buckets::path_style();
    buckets.create("photos").put_document(LIVE).unwrap();
    buckets.create("plain");
    the_shadow_verbs_work_and_never_touch_the_live_policy(&buckets, "Photos").await;

    let error = buckets
        .put_shadow_document("nosuch", CANDIDATE)
        .unwrap_err();
    assert!(error.is_no_such_bucket(), "{error}");
    assert!(
        buckets
            .delete_shadow("nosuch")
            .unwrap_err()
            .is_no_such_bucket()
    );

    // A bucket without CORS may have a shadow: its resolution says "not
    // configured", with the shadow beside it.
    buckets.put_shadow_document("plain", CANDIDATE).unwrap();
    let resolved = buckets.resolve("plain");
    if OBSERVED {
        assert!(
            matches!(
                resolved,
                Resolution::Shadowed(BucketPolicy::NotConfigured, _)
            ),
            "{resolved:?}"
        );
    }
    // A bucket made anew has none.
    buckets.bucket_created("plain").await.unwrap();
    assert!(buckets.shadow("plain").is_none());
}

#[cfg(feature = "store")]
mod read_through {
    use super::*;
    use tower_s3_cors::source::ReadThrough;
    use tower_s3_cors::store::{CorsStore as _, MemoryStore};

    #[tokio::test]
    async fn read_through_keeps_shadows_in_memory_beside_its_cache() {
        let store = MemoryStore::new();
        store.put("photos", LIVE).await.unwrap();
        store.put("videos", LIVE).await.unwrap();
        let cors = ReadThrough::builder(store.clone())
            .capacity(1)
            .build()
            .unwrap();
        the_shadow_verbs_work_and_never_touch_the_live_policy(&cors, "photos").await;
        assert!(store.get("photos").await.unwrap().text().is_some());

        // Set before its bucket is cached: nothing is loaded, and the
        // load, when it comes, finds it.
        cors.invalidate("videos");
        cors.put_shadow_document("videos", NEXT).unwrap();
        assert_eq!(live_origin(&cors, "videos").await.as_deref(), Some("*"));
        if OBSERVED {
            assert!(matches!(
                cors.resolve("videos"),
                Resolution::Shadowed(BucketPolicy::Configured(_), _)
            ));
        }

        // Survives the eviction of its bucket (capacity 1: loading videos
        // evicted photos).
        cors.put_shadow_document("photos", CANDIDATE).unwrap();
        assert_eq!(cors.len(), 1);
        assert!(cors.shadow("photos").is_some());
        let Resolution::Pending(pending) = cors.resolve("photos") else {
            panic!("evicted, so loaded again");
        };
        assert!(matches!(pending.await, BucketPolicy::Configured(_)));
        if OBSERVED {
            assert!(matches!(
                cors.resolve("photos"),
                Resolution::Shadowed(BucketPolicy::Configured(_), _)
            ));
        }

        // Any bucket name is taken (the store says later whether it
        // exists); deleting the bucket takes the shadow with it.
        cors.put_shadow_document("later", CANDIDATE).unwrap();
        cors.bucket_deleted("later").await.unwrap();
        assert!(cors.shadow("later").is_none());
        // Never written to the store.
        assert!(store.get("later").await.unwrap().text().is_none());
    }
}

/// A source of one's own that keeps shadows, driven through the trait.
#[derive(Clone, Default)]
struct Tenants {
    live: SharedPolicy,
    shadows: Arc<Mutex<HashMap<String, Policy>>>,
}

impl BucketCors for Tenants {
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        let path = request.uri().path().trim_start_matches('/');
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        Some(Located::new(bucket, key))
    }

    fn resolve(&self, bucket: &str) -> Resolution {
        let live = match self.live.load() {
            Some(policy) => BucketPolicy::Configured(policy),
            None => BucketPolicy::NotConfigured,
        };
        match self.shadows.lock().unwrap().get(bucket) {
            Some(shadow) => Resolution::Shadowed(live, shadow.clone()),
            None => Resolution::Ready(live),
        }
    }

    fn put_shadow_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        let policy = Policy::from_document(document).map_err(BucketError::document)?;
        self.shadows
            .lock()
            .unwrap()
            .insert(bucket.to_owned(), policy);
        Ok(())
    }

    fn delete_shadow(&self, bucket: &str) -> Result<(), BucketError> {
        self.shadows.lock().unwrap().remove(bucket);
        Ok(())
    }

    fn shadow(&self, bucket: &str) -> Option<Policy> {
        self.shadows.lock().unwrap().get(bucket).cloned()
    }
}

#[tokio::test]
async fn a_source_of_ones_own_answers_shadows_and_the_layer_answers_with_the_live_policy() {
    let tenants = Tenants::default();
    tenants.live.put_document(LIVE).unwrap();
    tenants.put_shadow_document("a", CANDIDATE).unwrap();
    assert!(
        tenants
            .put_shadow_document("a", BAD)
            .unwrap_err()
            .is_document()
    );

    let shadowed = S3CorsLayer::new(tenants.clone());
    let plain = S3CorsLayer::new(tenants.live.clone());
    for (method, headers) in [
        (
            Method::OPTIONS,
            &[
                ("origin", "https://other.example"),
                ("access-control-request-method", "GET"),
            ][..],
        ),
        (
            Method::OPTIONS,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PUT"),
            ],
        ),
        (Method::GET, &[("origin", "https://other.example")]),
        (Method::PUT, &[("origin", "https://app.example")]),
        (Method::GET, &[]),
    ] {
        let with_shadow = tower::Layer::layer(&shadowed, echo())
            .oneshot(request(method.clone(), "/a/key", headers))
            .await
            .unwrap();
        let without = tower::Layer::layer(&plain, echo())
            .oneshot(request(method.clone(), "/key", headers))
            .await
            .unwrap();
        assert_eq!(
            with_shadow.status(),
            without.status(),
            "{method} {headers:?}"
        );
        assert_eq!(
            with_shadow.headers(),
            without.headers(),
            "{method} {headers:?}"
        );
    }
}

/// The provided methods keep no shadow.
#[derive(Clone)]
struct ReadOnly;

impl BucketCors for ReadOnly {
    fn locate<'a>(&self, _: &RequestHead<'a>) -> Option<Located<'a>> {
        None
    }
    fn resolve(&self, _: &str) -> Resolution {
        Resolution::Ready(BucketPolicy::NotConfigured)
    }
}

#[test]
fn a_source_without_shadows_refuses_them_as_read_only() {
    assert!(
        ReadOnly
            .put_shadow_document("a", LIVE)
            .unwrap_err()
            .is_read_only()
    );
    assert!(ReadOnly.delete_shadow("a").unwrap_err().is_read_only());
    assert!(ReadOnly.shadow("a").is_none());
    let fixed = Policy::from_document(LIVE).unwrap();
    assert!(
        fixed
            .put_shadow_document("", CANDIDATE)
            .unwrap_err()
            .is_read_only()
    );
}
