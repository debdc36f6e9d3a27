//! The service stack: request IDs, then the S3 CORS layer, then the
//! library's `?cors` sub-resource, then an in-memory object store that
//! answers like S3 (objects, listings).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use md5::{Digest as _, Md5};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt as _, service_fn};
use tower_s3_cors::S3CorsLayer;
use tower_s3_cors::admin::CorsAdminLayer;
use tower_s3_cors::body::ResponseBody;
use tower_s3_cors::s3::AmzRequestIds;
use tower_s3_cors::source::{BucketCors, Buckets, RequestHead};

use crate::config::Config;
use crate::xml::{self, Listed, S3Error};

/// The error type request bodies may have (hyper's `Incoming`, `Full`, …).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The responses of the service [`app`] builds: the store's body, wrapped
/// once by [`CorsAdminLayer`] (its own `?cors` answers) and once by
/// [`S3CorsLayer`] (its own preflight answers).
pub type AppResponse = Response<ResponseBody<ResponseBody<Full<Bytes>>>>;

static X_AMZ_REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
static X_AMZ_ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");
static CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");

/// Builds the whole tower stack of the bucket server, from the outside in:
///
/// 1. `map_request`: gives each request S3-style IDs ([`AmzRequestIds`] in
///    its extensions), which both the layer's and the store's error bodies
///    echo as `<RequestId>`/`<HostId>` (and the store as `x-amz-request-id`
///    / `x-amz-id-2` headers);
/// 2. [`S3CorsLayer`] over the config's [`Buckets`]: answers every `OPTIONS`
///    request itself and adds CORS headers to the other answers;
/// 3. a step that puts the request IDs in the `x-amz-request-id` /
///    `x-amz-id-2` headers of every answer below;
/// 4. [`CorsAdminLayer`] over the same [`Buckets`]: answers S3's `?cors`
///    sub-resource (`PUT`/`GET`/`DELETE /{bucket}?cors`) with S3's exact
///    errors, changing the policy the CORS layer serves on the next request.
///    Configured with `require_content_md5(false)`: a `PUT` without
///    `Content-MD5` is accepted (S3 would refuse it), one that is sent is
///    still checked;
/// 5. the in-memory object store.
///
/// The service is `Clone`, cheap to clone, and shares its objects and
/// buckets between clones. It works with any request body (hyper's
/// `Incoming` when served, `Full<Bytes>` in tests).
///
/// ```
/// use bytes::Bytes;
/// use http::Request;
/// use http_body_util::Full;
/// use tower::ServiceExt as _;
/// use example_bucket_server::{Config, app};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let service = app::<Full<Bytes>>(&Config::demo());
/// let preflight = Request::options("/demo/hello.txt")
///     .header("origin", "http://www.example1.com")
///     .header("access-control-request-method", "PUT")
///     .body(Full::default())
///     .unwrap();
/// let response = service.oneshot(preflight).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers()["access-control-allow-origin"], "http://www.example1.com");
/// assert_eq!(response.headers()["access-control-allow-methods"], "PUT, POST, DELETE");
/// # });
/// ```
#[must_use]
pub fn app<B>(config: &Config) -> AppService<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    match &config.store {
        None => stack(config, config.buckets.clone()),
        Some(store) => stack(config, store.clone()),
    }
}

/// The service [`app`] builds: the same stack over the in-memory
/// [`Buckets`] or over a store, boxed.
pub type AppService<B> = BoxCloneSyncService<Request<B>, AppResponse, Infallible>;

/// The stack of [`app`], with CORS from `source`.
fn stack<B, P>(config: &Config, source: P) -> AppService<B>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    P: BucketCors,
{
    let store = Store::new(config);
    let service = ServiceBuilder::new()
        .map_request(assign_request_ids::<B>)
        .layer(S3CorsLayer::new(source.clone()).vary_mode(config.vary_mode))
        .layer_fn(with_id_headers)
        .layer(
            CorsAdminLayer::new(source)
                .require_content_md5(false)
                .body_timeout(config.cors_body_timeout),
        )
        .service_fn(move |request: Request<B>| {
            let store = store.clone();
            async move { Ok::<_, Infallible>(store.handle(request).await) }
        });
    BoxCloneSyncService::new(service)
}

