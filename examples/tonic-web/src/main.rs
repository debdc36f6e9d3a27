//! A tonic gRPC-web greeter with S3's CORS behaviour in front.
//!
//! Run with `cargo run -p example-tonic-web -- --listen 127.0.0.1:50051`
//! (`--cors FILE` replaces the embedded CORS document with an S3 CORS
//! document, XML or JSON). The first line on stdout is
//! `listening on http://ADDR`; Ctrl-C stops the server cleanly.
//!
//! ```text
//! printf '\x00\x00\x00\x00\x07\x0a\x05world' |
//!   curl -si --output - http://127.0.0.1:50051/greeter.Greeter/SayHello \
//!     -H 'content-type: application/grpc-web+proto' -H 'x-grpc-web: 1' \
//!     -H 'origin: http://example.test' --data-binary @-
//! ```
//!
//! See the library documentation for the stack and a preflight example.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use example_tonic_web::{default_policy, policy_from_document, serve_with_shutdown};
use tokio::net::TcpListener;
use tower_s3_cors::SharedPolicy;

const USAGE: &str = "usage: example-tonic-web [--listen ADDR] [--cors FILE]

  --listen ADDR   address to listen on (default 127.0.0.1:50051)
  --cors FILE     S3 CORS document (XML CORSConfiguration or JSON) to use
                  instead of the embedded one";

/// What the command line asks for.
struct Options {
    listen: SocketAddr,
    cors: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
        cors: None,
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--listen" => {
                let text = value()?;
                options.listen = text.parse().map_err(|e| format!("--listen {text}: {e}"))?;
            }
            "--cors" => options.cors = Some(value()?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Some(options))
}

fn load_policy(path: Option<&str>) -> Result<SharedPolicy, String> {
    let Some(path) = path else {
        return Ok(default_policy());
    };
    let document = std::fs::read_to_string(path).map_err(|e| format!("--cors {path}: {e}"))?;
    policy_from_document(&document).map_err(|e| format!("--cors {path}: {e}"))
}

/// Registers the Ctrl-C handler now and returns a future that completes on
/// the first Ctrl-C (SIGINT on Unix).
fn ctrl_c() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    #[cfg(windows)]
    let mut signal = tokio::signal::windows::ctrl_c()?;
    Ok(async move {
        // `None` means the handler is gone: then, too, stop serving.
        let _ = signal.recv().await;
        eprintln!("shutting down");
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("{error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let policy = match load_policy(options.cors.as_deref()) {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };

    // Register for Ctrl-C before announcing the address: whoever reads the
    // first line may interrupt us right away, and a signal that arrives
    // before the handler exists would kill us (or, in a background job
    // that ignores SIGINT, be lost).
    let ctrl_c = match ctrl_c() {
        Ok(ctrl_c) => ctrl_c,
        Err(error) => {
            eprintln!("cannot listen for Ctrl-C: {error}");
            return ExitCode::FAILURE;
        }
    };

    let listener = match TcpListener::bind(options.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {}: {error}", options.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = listener.local_addr().unwrap_or(options.listen);
    println!("listening on http://{address}");
    // Whoever started us waits for that line: don't leave it in a buffer.
    let _ = std::io::stdout().flush();

    match serve_with_shutdown(listener, policy, ctrl_c).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("server error: {error}");
            ExitCode::FAILURE
        }
    }
}
