//! The `?cors` sub-resource (feature `admin`): `PutBucketCors`,
//! `GetBucketCors` and `DeleteBucketCors` as S3 answers them (`docs/s3-behaviour.md`, §6).

#![cfg(feature = "admin")]

use std::convert::Infallible;

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use md5::{Digest, Md5};
use tower::{Layer, ServiceExt, service_fn};
use tower_s3_cors::admin::CorsAdminLayer;
use tower_s3_cors::source::{BucketError, Buckets, Locate as _};
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

use crate::support::{self, Body};

const GOOD: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>\
                    <AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>";

fn md5_of(body: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(body.as_bytes()))
}

/// Sends a request through the CORS layer and the admin layer over
/// `buckets`, in front of the echo service.
async fn send(
    buckets: &Buckets,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, http::HeaderMap, String) {
    let service = S3CorsLayer::new(buckets.clone())
        .layer(CorsAdminLayer::new(buckets.clone()).layer(support::echo()));
    let answer = support::send(
        service,
        support::request_with_body(method, uri, headers, body),
    )
    .await;
    (answer.status, answer.headers, answer.body)
}

/// `PUT /photos?cors` with `document` and its `Content-MD5`.
async fn put_cors(buckets: &Buckets, document: &str) -> (StatusCode, http::HeaderMap, String) {
    send(
        buckets,
        Method::PUT,
        "/photos?cors",
        &[("content-md5", &md5_of(document))],
        document,
    )
    .await
}

/// `layer` around an inner service that answers 200 with an empty body.
fn admin_over_empty(
    layer: CorsAdminLayer<SharedPolicy>,
) -> impl tower::Service<
    Request<Body>,
    Response = Response<tower_s3_cors::body::ResponseBody<Body>>,
    Error = Infallible,
> + Clone {
    layer.layer(service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }))
}

fn buckets() -> Buckets {
    let buckets = Buckets::path_style();
    buckets.create("photos");
    buckets
}

#[tokio::test]
async fn put_with_a_matching_content_md5_stores_the_document() {
    let buckets = buckets();
    let (status, _, body) = put_cors(&buckets, GOOD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.is_empty());
    assert!(buckets.get("photos").unwrap().is_configured());
}

#[tokio::test]
async fn put_without_content_md5_or_checksum_is_refused() {
    let buckets = buckets();
    let (status, _, body) = send(&buckets, Method::PUT, "/photos?cors", &[], GOOD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        support::error_of(&body),
        (
            "InvalidRequest",
            "Missing required header for this request: Content-MD5"
        )
    );
    assert!(!buckets.get("photos").unwrap().is_configured());
}