/// Wraps `inner` so that its answers carry the request's [`AmzRequestIds`]
/// as `x-amz-request-id` and `x-amz-id-2` headers, as S3's do.
fn with_id_headers<S, B, ResBody>(
    inner: S,
) -> impl Service<Request<B>, Response = Response<ResBody>, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static
where
    S: Service<Request<B>, Response = Response<ResBody>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: 'static,
{
    service_fn(move |request: Request<B>| {
        let ids = request.extensions().get::<AmzRequestIds>().cloned();
        let answer = inner.clone().oneshot(request);
        async move {
            let mut response = answer.await?;
            if let Some(ids) = ids {
                insert_id_headers(response.headers_mut(), &ids);
            }
            Ok(response)
        }
    })
}

/// Sets `x-amz-request-id` and `x-amz-id-2` from `ids`.
fn insert_id_headers(headers: &mut HeaderMap, ids: &AmzRequestIds) {
    for (name, value) in [
        (&X_AMZ_REQUEST_ID, ids.request_id()),
        (&X_AMZ_ID_2, ids.host_id()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), value);
        }
    }
}

/// Inserts fresh [`AmzRequestIds`] unless an outer layer already did.
fn assign_request_ids<B>(mut request: Request<B>) -> Request<B> {
    if request.extensions().get::<AmzRequestIds>().is_none() {
        request.extensions_mut().insert(next_request_ids());
    }
    request
}

/// A request ID like S3's (16 upper-case hex digits) and a host ID derived
/// from it (base64, as S3's `x-amz-id-2` looks). The IDs of instances
/// started in the same second differ (the process ID is part of the seed).
fn next_request_ids() -> AmzRequestIds {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs().wrapping_mul(1_000_003));
        started ^ u64::from(std::process::id()).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let request_id = format!("{:016X}", seed.wrapping_add(n));
    let host_id = BASE64.encode(Md5::digest(request_id.as_bytes()));
    AmzRequestIds::new(request_id, host_id)
}

/// One stored object.
#[derive(Clone, Debug)]
struct Object {
    body: Bytes,
    /// Quoted hex MD5 of the body, as S3's `ETag` for a single-part upload.
    etag: String,
    content_type: Option<HeaderValue>,
}

/// The objects of every bucket: bucket name (lower case) → key → object.
type Objects = HashMap<String, BTreeMap<String, Object>>;

/// The object store behind the CORS layer.
#[derive(Clone, Debug)]
struct Store {
    buckets: Buckets,
    objects: Arc<Mutex<Objects>>,
    max_object_bytes: usize,
}

/// What a handler answers: a response, or an S3 error to render.
type Answer = Result<Response<Full<Bytes>>, S3Error>;

impl Store {
    fn new(config: &Config) -> Self {
        Self {
            buckets: config.buckets.clone(),
            objects: Arc::default(),
            max_object_bytes: config.max_object_bytes,
        }
    }

