//! What the tests share: request builders, an echo service, sending a
//! request through a service and reading the answer.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceExt, service_fn};

/// The request and response body of most tests.
pub(crate) type Body = Full<Bytes>;

/// A request with `headers` and an empty body.
pub(crate) fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    request_with_body(method, uri, headers, "")
}

/// A request with `headers` and `body`.
pub(crate) fn request_with_body(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// An inner service that answers `200` with `"{METHOD} {path and query}"`.
pub(crate) fn echo() -> impl Service<
    Request<Body>,
    Response = Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Body>, Infallible>> + Send,
> + Clone
+ Send {
    service_fn(|req: Request<Body>| async move {
        let text = format!("{} {}", req.method(), req.uri());
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(text))))
    })
}

/// An answer, its body read.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) extensions: http::Extensions,
    pub(crate) body: String,
}

impl Answer {
    /// Every value of header `name`, as text.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }
}

/// The text of element `name` in an XML document.
pub(crate) fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = format!("<{name}>");
    let end = format!("</{name}>");
    let rest = xml.split_once(start.as_str())?.1;
    Some(rest.split_once(end.as_str())?.0)
}

/// The `Code` and `Message` of an S3 error body (empty when absent).
pub(crate) fn error_of(xml: &str) -> (&str, &str) {
    (
        element(xml, "Code").unwrap_or_default(),
        element(xml, "Message").unwrap_or_default(),
    )
}

/// Sends `request` through `service` and reads the answer.
pub(crate) async fn send<S, B>(service: S, request: Request<Body>) -> Answer
where
    S: Service<Request<Body>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        extensions: parts.extensions,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

/// A source that cannot tell: its store is down and nothing is cached.
#[derive(Clone)]
pub(crate) struct Down;

impl tower_s3_cors::source::BucketCors for Down {
    fn locate<'a>(
        &self,
        request: &tower_s3_cors::source::RequestHead<'a>,
    ) -> Option<tower_s3_cors::source::Located<'a>> {
        let key = request.uri().path().trim_start_matches('/');
        Some(tower_s3_cors::source::Located::new("", key))
    }

    fn resolve(&self, _bucket: &str) -> tower_s3_cors::source::Resolution {
        tower_s3_cors::source::Resolution::Ready(tower_s3_cors::source::BucketPolicy::Unavailable)
    }
}

/// What `source` has for `bucket`, once any load is over.
pub(crate) async fn settled(
    source: &impl tower_s3_cors::source::BucketCors,
    bucket: &str,
) -> tower_s3_cors::source::BucketPolicy {
    match source.resolve(bucket) {
        tower_s3_cors::source::Resolution::Ready(policy)
        | tower_s3_cors::source::Resolution::Shadowed(policy, _) => policy,
        tower_s3_cors::source::Resolution::Pending(pending) => pending.await,
    }
}
