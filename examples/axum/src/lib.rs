//! An [axum] app behind [`S3CorsLayer`]: ordinary routes get Amazon S3's
//! CORS behaviour, and an admin route replaces the rules while the server
//! runs, without a restart.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | a plain-text greeting |
//! | `GET /api/items` | a small JSON list |
//! | `PUT /api/items/{id}` | echoes the body back |
//! | `PUT /admin/cors` | replaces the CORS rules with the body (S3 XML or either JSON shape): `204`, or S3's `400` with its XML error (as `PutBucketCors` answers), the old rules still serving |
//! | `GET /admin/cors` | the rules now serving, as S3 XML (`404` if none) |
//! | `DELETE /admin/cors` | removes the rules (preflights then get `403`); `204` |
//!
//! The admin routes are added *after* `.layer(..)`, so the CORS layer does
//! not wrap them: a browser page on another origin can neither preflight
//! nor read them. A real deployment would also put authentication on them.
//!
//! ```
//! use tower_s3_cors::SharedPolicy;
//!
//! let cors = SharedPolicy::from_document(example_axum::DEFAULT_DOCUMENT)?;
//! let router = example_axum::app(cors.clone());
//! // serve `router` with axum::serve; `cors.put_document(..)` swaps the rules.
//! # let _ = router;
//! # Ok::<_, tower_s3_cors::ConfigError>(())
//! ```

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

/// The rules the binary starts with (the AWS CLI's JSON shape): a front end
/// on `http://localhost:5173` may read and write the API, with the
/// `Content-Type` header, and any origin may read it (answered
/// `Access-Control-Allow-Origin: *`).
pub const DEFAULT_DOCUMENT: &str = r#"{
  "CORSRules": [
    {
      "ID": "front-end",
      "AllowedOrigins": ["http://localhost:5173"],
      "AllowedMethods": ["GET", "PUT"],
      "AllowedHeaders": ["content-type"],
      "MaxAgeSeconds": 600
    },
    {
      "ID": "public-read",
      "AllowedOrigins": ["*"],
      "AllowedMethods": ["GET"]
    }
  ]
}"#;

/// The app: API routes behind [`S3CorsLayer`] over `cors`, and the admin
/// routes that change `cors` (outside the layer).
///
/// Keep a clone of `cors` to change the rules from elsewhere too (a file
/// watcher, a signal handler); every clone swaps the same policy.
pub fn app(cors: SharedPolicy) -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/api/items", get(list_items))
        .route("/api/items/{id}", put(put_item))
        .layer(S3CorsLayer::new(cors.clone()))
        // Added after `.layer`: not wrapped by it.
        .route(
            "/admin/cors",
            put(replace_rules).get(current_rules).delete(remove_rules),
        )
        .with_state(cors)
}

async fn hello() -> &'static str {
    "Hello from axum behind tower-s3-cors\n"
}

async fn list_items() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"[{"id":1,"name":"apple"},{"id":2,"name":"pear"}]"#,
    )
}

async fn put_item(Path(id): Path<u32>, body: String) -> String {
    format!("item {id}: {body}")
}

/// `PUT /admin/cors`: parse, validate, compile and store, or refuse with
/// S3's `400` and its XML error and keep the rules that were serving.
///
/// `?` turns the [`ConfigError`](tower_s3_cors::ConfigError) into that
/// response (`http::Response<String>`, which axum serves as it is).
async fn replace_rules(
    State(cors): State<SharedPolicy>,
    document: String,
) -> Result<StatusCode, Response<String>> {
    cors.put_document(&document)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/cors`: the rules now serving, as S3's `GetBucketCors` writes
/// them.
async fn current_rules(State(cors): State<SharedPolicy>) -> Response {
    match cors.load() {
        Some(policy) => (
            [(header::CONTENT_TYPE, "application/xml")],
            policy.configuration().to_xml(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no CORS rules are set\n").into_response(),
    }
}

/// `DELETE /admin/cors`: no rules; preflights are refused from now on.
async fn remove_rules(State(cors): State<SharedPolicy>) -> StatusCode {
    let _ = cors.delete_document();
    StatusCode::NO_CONTENT
}