    /// The objects, even if a thread panicked while holding the lock (the
    /// maps are never left half-updated).
    fn objects(&self) -> MutexGuard<'_, Objects> {
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request: routes it, renders S3 errors (the ID headers
    /// are added by the step in front, [`with_id_headers`]).
    async fn handle<B>(&self, request: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let ids = request.extensions().get::<AmzRequestIds>().cloned();
        let head_only = request.method() == Method::HEAD;
        match self.route(request).await {
            Ok(response) => response,
            Err(error) => {
                let mut response = error.into_response(ids.as_ref());
                if head_only {
                    // S3 answers HEAD errors without a body.
                    *response.body_mut() = Full::default();
                    response.headers_mut().remove(CONTENT_LENGTH);
                }
                response
            }
        }
    }

    async fn route<B>(&self, request: Request<B>) -> Answer
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        let located = self
            .buckets
            .locate(&RequestHead::from_parts(&parts))
            .map(|located| (located.bucket().to_owned(), located.key().to_owned()));
        let Some((bucket, raw_key)) = located else {
            return self.service_root(&parts.method);
        };
        if self.buckets.get(&bucket).is_none() {
            return Err(S3Error::no_such_bucket(&bucket));
        }

        // `?cors` on a bucket root never gets here: `CorsAdminLayer` answers it.
        if raw_key.is_empty() {
            return match parts.method {
                Method::GET => Ok(self.list_objects(&bucket, &parts)),
                Method::HEAD => Ok(empty(StatusCode::OK)),
                // Buckets are made at start-up (or through `Config::buckets`),
                // not over HTTP.
                Method::PUT => Err(S3Error::bucket_already_owned(&bucket)),
                ref method => Err(S3Error::method_not_allowed(method, "BUCKET")),
            };
        }

        let key = percent_decode(&raw_key);
        match parts.method {
            Method::PUT => self.put_object(&parts, body, &bucket, key).await,
            Method::GET | Method::HEAD => {
                self.get_object(&bucket, &key, parts.method == Method::HEAD)
            }
            Method::DELETE => {
                if let Some(objects) = self.objects().get_mut(&bucket) {
                    objects.remove(&key);
                }
                Ok(empty(StatusCode::NO_CONTENT))
            }
            // A demo stand-in for S3's POST operations (form uploads,
            // multipart uploads): accepted, nothing stored.
            Method::POST => Ok(empty(StatusCode::OK)),
            ref method => Err(S3Error::method_not_allowed(method, "OBJECT")),
        }
    }

    /// `/`: `GET` lists the buckets.
    fn service_root(&self, method: &Method) -> Answer {
        match *method {
            Method::GET => Ok(xml::xml_response(
                StatusCode::OK,
                xml::list_all_my_buckets_result(&self.buckets.names()),
            )),
            Method::HEAD => Ok(empty(StatusCode::OK)),
            ref method => Err(S3Error::method_not_allowed(method, "SERVICE")),
        }
    }

    /// `GET /{bucket}`: the keys (optionally under `?prefix=`), sorted.
    fn list_objects(&self, bucket: &str, parts: &Parts) -> Response<Full<Bytes>> {
        let prefix = query_param(parts.uri.query(), "prefix")
            .map(percent_decode)
            .unwrap_or_default();
        let objects = self.objects();
        let listed: Vec<Listed<'_>> = objects
            .get(bucket)
            .into_iter()
            .flat_map(|objects| objects.range(prefix.clone()..))
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(key, object)| Listed {
                key,
                etag: &object.etag,
                size: object.body.len(),
            })
            .collect();
        let body = xml::list_bucket_result(bucket, &prefix, listed.into_iter());
        xml::xml_response(StatusCode::OK, body)
    }

    /// `PUT /{bucket}/{key}`: stores the body and its `Content-Type`.
    async fn put_object<B>(&self, parts: &Parts, body: B, bucket: &str, key: String) -> Answer
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let body = read_body(body, self.max_object_bytes).await?;
        check_content_md5(&parts.headers, &body)?;
        let etag = quoted_hex(&Md5::digest(&body));
        let object = Object {
            body,
            etag: etag.clone(),
            content_type: parts.headers.get(CONTENT_TYPE).cloned(),
        };
        self.objects()
            .entry(bucket.to_owned())
            .or_default()
            .insert(key, object);

        let mut response = empty(StatusCode::OK);
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            response.headers_mut().insert(ETAG, etag);
        }
        Ok(response)
    }

    /// `GET` or `HEAD` on `/{bucket}/{key}`.
    fn get_object(&self, bucket: &str, key: &str, head_only: bool) -> Answer {
        let object = self
            .objects()
            .get(bucket)
            .and_then(|objects| objects.get(key))
            .cloned()
            .ok_or_else(|| S3Error::no_such_key(key))?;
        let length = object.body.len();
        let body = if head_only {
            Full::default()
        } else {
            Full::new(object.body)
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        if let Ok(etag) = HeaderValue::from_str(&object.etag) {
            headers.insert(ETAG, etag);
        }
        if let Some(content_type) = object.content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        Ok(response)
    }
}

/// An empty response with `status`.
fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = status;
    response
}

