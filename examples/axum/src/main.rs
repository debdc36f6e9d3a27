//! An axum server whose API has Amazon S3's CORS behaviour, with rules that
//! can be replaced while it runs.
//!
//! Run with:
//!
//! ```text
//! cargo run -p example-axum -- [--listen ADDR]
//! ```
//!
//! (default `127.0.0.1:3000`), then for example:
//!
//! ```text
//! curl -i -X OPTIONS -H 'Origin: http://localhost:5173' -H 'Access-Control-Request-Method: PUT' http://127.0.0.1:3000/api/items/1
//! curl -i -H 'Origin: https://elsewhere.example' http://127.0.0.1:3000/api/items
//! curl -i -X PUT --data-binary '[{"AllowedOrigins":["https://app.example"],"AllowedMethods":["GET"]}]' http://127.0.0.1:3000/admin/cors
//! ```

use std::process::ExitCode;

use tower_s3_cors::SharedPolicy;

const USAGE: &str = "usage: example-axum [--listen ADDR]   (default 127.0.0.1:3000)";

fn main() -> ExitCode {
    let mut listen = String::from("127.0.0.1:3000");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--listen" => match args.next() {
                Some(addr) => listen = addr,
                None => return usage_error("--listen needs a value"),
            },
            other => match other.strip_prefix("--listen=") {
                Some(addr) => listen = addr.to_owned(),
                None => return usage_error(&format!("unknown argument {other:?}")),
            },
        }
    }

    let cors = match SharedPolicy::from_document(example_axum::DEFAULT_DOCUMENT) {
        Ok(cors) => cors,
        Err(error) => {
            eprintln!("error: the built-in CORS document: {error}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(&listen, cors)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(listen: &str, cors: SharedPolicy) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, example_axum::app(cors))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n{USAGE}");
    ExitCode::from(2)
}
