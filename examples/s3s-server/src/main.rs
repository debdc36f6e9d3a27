//! `example-s3s-server`: an S3-compatible file server (s3s + s3s-fs) whose
//! bucket CORS is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with `cargo run --release -p example-s3s-server -- --help` for the
//! flags. The first line printed is always `listening on http://ADDR`, with
//! the address actually bound; bad arguments exit with status 2; Ctrl-C or
//! `SIGTERM` stops the server cleanly (status 0).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser as _;
use example_s3s_server::{Options, banner, build_parts, serve_with_shutdown};
use tokio::signal::unix::{SignalKind, signal};
use tower::Layer as _;
use tower_s3_cors::S3CorsLayer;

fn main() -> ExitCode {
    let options = Options::parse();
    match serve(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Serves the root given, or a fresh one removed at exit.
fn serve(options: &Options) -> Result<(), String> {
    let temporary = match options.root {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("example-s3s-server-")
                .tempdir(),
        )
        .transpose()
        .map_err(|e| format!("cannot create a temporary root: {e}"))?,
    };
    let root = options
        .root
        .as_deref()
        .or(temporary.as_ref().map(|t| t.path()));
    let root = root.expect("--root, or a temporary root");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let runtime = runtime.map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(run(options, root))
}

/// Binds, prints the address and the banner, serves until Ctrl-C or
/// `SIGTERM`.
async fn run(options: &Options, root: &Path) -> Result<(), String> {
    // Installed before anything is printed: whoever reads the first line may
    // signal at once.
    let signals =
        signal(SignalKind::interrupt()).and_then(|i| Ok((i, signal(SignalKind::terminate())?)));
    let (mut interrupt, mut terminate) =
        signals.map_err(|e| format!("cannot handle signals: {e}"))?;
    let listener = tokio::net::TcpListener::bind(options.listen).await;
    let listener = listener.map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let parts = build_parts(options, root, addr.port()).await?;
    let banner = banner(addr, options, root, &parts.cors).await;
    let service = S3CorsLayer::new(parts.cors).layer(parts.s3);
    // A closed stdout (the reader went away) is no reason to stop serving.
    let text = format!("listening on http://{addr}\n{banner}");
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    let stop = async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    };
    serve_with_shutdown(listener, service, stop)
        .await
        .map_err(|e| format!("server failed: {e}"))
}
