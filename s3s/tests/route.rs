//! `CorsRoute` in process: s3s's service (no authentication: requests have
//! no credentials) with the route, over a backend that knows bucket
//! `photos`. What it answers for signed requests, wrongly signed and
//! unsigned ones, with boto3, is in the s3s example's tests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Extensions, HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use s3s::access::S3Access;
use s3s::dto::{GetBucketCorsInput, HeadBucketInput, HeadBucketOutput, PutBucketCorsInput};
use s3s::route::S3Route;
use s3s::service::S3ServiceBuilder;
use s3s::{Body, S3, S3Request, S3Response, S3Result, s3_error};
use tower::ServiceExt as _;
use tower_s3_cors::source::Buckets;
use tower_s3_cors_s3s::{CorsRoute, CorsS3};

/// Knows bucket `photos` and no other.
#[derive(Debug)]
struct Backend;

#[async_trait::async_trait]
impl S3 for Backend {
    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if req.input.bucket != "photos" {
            return Err(s3_error!(NoSuchBucket));
        }
        Ok(S3Response::new(HeadBucketOutput::default()))
    }
}

/// `GET /health`, answered `OK` to anyone.
struct Health;

#[async_trait::async_trait]
impl S3Route for Health {
    fn is_match(&self, method: &Method, uri: &Uri, _: &HeaderMap, _: &mut Extensions) -> bool {
        method == Method::GET && uri.path() == "/health"
    }

    async fn check_access(&self, _req: &mut S3Request<Body>) -> S3Result<()> {
        Ok(())
    }

    async fn call(&self, _req: S3Request<Body>) -> S3Result<S3Response<Body>> {
        Ok(S3Response::new(Body::from("OK".to_owned())))
    }
}

/// Denies writes to `locked`'s CORS; counts the reads it lets through.
#[derive(Clone, Default)]
struct Policy {
    reads: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl S3Access for Policy {
    async fn put_bucket_cors(&self, req: &mut S3Request<PutBucketCorsInput>) -> S3Result<()> {
        if req.input.bucket == "locked" {
            return Err(s3_error!(AccessDenied, "locked by policy"));
        }
        Ok(())
    }

    async fn get_bucket_cors(&self, req: &mut S3Request<GetBucketCorsInput>) -> S3Result<()> {
        assert_eq!(req.input.bucket, "photos");
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn service(route: CorsRoute<Buckets>, buckets: &Buckets) -> s3s::service::S3Service {
    let mut builder = S3ServiceBuilder::new(CorsS3::new(Backend, buckets.clone()));
    builder.set_route(route);
    builder.build()
}

fn buckets() -> Buckets {
    let buckets = Buckets::path_style();
    buckets.create("photos");
    buckets.create("locked");
    buckets
}

const DOCUMENT: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

/// The `Content-MD5` of `body`.
fn content_md5(body: &str) -> String {
    use base64::Engine as _;
    use md5::Digest as _;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body.as_bytes()))
}

async fn send(
    service: &s3s::service::S3Service,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        request = request
            .header("content-md5", content_md5(body))
            .header("content-length", body.len());
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn the_digest_is_the_documents() {
    assert_eq!(content_md5(DOCUMENT), "8alqrbXMPQqTnk2/Sr7qJw==");
}

#[tokio::test]
async fn requests_without_credentials_are_refused_unless_anonymous() {
    let buckets = buckets();
    let strict = service(CorsRoute::new(buckets.clone()), &buckets);
    let (status, body) = send(&strict, "PUT", "/photos?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(!buckets.get("photos").unwrap().is_configured());

    let open = service(CorsRoute::new(buckets.clone()).anonymous(true), &buckets);
    let (status, body) = send(&open, "PUT", "/photos?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(buckets.get("photos").unwrap().is_configured());
}

#[tokio::test]
async fn the_core_reader_decides_not_s3s_parser() {
    let buckets = buckets();
    let service = service(CorsRoute::new(buckets.clone()).anonymous(true), &buckets);
    for document in [
        "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Colour>red</Colour></CORSRule></CORSConfiguration>",
        "<CORSConfiguration xmlns=\"urn:other\"><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
    ] {
        let (status, body) = send(&service, "PUT", "/photos?cors", document).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("<Code>MalformedXML</Code>"), "{body}");
        assert!(!buckets.get("photos").unwrap().is_configured());
    }
    let (status, body) = send(&service, "GET", "/photos?cors", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("<BucketName>photos</BucketName>"),
        "S3 names the bucket: {body}"
    );
    let (status, body) = send(&service, "PUT", "/photos/cat.jpg?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (status, body) = send(&service, "DELETE", "/nope?cors", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("<Code>NoSuchBucket</Code>"), "{body}");
}

#[tokio::test]
async fn the_integrators_access_hooks_decide() {
    let buckets = buckets();
    let policy = Policy::default();
    let route = CorsRoute::new(buckets.clone())
        .anonymous(true)
        .access(policy.clone());
    let service = service(route, &buckets);
    let (status, body) = send(&service, "PUT", "/locked?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("locked by policy"), "{body}");
    assert!(!buckets.get("locked").unwrap().is_configured());
    let (status, body) = send(&service, "PUT", "/photos?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = send(&service, "GET", "/photos?cors", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy.reads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn another_route_is_chained_behind() {
    let buckets = buckets();
    let route = CorsRoute::new(buckets.clone()).anonymous(true).or(Health);
    let service = service(route, &buckets);
    assert_eq!(
        send(&service, "GET", "/health", "").await,
        (StatusCode::OK, "OK".to_owned())
    );
    let (status, body) = send(&service, "PUT", "/photos?cors", DOCUMENT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