#[tokio::test]
async fn content_md5_can_be_made_optional_but_is_still_checked_when_sent() {
    let cors = SharedPolicy::empty();
    let service = admin_over_empty(CorsAdminLayer::new(cors.clone()).require_content_md5(false));
    let put = |md5: Option<&str>| {
        let mut request = Request::put("/?cors");
        if let Some(md5) = md5 {
            request = request.header("content-md5", md5);
        }
        request.body(Full::new(Bytes::from(GOOD))).unwrap()
    };
    let response = service
        .clone()
        .oneshot(put(Some(&md5_of("x"))))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!cors.is_configured());
    let response = service.oneshot(put(None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(cors.is_configured());
}

#[tokio::test]
async fn put_with_a_checksum_header_instead_of_content_md5_is_accepted() {
    let buckets = buckets();
    let (status, _, body) = send(
        &buckets,
        Method::PUT,
        "/photos/?cors",
        // SHA-256 of GOOD, base64 (computed with Python's hashlib).
        &[(
            "x-amz-checksum-sha256",
            "kx5nEL//97SZx+gPZlo27R9YLx/91wzOzpPz+sxI4WI=",
        )],
        GOOD,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn put_with_a_wrong_content_md5_is_bad_digest() {
    let buckets = buckets();
    let (status, _, body) = send(
        &buckets,
        Method::PUT,
        "/photos?cors",
        &[("content-md5", &md5_of("other"))],
        GOOD,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        support::error_of(&body),
        (
            "BadDigest",
            "The Content-MD5 you specified did not match what we received."
        )
    );
    let (_, _, body) = send(
        &buckets,
        Method::PUT,
        "/photos?cors",
        &[("content-md5", "not base64!")],
        GOOD,
    )
    .await;
    assert_eq!(support::error_of(&body).0, "InvalidDigest");
}

#[tokio::test]
async fn a_bad_document_gets_s3_s_error_and_keeps_the_old_policy() {
    let buckets = buckets();
    buckets.get("photos").unwrap().put_document(GOOD).unwrap();
    let bad = GOOD.replace("GET", "PATCH");
    let (status, _, body) = put_cors(&buckets, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        support::error_of(&body),
        (
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH"
        )
    );
    let policy = buckets.get("photos").unwrap().load().unwrap();
    assert_eq!(policy.configuration().rules[0].allowed_methods, ["GET"]);
}

#[tokio::test]
async fn a_document_over_64_kib_is_refused_before_parsing() {
    let buckets = buckets();
    let big = format!("{GOOD}{}", " ".repeat(64 * 1024));
    let (status, _, body) = put_cors(&buckets, &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        support::error_of(&body),
        (
            "MalformedXML",
            "The CORS XML document is limited to 64 KB in size."
        )
    );
}

#[tokio::test]
async fn get_returns_the_document_or_no_such_cors_configuration() {
    let buckets = buckets();
    let (status, headers, body) = send(&buckets, Method::GET, "/photos?cors", &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/xml");
    assert_eq!(
        body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchCORSConfiguration</Code>\
         <Message>The CORS configuration does not exist</Message><BucketName>photos</BucketName></Error>"
    );

    buckets.get("photos").unwrap().put_document(GOOD).unwrap();
    let (status, _, body) = send(&buckets, Method::GET, "/photos?cors", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#)
    );
    assert!(body.contains("<AllowedMethod>GET</AllowedMethod>"));
}

#[tokio::test]
async fn delete_answers_204_whether_or_not_a_configuration_exists() {
    let buckets = buckets();
    buckets.get("photos").unwrap().put_document(GOOD).unwrap();
    for _ in 0..2 {
        let (status, _, body) = send(&buckets, Method::DELETE, "/photos?cors", &[], "").await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(body.is_empty());
        assert!(!buckets.get("photos").unwrap().is_configured());
    }
}

#[tokio::test]
async fn other_requests_reach_the_inner_service() {
    let buckets = buckets();
    for uri in [
        "/photos",
        "/photos/cat.jpg?cors",
        "/nope/cat.jpg?cors",
        "/photos?corsx",
        "/photos?acl",
    ] {
        let (status, _, body) = send(&buckets, Method::GET, uri, &[], "").await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(body.starts_with("GET"), "{uri}: {body}");
    }
    // `?cors` of a bucket that does not exist is answered as S3 does.
    for method in [Method::GET, Method::DELETE] {
        let (status, _, body) = send(&buckets, method.clone(), "/nope?cors", &[], GOOD).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(support::error_of(&body).0, "NoSuchBucket");
        assert!(body.contains("<BucketName>nope</BucketName>"), "{body}");
    }
    let (status, _, body) = send(&buckets, Method::POST, "/photos?cors", &[], "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(support::error_of(&body).0, "MethodNotAllowed");
}

#[tokio::test]
async fn a_stored_document_takes_effect_on_the_next_request() {
    let buckets = buckets();
    let preflight = [
        ("origin", "https://x.example"),
        ("access-control-request-method", "GET"),
    ];
    let (status, _, _) = send(&buckets, Method::OPTIONS, "/photos/a", &preflight, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    put_cors(&buckets, GOOD).await;
    let (status, headers, _) = send(&buckets, Method::OPTIONS, "/photos/a", &preflight, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn successful_answers_carry_the_request_ids() {
    let cors = SharedPolicy::empty();
    let service = admin_over_empty(CorsAdminLayer::new(cors.clone()));
    for (method, body, status) in [
        (Method::PUT, GOOD, StatusCode::OK),
        (Method::GET, "", StatusCode::OK),
        (Method::DELETE, "", StatusCode::NO_CONTENT),
    ] {
        let mut request = Request::builder()
            .method(method.clone())
            .uri("/?cors")
            .header("content-md5", md5_of(body))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        request
            .extensions_mut()
            .insert(tower_s3_cors::s3::AmzRequestIds::new("R1", "H1"));
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{method}");
        assert_eq!(response.headers()["x-amz-request-id"], "R1", "{method}");
        assert_eq!(response.headers()["x-amz-id-2"], "H1", "{method}");
    }
}

#[tokio::test]
async fn a_single_shared_policy_is_administered_at_the_root() {
    let cors = SharedPolicy::empty();
    let service = admin_over_empty(CorsAdminLayer::new(cors.clone()));
    let request = Request::put("/?cors")
        .header("content-md5", md5_of(GOOD))
        .body(Full::new(Bytes::from(GOOD)))
        .unwrap();
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
    assert!(cors.is_configured());
}

/// A `BucketCors` of a test's own: documents kept as text in a map, one
/// bucket that is always down, the calls written down.
#[derive(Clone, Default)]
struct Journal {
    documents: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
    calls: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl tower_s3_cors::source::BucketCors for Journal {
    fn locate<'a>(
        &self,
        request: &tower_s3_cors::source::RequestHead<'a>,
    ) -> Option<tower_s3_cors::source::Located<'a>> {
        tower_s3_cors::source::Addressing::path_style().locate(request)
    }

    fn resolve(&self, _bucket: &str) -> tower_s3_cors::source::Resolution {
        tower_s3_cors::source::Resolution::Ready(tower_s3_cors::source::BucketPolicy::NotConfigured)
    }

    async fn get_document(
        &self,
        bucket: &str,
    ) -> Result<Option<tower_s3_cors::config::CorsConfiguration>, BucketError> {
        self.calls.lock().unwrap().push(format!("get {bucket}"));
        if bucket == "down" {
            return Err(BucketError::unavailable("the journal is closed"));
        }
        let documents = self.documents.lock().unwrap();
        documents
            .get(bucket)
            .map(|text| tower_s3_cors::config::CorsConfiguration::from_document(text))
            .transpose()
            .map_err(BucketError::invalid_document)
    }

    async fn put_document(&self, bucket: &str, document: &str) -> Result<(), BucketError> {
        self.calls.lock().unwrap().push(format!("put {bucket}"));
        let _valid = tower_s3_cors::Policy::from_document(document)?;
        self.documents
            .lock()
            .unwrap()
            .insert(bucket.to_owned(), document.to_owned());
        Ok(())
    }

    async fn delete_document(&self, bucket: &str) -> Result<(), BucketError> {
        self.calls.lock().unwrap().push(format!("delete {bucket}"));
        self.documents.lock().unwrap().remove(bucket);
        Ok(())
    }
}

/// The admin layer is open to any source: a custom one gets the three
/// operations, and its errors become S3's answers.
#[tokio::test]
async fn a_custom_source_is_driven_through_the_admin_layer() {
    let journal = Journal::default();
    let service = CorsAdminLayer::new(journal.clone()).layer(support::echo());
    let send = |method: Method, uri: &str, body: &str| {
        let headers = [("content-md5", md5_of(body))];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let request = support::request_with_body(method, uri, &headers, body);
        let service = service.clone();
        async move { support::send(service, request).await }
    };
    let put = send(Method::PUT, "/photos?cors", GOOD).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let get = send(Method::GET, "/photos?cors", "").await;
    assert_eq!(get.status, StatusCode::OK);
    assert!(
        get.body.contains("<AllowedOrigin>*</AllowedOrigin>"),
        "{}",
        get.body
    );
    let refused = send(
        Method::PUT,
        "/photos?cors",
        r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#,
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(support::error_of(&refused.body).0, "InvalidRequest");
    let down = send(Method::GET, "/down?cors", "").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(support::error_of(&down.body).0, "ServiceUnavailable");
    let delete = send(Method::DELETE, "/photos?cors", "").await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    let missing = send(Method::GET, "/photos?cors", "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("<BucketName>photos</BucketName>"),
        "{}",
        missing.body
    );
    assert_eq!(
        *journal.calls.lock().unwrap(),
        [
            "put photos",
            "get photos",
            "put photos",
            "get down",
            "delete photos",
            "get photos"
        ]
    );
}