/// The whole body, at most `limit` bytes.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, S3Error>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(S3Error::entity_too_large(limit)),
        Err(_) => Err(S3Error::incomplete_body()),
    }
}

/// Checks the `Content-MD5` header against the body, when there is one.
fn check_content_md5(headers: &HeaderMap, body: &[u8]) -> Result<(), S3Error> {
    let Some(value) = headers.get(&CONTENT_MD5) else {
        return Ok(());
    };
    let expected = value
        .to_str()
        .ok()
        .and_then(|value| BASE64.decode(value.trim()).ok())
        .filter(|digest| digest.len() == 16)
        .ok_or_else(S3Error::invalid_digest)?;
    if Md5::digest(body).as_slice() == expected.as_slice() {
        Ok(())
    } else {
        Err(S3Error::bad_digest())
    }
}

/// `"0123…"`: bytes as lower-case hex between double quotes.
fn quoted_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 * bytes.len() + 2);
    out.push('"');
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out.push('"');
    out
}

/// The raw value of the query parameter `name` (`Some("")` for a bare
/// `?name`).
fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// `%XX` escapes decoded; anything else kept as is. Bytes that do not form
/// UTF-8 become U+FFFD.
fn percent_decode(text: &str) -> String {
    fn hex(byte: Option<&u8>) -> Option<u8> {
        let digit = char::from(*byte?).to_digit(16)?;
        u8::try_from(digit).ok()
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = match byte {
            b'%' => hex(bytes.get(i + 1)).zip(hex(bytes.get(i + 2))),
            _ => None,
        };
        if let Some((high, low)) = escaped {
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server accepts `name` as a bucket name (for `--bucket`): 1 to 63 ASCII letters, digits, `.`, `-` or `_`. Looser
/// than S3, which also wants at least 3 characters, all lower case.
///
/// ```
/// use example_bucket_server::is_valid_bucket_name;
/// assert!(is_valid_bucket_name("my-photos.2024"));
/// assert!(!is_valid_bucket_name("a/b"));
/// ```
#[must_use]
pub fn is_valid_bucket_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn query_param_finds_flags_and_values() {
        assert_eq!(query_param(Some("cors"), "cors"), Some(""));
        assert_eq!(query_param(Some("a=1&cors="), "cors"), Some(""));
        assert_eq!(query_param(Some("prefix=a%2Fb"), "prefix"), Some("a%2Fb"));
        assert_eq!(query_param(Some("corsx"), "cors"), None);
        assert_eq!(query_param(None, "cors"), None);
    }

    #[test]
    fn percent_decode_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn content_md5_is_checked_when_present() {
        let mut headers = HeaderMap::new();
        assert!(check_content_md5(&headers, b"x").is_ok());
        headers.insert(
            &CONTENT_MD5,
            HeaderValue::from_static("XUFAKrxLKna5cZ2REBfFkg=="),
        );
        assert!(check_content_md5(&headers, b"hello").is_ok());
        assert_eq!(
            check_content_md5(&headers, b"hello!").unwrap_err().code(),
            "BadDigest"
        );
        headers.insert(&CONTENT_MD5, HeaderValue::from_static("not base64"));
        let error = check_content_md5(&headers, b"hello").unwrap_err();
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::BAD_REQUEST, "InvalidDigest")
        );
    }

    #[test]
    fn etag_is_the_quoted_md5() {
        assert_eq!(
            quoted_hex(&Md5::digest(b"hello")),
            "\"5d41402abc4b2a76b9719d911017c592\""
        );
    }

    #[test]
    fn bucket_names() {
        assert!(is_valid_bucket_name("demo"));
        assert!(is_valid_bucket_name("my-bucket.v2"));
        assert!(!is_valid_bucket_name(""));
        assert!(!is_valid_bucket_name("a b"));
        assert!(!is_valid_bucket_name(&"x".repeat(64)));
    }

    #[test]
    fn request_ids_are_unique_and_s3_shaped() {
        let (a, b) = (next_request_ids(), next_request_ids());
        assert_ne!(a.request_id(), b.request_id());
        assert_eq!(a.request_id().len(), 16);
        assert!(a.request_id().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a.host_id().len(), 24);
    }
}
