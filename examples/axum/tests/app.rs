//! The axum app served in-process on 127.0.0.1:0, driven over real TCP.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tower_s3_cors::SharedPolicy;

const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// The app on a free port; stopped (runtime dropped) with the value.
struct Running {
    addr: String,
    cors: SharedPolicy,
    _runtime: tokio::runtime::Runtime,
}

fn start() -> Running {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cors = SharedPolicy::from_document(example_axum::DEFAULT_DOCUMENT).unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = example_axum::app(cors.clone());
    runtime.spawn(async move { axum::serve(listener, app).await });
    Running {
        addr,
        cors,
        _runtime: runtime,
    }
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "{name} appears twice");
        first
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();

    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked");
    assert!(!chunked, "the app sends sized bodies");
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn preflight(addr: &str, path: &str, origin: &str, method: &str) -> Answer {
    send(
        addr,
        "OPTIONS",
        path,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", method),
        ],
        "",
    )
}

#[test]
fn a_preflight_from_the_front_end_is_allowed() {
    let app = start();
    let answer = send(
        &app.addr,
        "OPTIONS",
        "/api/items/7",
        &[
            ("Origin", "http://localhost:5173"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "Content-Type"),
        ],
        "",
    );
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    assert_eq!(
        answer.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        answer.header("access-control-allow-methods"),
        Some("GET, PUT")
    );
    assert_eq!(
        answer.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(answer.header("access-control-max-age"), Some("600"));
    assert_eq!(answer.header("vary"), Some(VARY));

    // Another origin may only GET: its PUT preflight gets S3's 403.
    let refused = preflight(
        &app.addr,
        "/api/items/7",
        "https://elsewhere.example",
        "PUT",
    );
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("<Code>AccessForbidden</Code>"),
        "{}",
        refused.body
    );
}

#[test]
fn a_get_with_an_origin_gets_cors_headers_on_the_handlers_answer() {
    let app = start();
    let answer = send(
        &app.addr,
        "GET",
        "/api/items",
        &[("Origin", "https://elsewhere.example")],
        "",
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert!(answer.body.contains("apple"));
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert_eq!(answer.header("access-control-allow-methods"), Some("GET"));

    let put = send(
        &app.addr,
        "PUT",
        "/api/items/3",
        &[("Origin", "http://localhost:5173")],
        "pear",
    );
    assert_eq!(put.status, 200);
    assert_eq!(put.body, "item 3: pear");
    assert_eq!(
        put.header("access-control-allow-origin"),
        Some("http://localhost:5173")
    );
}

#[test]
fn the_admin_route_swaps_the_rules_and_refuses_bad_documents() {
    let app = start();
    let origin = "https://app.example.com";
    assert_eq!(
        preflight(&app.addr, "/api/items/1", origin, "PUT").status,
        403
    );

    let document = r#"<CORSConfiguration><CORSRule>
        <AllowedOrigin>https://app.example.com</AllowedOrigin>
        <AllowedMethod>PUT</AllowedMethod>
    </CORSRule></CORSConfiguration>"#;
    let swapped = send(&app.addr, "PUT", "/admin/cors", &[], document);
    assert_eq!(swapped.status, 204, "{}", swapped.body);
    let allowed = preflight(&app.addr, "/api/items/1", origin, "PUT");
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some(origin));
    // The old rules are gone: the front end is refused now.
    assert_eq!(
        preflight(&app.addr, "/api/items/1", "http://localhost:5173", "PUT").status,
        403
    );
    let current = send(&app.addr, "GET", "/admin/cors", &[], "");
    assert_eq!(current.status, 200);
    assert!(
        current
            .body
            .contains("<AllowedOrigin>https://app.example.com</AllowedOrigin>"),
        "{}",
        current.body
    );

    // A bad document: the handler's `?` gives S3's 400 and XML error
    // (`ConfigError::to_response`); the rules stored above still answer.
    let bad = r#"[{"ID": "uploads", "AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]"#;
    let refused = send(&app.addr, "PUT", "/admin/cors", &[], bad);
    assert_eq!(refused.status, 400);
    assert_eq!(refused.header("content-type"), Some("application/xml"));
    assert_eq!(
        refused.body,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRequest</Code>\
         <Message>Found unsupported HTTP method in CORS config. Unsupported method is PATCH</Message></Error>"
    );
    let malformed = send(&app.addr, "PUT", "/admin/cors", &[], "<CORSConfiguration>");
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.body.contains("<Code>MalformedXML</Code>"),
        "{}",
        malformed.body
    );
    assert_eq!(
        preflight(&app.addr, "/api/items/1", origin, "PUT").status,
        200
    );
    assert!(
        app.cors
            .load()
            .is_some_and(|p| p.configuration().rules[0].allowed_methods == ["PUT"])
    );

    let removed = send(&app.addr, "DELETE", "/admin/cors", &[], "");
    assert_eq!(removed.status, 204);
    let disabled = preflight(&app.addr, "/api/items/1", origin, "PUT");
    assert_eq!(disabled.status, 403);
    assert!(
        disabled.body.contains("CORS is not enabled"),
        "{}",
        disabled.body
    );
    assert_eq!(send(&app.addr, "GET", "/admin/cors", &[], "").status, 404);
}

#[test]
fn the_admin_routes_are_outside_the_layer() {
    let app = start();
    // The layer answers every OPTIONS it wraps; this one reaches axum's
    // method router instead.
    let answer = preflight(&app.addr, "/admin/cors", "http://localhost:5173", "PUT");
    assert_eq!(answer.status, 405);
    let get = send(
        &app.addr,
        "GET",
        "/admin/cors",
        &[("Origin", "https://elsewhere.example")],
        "",
    );
    assert_eq!(get.status, 200);
    assert_eq!(get.header("access-control-allow-origin"), None);
}
