//! The `Service` contract: `poll_ready` forwards backpressure, a preflight
//! never reaches the inner service, an actual request reaches it exactly
//! once, and the inner service's errors pass through unchanged.

use std::task::Poll;

use http::{Method, Request, Response};
use tower_s3_cors::{S3CorsLayer, SharedPolicy};
use tower_test::mock;

type Mock = mock::Mock<Request<&'static str>, Response<&'static str>>;
type Handle = mock::Handle<Request<&'static str>, Response<&'static str>>;

fn policy() -> SharedPolicy {
    SharedPolicy::from_document(
        r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"]}]"#,
    )
    .unwrap()
}

fn spawn() -> (mock::Spawn<tower_s3_cors::S3Cors<Mock>>, Handle) {
    mock::spawn_layer(S3CorsLayer::new(policy()))
}

fn request(method: Method, headers: &[(&str, &str)]) -> Request<&'static str> {
    let mut builder = Request::builder().method(method).uri("/bucket-root/key");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body("").unwrap()
}

#[tokio::test]
async fn poll_ready_forwards_the_inner_backpressure() {
    let (mut service, mut handle) = spawn();
    handle.allow(0);
    assert!(
        service.poll_ready().is_pending(),
        "inner not ready: layer not ready"
    );
    handle.allow(1);
    assert!(service.is_woken(), "the inner wake-up reaches the caller");
    assert!(matches!(service.poll_ready(), Poll::Ready(Ok(()))));
}

#[tokio::test]
async fn poll_ready_forwards_the_inner_error() {
    let (mut service, mut handle) = spawn();
    handle.send_error("inner broke");
    let Poll::Ready(Err(err)) = service.poll_ready() else {
        panic!("the inner error must come out of poll_ready");
    };
    assert_eq!(err.to_string(), "inner broke");
}

#[tokio::test]
async fn preflight_is_answered_without_calling_the_inner_service() {
    let (mut service, mut handle) = spawn();
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    let response = service
        .call(request(
            Method::OPTIONS,
            &[
                ("origin", "https://app.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-methods"],
        "GET, PUT"
    );
    assert!(
        handle.poll_request().is_pending(),
        "the inner service saw no request"
    );

    // Refused preflights do not reach it either.
    let response = service
        .call(request(
            Method::OPTIONS,
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "PUT"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = service.call(request(Method::OPTIONS, &[])).await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(handle.poll_request().is_pending());
}

#[tokio::test]
async fn actual_request_reaches_the_inner_service_once_and_gets_headers() {
    let (mut service, mut handle) = spawn();
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    let future = service.call(request(Method::GET, &[("origin", "https://app.example")]));

    let (seen, send) = handle.next_request().await.unwrap();
    assert_eq!(seen.method(), Method::GET);
    assert_eq!(
        seen.headers()["origin"],
        "https://app.example",
        "the request is passed as is"
    );
    send.send_response(Response::builder().status(503).body("down").unwrap());

    let response = future.await.unwrap();
    assert_eq!(
        response.status(),
        503,
        "error statuses keep their CORS headers"
    );
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert!(handle.poll_request().is_pending(), "exactly one inner call");
}

#[tokio::test]
async fn refused_actual_request_still_reaches_the_inner_service() {
    let (mut service, mut handle) = spawn();
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    let future = service.call(request(Method::PUT, &[("origin", "https://evil.example")]));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_response(Response::new("stored"));
    let response = future.await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn inner_service_errors_pass_through_unchanged() {
    let (mut service, mut handle) = spawn();
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    let future = service.call(request(Method::GET, &[("origin", "https://app.example")]));
    let (_, send) = handle.next_request().await.unwrap();
    send.send_error("boom");
    let err = future.await.unwrap_err();
    assert_eq!(err.to_string(), "boom");
}

#[test]
fn layer_service_and_future_are_send_sync_and_clone() {
    fn send_sync_clone<T: Send + Sync + Clone>() {}
    fn send<T: Send>() {}
    send_sync_clone::<S3CorsLayer>();
    send_sync_clone::<S3CorsLayer<tower_s3_cors::source::Buckets>>();
    send_sync_clone::<
        tower_s3_cors::S3Cors<
            tower::util::BoxCloneSyncService<Request<()>, Response<()>, std::convert::Infallible>,
        >,
    >();
    send::<tower_s3_cors::future::ResponseFuture<std::future::Ready<Result<Response<()>, ()>>>>();
    send_sync_clone::<tower_s3_cors::Policy>();
    send_sync_clone::<SharedPolicy>();
}
