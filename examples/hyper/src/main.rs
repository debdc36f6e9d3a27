//! `example-hyper`: a hyper server with tower-s3-cors, tower-http's
//! `CorsLayer`, or no CORS layer, for comparing them under load.
//!
//! Run with `cargo run --release -p example-hyper -- --listen 127.0.0.1:3001 --mode s3cors`.
//!
//! Flags: `--listen ADDR` (default `127.0.0.1:3001`) and
//! `--mode s3cors|bare|tower-http|static-headers` (default `s3cors`;
//! `static-headers` is the load test's floor, see the library docs). The first line on
//! stdout is `listening on http://ADDR`, with the address actually bound.
//! Ctrl-C stops it cleanly.

use std::net::SocketAddr;
use std::process::ExitCode;

use example_hyper::{Mode, bind, serve};

const USAGE: &str =
    "usage: example-hyper [--listen ADDR] [--mode s3cors|bare|tower-http|static-headers]";

struct Args {
    listen: SocketAddr,
    mode: Mode,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 3001)),
        mode: Mode::default(),
    };
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => {
                let value = value()?;
                args.listen = value
                    .parse()
                    .map_err(|err| format!("--listen {value:?}: {err}"))?;
            }
            "--mode" => args.mode = value()?.parse()?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("example-hyper: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (listener, addr) = match bind(args.listen).await {
        Ok(bound) => bound,
        Err(err) => {
            eprintln!("example-hyper: cannot listen on {}: {err}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{addr}");
    eprintln!("mode {}; Ctrl-C to stop", args.mode);
    let ctrl_c = async {
        // If the signal handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match serve(listener, args.mode, ctrl_c).await {
        Ok(()) => {
            eprintln!("stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("example-hyper: {err}");
            ExitCode::FAILURE
        }
    }
}
