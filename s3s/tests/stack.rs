//! The whole stack in process: `S3CorsLayer` over `Buckets` located as s3s
//! locates them, in front of s3s's `S3Service` over `CorsS3` and a small
//! in-memory backend. (Real
//! HTTP, a real S3 client and a real browser are in the example's and the
//! browser suite's tests.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashSet;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use s3s::auth::SimpleAuth;
use s3s::dto::{
    CreateBucketInput, CreateBucketOutput, DeleteBucketInput, DeleteBucketOutput, GetObjectInput,
    GetObjectOutput, HeadBucketInput, HeadBucketOutput,
};
use s3s::host::SingleDomain;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Request, S3Response, S3Result, s3_error};
use tower::{Layer as _, ServiceExt as _};
use tower_s3_cors::S3CorsLayer;
use tower_s3_cors::source::Buckets;
use tower_s3_cors_s3s::{CorsS3, S3sAddressing};

/// Buckets without objects: every GET is `NoSuchKey`.
#[derive(Debug, Default)]
struct Backend {
    buckets: Mutex<HashSet<String>>,
}

impl Backend {
    fn with(names: &[&str]) -> Self {
        Self {
            buckets: Mutex::new(names.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn exists(&self, bucket: &str) -> bool {
        self.buckets.lock().unwrap().contains(bucket)
    }
}

#[async_trait::async_trait]
impl S3 for Backend {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        if !self.buckets.lock().unwrap().insert(req.input.bucket) {
            return Err(s3_error!(BucketAlreadyExists));
        }
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        if !self.buckets.lock().unwrap().remove(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if !self.exists(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if !self.exists(&req.input.bucket) {
            return Err(s3_error!(NoSuchBucket));
        }
        Err(s3_error!(NoSuchKey))
    }
}

const DOMAIN: &str = "s3.example.test";
const PAGE: &str = "https://app.example.com";

type Service = tower_s3_cors::S3Cors<s3s::service::S3Service, Buckets>;

struct Stack {
    buckets: Buckets,
    service: Service,
}

impl Stack {
    /// Bucket `photos` exists (in the backend and in the CORS map).
    fn new(authenticated: bool) -> Self {
        let addressing = S3sAddressing::virtual_hosted(SingleDomain::new(DOMAIN).unwrap());
        let buckets = Buckets::with_addressing(addressing.clone());
        buckets.create("photos");
        let mut builder =
            S3ServiceBuilder::new(CorsS3::new(Backend::with(&["photos"]), buckets.clone()));
        if authenticated {
            builder.set_auth(SimpleAuth::from_single("AKIAIOSFODNN7EXAMPLE", "secret"));
        }
        addressing.install(&mut builder);
        let service = S3CorsLayer::new(buckets.clone()).layer(builder.build());
        Self { buckets, service }
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, String) {
        let response: Response<_> = self.service.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

fn request(method: &str, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("host", DOMAIN)
}

fn empty(builder: http::request::Builder) -> Request<Full<Bytes>> {
    builder.body(Full::new(Bytes::new())).unwrap()
}

const RULES: &str = r#"<CORSConfiguration><CORSRule>
  <AllowedOrigin>https://app.example.com</AllowedOrigin>
  <AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
  <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>
  <MaxAgeSeconds>600</MaxAgeSeconds>
</CORSRule></CORSConfiguration>"#;

fn put_cors(uri: &str, document: &str) -> Request<Full<Bytes>> {
    request("PUT", uri)
        .header("content-md5", "ignored-but-present")
        .header("content-length", document.len())
        .body(Full::new(Bytes::from(document.to_owned())))
        .unwrap()
}

fn preflight(host: &str, uri: &str, origin: &str) -> Request<Full<Bytes>> {
    empty(
        Request::builder()
            .method("OPTIONS")
            .uri(uri)
            .header("host", host)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type"),
    )
}

#[tokio::test]
async fn put_get_delete_bucket_cors_and_the_layer_follows() {
    let stack = Stack::new(false);

    let (status, _, body) = stack.send(empty(request("GET", "/photos?cors"))).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("<Code>NoSuchCORSConfiguration</Code>"),
        "{body}"
    );
    assert!(
        body.contains("The CORS configuration does not exist"),
        "{body}"
    );

    let (status, _, body) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("CORS is not enabled for this bucket"),
        "{body}"
    );

    let (status, _, body) = stack.send(put_cors("/photos?cors", RULES)).await;
    assert_eq!(status, 200, "{body}");

    // The layer serves it at once, path-style and virtual-hosted alike.
    for (host, uri) in [
        (DOMAIN, "/photos/a.txt"),
        ("photos.s3.example.test", "/a.txt"),
    ] {
        let (status, headers, body) = stack.send(preflight(host, uri, PAGE)).await;
        assert_eq!(status, 200, "{host}{uri}: {body}");
        assert_eq!(headers["access-control-allow-origin"], PAGE);
        assert_eq!(headers["access-control-allow-methods"], "GET, PUT");
        assert_eq!(headers["access-control-allow-headers"], "content-type");
        assert_eq!(headers["access-control-max-age"], "600");
    }
    let (status, _, _) = stack
        .send(preflight(DOMAIN, "/photos/a.txt", "https://evil.example"))
        .await;
    assert_eq!(status, 403);

    // GetBucketCors returns what was put, as s3s serializes it.
    let (status, _, body) = stack.send(empty(request("GET", "/photos?cors"))).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("<AllowedOrigin>https://app.example.com</AllowedOrigin>"),
        "{body}"
    );
    assert!(
        body.contains("<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"),
        "{body}"
    );
    assert!(
        body.contains("<MaxAgeSeconds>600</MaxAgeSeconds>"),
        "{body}"
    );

    // s3s's own 404 carries the CORS headers of the matched rule.
    let (status, headers, body) = stack
        .send(empty(
            request("GET", "/photos/missing.txt").header("origin", PAGE),
        ))
        .await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
    assert_eq!(headers["access-control-allow-origin"], PAGE);
    assert_eq!(headers["access-control-expose-headers"], "ETag");

    let (status, _, _) = stack.send(empty(request("DELETE", "/photos?cors"))).await;
    assert_eq!(status, 204);
    let (status, _, _) = stack.send(empty(request("DELETE", "/photos?cors"))).await;
    assert_eq!(status, 204, "deleting nothing succeeds");
    let (status, _, body) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("CORS is not enabled for this bucket"),
        "{body}"
    );
}

#[tokio::test]
async fn bad_documents_get_s3_errors_and_change_nothing() {
    let stack = Stack::new(false);
    let (status, _, _) = stack.send(put_cors("/photos?cors", RULES)).await;
    assert_eq!(status, 200);

    let bad_method = RULES.replace(
        "<AllowedMethod>PUT</AllowedMethod>",
        "<AllowedMethod>MYMETHOD</AllowedMethod>",
    );
    let (status, _, body) = stack.send(put_cors("/photos?cors", &bad_method)).await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>InvalidRequest</Code>"), "{body}");
    assert!(
        body.contains("<Message>Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD</Message>"),
        "{body}"
    );

    let two_wildcards = RULES.replace("https://app.example.com", "https://*.*.example.com");
    let (status, _, body) = stack.send(put_cors("/photos?cors", &two_wildcards)).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("can not have more than one wildcard."),
        "{body}"
    );

    // MaxAgeSeconds is S3's xs:int: below 0 refused by the decorator, from
    // 2^31 up by s3s's parser; both MalformedXML, as S3 answers.
    for max_age in ["-1", "2147483648", "4294967295"] {
        let out_of_range = RULES.replace("600", max_age);
        let (status, _, body) = stack.send(put_cors("/photos?cors", &out_of_range)).await;
        assert_eq!(status, 400, "{max_age}: {body}");
        assert!(
            body.contains("<Code>MalformedXML</Code>"),
            "{max_age}: {body}"
        );
    }
    let largest = RULES.replace("600", "2147483647");
    let (status, _, body) = stack.send(put_cors("/photos?cors", &largest)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = stack.send(put_cors("/photos?cors", RULES)).await;
    assert_eq!(status, 200);

    // s3s refuses what it cannot parse, before the decorator.
    let (status, _, body) = stack
        .send(put_cors(
            "/photos?cors",
            "<CORSConfiguration><CORSRule><Nope/></CORSRule></CORSConfiguration>",
        ))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MalformedXML</Code>"), "{body}");

    let no_digest = request("PUT", "/photos?cors")
        .header("content-length", RULES.len())
        .body(Full::new(Bytes::from(RULES)))
        .unwrap();
    let (status, _, body) = stack.send(no_digest).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("Missing required header for this request: Content-MD5"),
        "{body}"
    );

    // The first configuration still serves.
    let (status, _, _) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
    assert_eq!(status, 200);
    let rules = stack.buckets.get("photos").unwrap().load().unwrap();
    assert_eq!(
        rules.configuration().rules[0].allowed_methods,
        ["GET", "PUT"]
    );
}

#[tokio::test]
async fn unknown_buckets_and_bucket_life() {
    let stack = Stack::new(false);
    let (status, _, body) = stack.send(put_cors("/nope?cors", RULES)).await;
    assert_eq!(status, 404);
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
    let (status, _, body) = stack.send(preflight(DOMAIN, "/nope/a.txt", PAGE)).await;
    assert_eq!(status, 403);
    assert!(body.contains("Bucket not found"), "{body}");

    // DeleteBucket takes the configuration with it.
    let (status, _, _) = stack.send(put_cors("/photos?cors", RULES)).await;
    assert_eq!(status, 200);
    let (status, _, _) = stack.send(empty(request("DELETE", "/photos"))).await;
    assert_eq!(status, 204);
    assert!(stack.buckets.get("photos").is_none());
    let (status, _, body) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
    assert_eq!(status, 403);
    assert!(body.contains("Bucket not found"), "{body}");

    // A new bucket starts without CORS and is known to the layer.
    let (status, _, _) = stack.send(empty(request("PUT", "/fresh"))).await;
    assert_eq!(status, 200);
    let (status, _, body) = stack.send(preflight(DOMAIN, "/fresh/a.txt", PAGE)).await;
    assert_eq!(status, 403);
    assert!(
        body.contains("CORS is not enabled for this bucket"),
        "{body}"
    );
}

#[tokio::test]
async fn with_authentication_preflights_pass_and_cors_writes_are_refused() {
    let stack = Stack::new(true);
    stack
        .buckets
        .get("photos")
        .unwrap()
        .put_document(RULES)
        .unwrap();

    // A preflight to a presigned URL is answered before s3s's signature check.
    let presigned = "/photos/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
        &X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
        &X-Amz-Signature=0000000000000000000000000000000000000000000000000000000000000000";
    let (status, headers, body) = stack.send(preflight(DOMAIN, presigned, PAGE)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["access-control-allow-origin"], PAGE);

    // The actual request with that URL is s3s's 403, with CORS headers.
    let (status, headers, body) = stack
        .send(empty(request("PUT", presigned).header("origin", PAGE)))
        .await;
    assert_eq!(status, 403, "{body}");
    // (Its date is long past: s3s refuses it as expired.)
    assert!(
        body.contains("<Code>AccessDenied</Code><Message>Request has expired</Message>"),
        "{body}"
    );
    assert_eq!(headers["access-control-allow-origin"], PAGE);

    // An unsigned PutBucketCors never reaches the store.
    let open = RULES.replace("https://app.example.com", "*");
    let (status, _, body) = stack.send(put_cors("/photos?cors", &open)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    let rules = stack.buckets.get("photos").unwrap().load().unwrap();
    assert_eq!(rules.configuration().rules[0].allowed_origins, [PAGE]);
}

/// The persistent pattern: a read-through cache over a store, bucket
/// existence asked of the backend itself.
mod read_through {
    use std::sync::Arc;

    use tower_s3_cors::source::ReadThrough;
    use tower_s3_cors::store::{CorsStore as _, Lookup, MemoryStore};
    use tower_s3_cors_s3s::BackendBuckets;

    use super::*;

    struct Persistent {
        backend: Arc<Backend>,
        store: MemoryStore,
        service: tower_s3_cors::S3Cors<s3s::service::S3Service, ReadThrough>,
    }

    impl Persistent {
        fn new() -> Self {
            let backend = Arc::new(Backend::with(&["photos"]));
            let store = MemoryStore::new();
            let addressing = S3sAddressing::virtual_hosted(SingleDomain::new(DOMAIN).unwrap());
            let cors = ReadThrough::builder(store.clone())
                .addressing(addressing.clone())
                .bucket_exists(BackendBuckets::new(Arc::clone(&backend)))
                .build()
                .unwrap();
            let mut builder =
                S3ServiceBuilder::new(CorsS3::from_arc(Arc::clone(&backend), cors.clone()));
            addressing.install(&mut builder);
            let service = S3CorsLayer::new(cors).layer(builder.build());
            Self {
                backend,
                store,
                service,
            }
        }

        async fn send(&self, request: Request<Full<Bytes>>) -> (StatusCode, String) {
            let response: Response<_> = self.service.clone().oneshot(request).await.unwrap();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.unwrap().to_bytes();
            (parts.status, String::from_utf8_lossy(&body).into_owned())
        }
    }

    #[tokio::test]
    async fn delete_bucket_answers_as_s3_and_takes_the_cors_with_it_at_once() {
        let stack = Persistent::new();
        let (status, body) = stack.send(put_cors("/photos?cors", RULES)).await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
        assert_eq!(status, 200);

        let (status, body) = stack.send(empty(request("DELETE", "/photos"))).await;
        assert_eq!(status, 204, "DeleteBucket answers as S3 does: {body}");
        assert!(matches!(
            stack.store.get("photos").await.unwrap(),
            Lookup::NotFound(_)
        ));
        let (status, body) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
        assert_eq!(status, 403);
        assert!(body.contains("Bucket not found"), "{body}");

        // Created again: no CORS, whatever the old bucket had.
        let (status, _) = stack.send(empty(request("PUT", "/photos"))).await;
        assert_eq!(status, 200);
        let (status, body) = stack.send(preflight(DOMAIN, "/photos/a.txt", PAGE)).await;
        assert_eq!(status, 403);
        assert!(body.contains("CORS is not enabled"), "{body}");
    }

    #[tokio::test]
    async fn a_bucket_the_backend_made_by_another_path_has_cors_operations_at_once() {
        let stack = Persistent::new();
        let (status, body) = stack.send(put_cors("/late?cors", RULES)).await;
        assert_eq!(status, 404);
        assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");

        // Made behind s3s's back (an implicit create, a directory by hand).
        stack
            .backend
            .buckets
            .lock()
            .unwrap()
            .insert("late".to_owned());
        let (status, body) = stack.send(put_cors("/late?cors", RULES)).await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = stack.send(preflight(DOMAIN, "/late/a.txt", PAGE)).await;
        assert_eq!(status, 200, "written through: served at once");
    }
}
