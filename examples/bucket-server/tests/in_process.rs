//! The library's `serve_with_shutdown`, started in-process as another test
//! suite would: policies swapped from Rust, a clean shutdown.

#![allow(clippy::unwrap_used)]

mod common;

use common::request;
use example_bucket_server::{Config, DEMO_BUCKET, serve_with_shutdown};

#[test]
fn the_server_runs_in_process_and_sees_policies_stored_from_rust() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config::demo();
    let buckets = config.buckets().clone();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(serve_with_shutdown(listener, config, async {
        let _ = stopped.await;
    }));

    // The client below blocks, so it runs on this thread, outside the runtime.
    let preflight = |origin: &str| {
        request("OPTIONS", "/demo/a.txt")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send(&addr)
    };
    assert_eq!(preflight("https://anyone.example").status, 200);

    // Swap the demo bucket's policy directly, as a test harness would.
    let demo = buckets.get(DEMO_BUCKET).unwrap();
    demo.put_document(
        r#"[{"AllowedOrigins": ["https://only.example"], "AllowedMethods": ["GET"]}]"#,
    )
    .unwrap();
    assert_eq!(preflight("https://anyone.example").status, 403);
    let allowed = preflight("https://only.example");
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://only.example")
    );

    // And add a bucket while it runs.
    buckets
        .create("late")
        .put_document(r#"[{"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]}]"#)
        .unwrap();
    let put = request("PUT", "/late/x")
        .header("Origin", "https://a.example")
        .body("x")
        .send(&addr);
    assert_eq!(put.status, 200);
    assert_eq!(put.header("access-control-allow-origin"), Some("*"));

    stop.send(()).unwrap();
    let result = runtime.block_on(async { tokio::time::timeout(common::TIMEOUT, server).await });
    assert!(matches!(result, Ok(Ok(Ok(())))), "{result:?}");
}
