//! An axum server with S3's CORS rules, which `PUT /admin/cors` replaces
//! while it runs.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Response, StatusCode};
use axum::routing::{get, put};
use tower_s3_cors::{S3CorsLayer, SharedPolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The document you would PUT to an S3 bucket: XML, or either JSON shape.
    let cors = SharedPolicy::from_document(include_str!("cors.xml"))?;

    let app = Router::new()
        .route("/photos/{name}", get(photo))
        .layer(S3CorsLayer::new(cors.clone()))
        // Added after `.layer()`, so outside it: no CORS answers for this
        // route. Put your authentication in front of it.
        .route("/admin/cors", put(replace_rules))
        .with_state(cors);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn photo(Path(name): Path<String>) -> String {
    format!("the bytes of {name}\n")
}

/// New rules while the server runs. A bad document gets S3's `400` and its
/// XML error (`?` on the `ConfigError`), and the rules serving stay.
async fn replace_rules(
    State(cors): State<SharedPolicy>,
    document: String,
) -> Result<StatusCode, Response<String>> {
    cors.put_document(&document)?;
    Ok(StatusCode::NO_CONTENT)
}
