//! Swapping policies while requests flow: each answer comes from exactly one
//! of the stored policies, bad documents are refused and leave the previous
//! policy serving, and a request in flight keeps the policy it started with.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use http::{Method, Request, Response};
use tower::{Layer, Service, ServiceExt, service_fn};
use tower_s3_cors::config::ConfigErrorKind;
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

/// Generation `n`: origin allowed, `MaxAgeSeconds` = n, `ExposeHeader` = `x-gen-n`.
fn generation(n: u32) -> String {
    format!(
        r#"[{{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"],
             "ExposeHeaders": ["x-gen-{n}"], "MaxAgeSeconds": {n}}}]"#
    )
}

fn get() -> Request<()> {
    Request::builder()
        .method(Method::GET)
        .uri("/k")
        .header("origin", "https://app.example")
        .body(())
        .unwrap()
}

#[test]
fn every_answer_comes_from_exactly_one_stored_policy_under_concurrent_swaps() {
    const GENERATIONS: u32 = 300;
    let cors = SharedPolicy::from_document(&generation(0)).unwrap();
    let service = S3CorsLayer::new(cors.clone()).layer(service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(()))
    }));
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|_| {
            let service = service.clone();
            let done = done.clone();
            thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                let mut answers = 0u32;
                let mut last_seen = 0;
                while !done.load(Ordering::Acquire) || answers < 100 {
                    let response = runtime.block_on(service.clone().oneshot(get())).unwrap();
                    let max_age: u32 = response.headers()["access-control-max-age"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let expose = response.headers()["access-control-expose-headers"]
                        .to_str()
                        .unwrap();
                    assert_eq!(expose, format!("x-gen-{max_age}"), "one answer, one policy");
                    assert!(max_age <= GENERATIONS);
                    assert!(
                        max_age >= last_seen,
                        "a reader never goes back to an older policy"
                    );
                    last_seen = max_age;
                    answers += 1;
                }
                answers
            })
        })
        .collect();

    for n in 1..=GENERATIONS {
        cors.put_document(&generation(n)).unwrap();
        // A bad document between two good ones changes nothing.
        let err = cors.put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#);
        assert_eq!(err.unwrap_err().kind(), ConfigErrorKind::UnsupportedMethod);
        assert_eq!(
            cors.load().unwrap().configuration().rules[0].max_age_seconds,
            Some(n)
        );
    }
    done.store(true, Ordering::Release);
    let answers: u32 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(answers >= 300);

    let response = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(service.oneshot(get()))
        .unwrap();
    assert_eq!(
        response.headers()["access-control-max-age"],
        GENERATIONS.to_string().as_str()
    );
}

#[tokio::test]
async fn a_bad_document_keeps_the_previous_policy_answering() {
    let cors = SharedPolicy::from_document(&generation(7)).unwrap();
    let service = S3CorsLayer::new(cors.clone()).layer(service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(()))
    }));
    for bad in [
        "<CORSConfiguration>",
        r#"{"CORSRules": []}"#,
        r#"[{"AllowedOrigins": ["http://*.*"], "AllowedMethods": ["GET"]}]"#,
        "not a document",
    ] {
        assert!(cors.put_document(bad).is_err(), "{bad}");
        let response = service.clone().oneshot(get()).await.unwrap();
        assert_eq!(response.headers()["access-control-max-age"], "7", "{bad}");
    }
}

#[tokio::test]
async fn a_request_in_flight_finishes_with_the_policy_it_started_with() {
    let cors = SharedPolicy::from_document(&generation(1)).unwrap();
    let (release, wait) = tokio::sync::oneshot::channel::<()>();
    let wait = Arc::new(tokio::sync::Mutex::new(Some(wait)));
    let mut service = S3CorsLayer::new(cors.clone()).layer(service_fn(move |_req: Request<()>| {
        let wait = wait.clone();
        async move {
            if let Some(wait) = wait.lock().await.take() {
                wait.await.unwrap();
            }
            Ok::<_, Infallible>(Response::new(()))
        }
    }));
    service.ready().await.unwrap();
    let in_flight = tokio::spawn(service.call(get()));
    tokio::task::yield_now().await;
    cors.put_document(&generation(2)).unwrap();
    release.send(()).unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.headers()["access-control-max-age"], "1");
    let response = service.oneshot(get()).await.unwrap();
    assert_eq!(response.headers()["access-control-max-age"], "2");
}

#[tokio::test]
async fn clearing_the_policy_turns_cors_off() {
    let cors = SharedPolicy::from_document(&generation(1)).unwrap();
    let service = S3CorsLayer::new(cors.clone()).layer(service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(()))
    }));
    assert!(cors.delete_document().is_some());
    let preflight = Request::builder()
        .method(Method::OPTIONS)
        .uri("/k")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .body(())
        .unwrap();
    let response = service.clone().oneshot(preflight).await.unwrap();
    assert_eq!(response.status(), 403);
    let response = service.oneshot(get()).await.unwrap();
    assert!(
        response.headers().is_empty(),
        "no policy: response untouched"
    );
}
