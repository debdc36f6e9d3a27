//! Policies a source is still loading: a preflight waits for the load; an
//! actual request reaches the inner service at once and joins the load when
//! the inner response comes; a load that fails answers S3's 503.

use std::sync::{Arc, Mutex};
use std::task::Poll;

use http::{Method, Request, Response, StatusCode};
use tower::Layer;
use tower_s3_cors::source::{
    BucketCors, BucketPolicy, Completer, Located, Pending, RequestHead, Resolution,
};
use tower_s3_cors::{Policy, S3Cors, S3CorsLayer, VaryMode};
use tower_test::mock;

use crate::support::{self, echo, request};

const CORS_VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// A source whose one policy is always being loaded: every request gets a
/// clone of the same `Pending`, whose completer the test holds.
#[derive(Clone)]
struct Loading {
    pending: Pending,
}

impl Loading {
    fn new() -> (Self, Completer) {
        let (pending, completer) = Pending::new();
        (Self { pending }, completer)
    }
}

impl BucketCors for Loading {
    fn locate<'a>(&self, request: &RequestHead<'a>) -> Option<Located<'a>> {
        Policy::locate(&policy(), request)
    }

    fn resolve(&self, _: &str) -> Resolution {
        Resolution::Pending(self.pending.clone())
    }
}

fn policy() -> Policy {
    Policy::from_document(
        r#"[{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 60}]"#,
    )
    .unwrap()
}

type Handle = mock::Handle<Request<support::Body>, Response<support::Body>>;
type Layered =
    mock::Spawn<S3Cors<mock::Mock<Request<support::Body>, Response<support::Body>>, Loading>>;

/// The layer over `source`, in front of a mock inner service that takes one
/// request; polled ready.
fn ready_layer(source: Loading) -> (Layered, Handle) {
    let (mut service, mut handle) = mock::spawn_layer(S3CorsLayer::new(source));
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    (service, handle)
}

const PREFLIGHT: &[(&str, &str)] = &[
    ("origin", "https://app.example"),
    ("access-control-request-method", "PUT"),
];

#[tokio::test]
async fn a_preflight_waits_for_the_load_then_is_answered_by_the_layer() {
    let (source, completer) = Loading::new();
    let (mut service, mut handle) = ready_layer(source);
    let mut answer =
        tokio_test::task::spawn(service.call(request(Method::OPTIONS, "/k", PREFLIGHT)));
    assert!(answer.poll().is_pending(), "the policy is not loaded yet");
    completer.complete(BucketPolicy::Configured(policy()));
    assert!(
        answer.is_woken(),
        "completing the load wakes the waiting preflight"
    );
    let Poll::Ready(Ok(response)) = answer.poll() else {
        panic!("answered once loaded")
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(response.headers()["access-control-max-age"], "60");
    assert!(
        handle.poll_request().is_pending(),
        "the inner service never saw the preflight"
    );
}

#[tokio::test]
async fn an_actual_request_reaches_the_inner_service_at_once_and_joins_the_load() {
    let (source, completer) = Loading::new();
    let (mut service, mut handle) = ready_layer(source);
    let get = request(Method::GET, "/k", &[("origin", "https://app.example")]);
    let mut answer = tokio_test::task::spawn(service.call(get));
    let (inner_request, respond) = handle
        .next_request()
        .await
        .expect("the inner service is called before the load is over");
    assert_eq!(inner_request.uri(), "/k");
    respond.send_response(Response::new(support::Body::default()));
    assert!(
        answer.poll().is_pending(),
        "the response waits for the policy"
    );
    completer.complete(BucketPolicy::Configured(policy()));
    let Poll::Ready(Ok(response)) = answer.poll() else {
        panic!("answered once loaded")
    };
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(response.headers()["vary"], CORS_VARY);
}

#[tokio::test]
async fn a_load_that_fails_gives_preflights_s3_s_503_and_actual_requests_no_cors() {
    let make = || {
        let (source, completer) = Loading::new();
        drop(completer); // the loader went away: Unavailable
        S3CorsLayer::new(source).layer(echo())
    };
    {
        let answer = support::send(make(), request(Method::OPTIONS, "/k", PREFLIGHT)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            support::error_of(&answer.body),
            ("ServiceUnavailable", "Service is unable to handle request.")
        );
        assert!(answer.headers.get("access-control-allow-origin").is_none());

        let answer = support::send(
            make(),
            request(Method::GET, "/k", &[("origin", "https://app.example")]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, "GET /k", "the inner service answered");
        assert!(answer.headers.get("access-control-allow-origin").is_none());
        assert_eq!(
            answer.all("vary"),
            [CORS_VARY],
            "Vary, as the policy is unknown"
        );
    }
}

#[tokio::test]
async fn an_unavailable_source_answers_like_a_failed_load_in_both_vary_modes() {
    for (mode, vary) in [
        (VaryMode::CacheSafe, vec![CORS_VARY]),
        (VaryMode::S3Exact, vec![]),
    ] {
        let service = || {
            S3CorsLayer::new(support::Down)
                .vary_mode(mode)
                .layer(echo())
        };
        let answer = support::send(service(), request(Method::OPTIONS, "/k", PREFLIGHT)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        let answer = support::send(
            service(),
            request(Method::GET, "/k", &[("origin", "https://app.example")]),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.all("vary"), vary, "{mode:?}");
        let answer = support::send(service(), request(Method::GET, "/k", &[])).await;
        assert_eq!(answer.all("vary"), vary, "{mode:?}: without Origin");
    }
}

#[tokio::test]
async fn many_requests_share_one_load() {
    let (source, completer) = Loading::new();
    let service = S3CorsLayer::new(source).layer(echo());
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let service = service.clone();
        let outcomes = Arc::clone(&outcomes);
        tasks.push(tokio::spawn(async move {
            let answer = support::send(service, request(Method::OPTIONS, "/k", PREFLIGHT)).await;
            outcomes.lock().unwrap().push(answer.status);
        }));
    }
    tokio::task::yield_now().await;
    assert!(
        outcomes.lock().unwrap().is_empty(),
        "all wait for the one load"
    );
    completer.complete(BucketPolicy::NotConfigured);
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(*outcomes.lock().unwrap(), [StatusCode::FORBIDDEN; 8]);
}
