//! `example-s3s-server`: an S3-compatible file server (s3s + s3s-fs) whose
//! bucket CORS is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p example-s3s-server -- [--listen ADDR] [--root DIR] [--access-key KEY --secret-key SECRET] [--domain DOMAIN]
//! ```
//!
//! - `--listen ADDR`: where to listen (default `127.0.0.1:8014`; port `0`
//!   picks a free one). The first line printed is always
//!   `listening on http://ADDR`, with the address actually bound.
//! - `--root DIR`: the data directory (buckets are its directories; bucket
//!   CORS documents are in `DIR/.cors/`). Default: a fresh temporary
//!   directory, removed at exit.
//! - `--access-key KEY --secret-key SECRET`: the SigV4 credentials (both or
//!   neither); default: the AWS documentation's example pair, printed at
//!   start.
//! - `--domain DOMAIN`: also accept virtual-hosted-style requests,
//!   `{bucket}.DOMAIN` (with or without the listening port).
//!
//! Bad arguments exit with status 2 and the usage. Ctrl-C or `SIGTERM`
//! stops the server cleanly (status 0).

use std::net::ToSocketAddrs as _;
use std::path::PathBuf;
use std::process::ExitCode;

use example_s3s_server::{
    DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, Options, banner, build, check_domain,
    serve_with_shutdown, shutdown_signal, temporary_root,
};

const USAGE: &str = "\
usage: example-s3s-server [--listen ADDR] [--root DIR] [--access-key KEY --secret-key SECRET] [--domain DOMAIN]

  --listen ADDR        address to listen on (default 127.0.0.1:8014)
  --root DIR           data directory (default: a fresh temporary directory, removed at exit)
  --access-key KEY     SigV4 access key (default: the AWS documentation's example key)
  --secret-key SECRET  SigV4 secret key (given together with --access-key)
  --domain DOMAIN      also serve virtual-hosted-style requests to BUCKET.DOMAIN
  -h, --help           print this help";

const DEFAULT_LISTEN: &str = "127.0.0.1:8014";

/// The parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    listen: Option<String>,
    root: Option<PathBuf>,
    access_key: Option<String>,
    secret_key: Option<String>,
    domain: Option<String>,
}

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Run(Args),
    Help,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (root, temporary) = match &args.root {
        Some(root) if root.is_dir() => (root.clone(), false),
        Some(root) => {
            eprintln!("error: --root {}: not a directory", root.display());
            return ExitCode::from(2);
        }
        None => match temporary_root() {
            Ok(root) => (root, true),
            Err(error) => {
                eprintln!("error: cannot create a temporary root: {error}");
                return ExitCode::FAILURE;
            }
        },
    };
    let options = Options {
        root: root.clone(),
        access_key: args
            .access_key
            .unwrap_or_else(|| DEFAULT_ACCESS_KEY.to_owned()),
        secret_key: args
            .secret_key
            .unwrap_or_else(|| DEFAULT_SECRET_KEY.to_owned()),
        domain: args.domain,
    };
    let listen = args.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());

    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(&listen, &options, temporary)),
        Err(error) => Err(format!("cannot start the runtime: {error}")),
    };
    if temporary {
        let _ = std::fs::remove_dir_all(&root);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints the address and the banner, serves until Ctrl-C or
/// `SIGTERM`.
async fn run(listen: &str, options: &Options, temporary: bool) -> Result<(), String> {
    // Installed before anything is printed: whoever reads the first line may
    // signal at once.
    let signal = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let (service, cors, loaded) = build(options, addr.port()).await?;
    print_ignoring_errors(&format!(
        "listening on http://{addr}\n{}",
        banner(addr, options, temporary, &cors, &loaded)
    ));
    serve_with_shutdown(listener, service, signal)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// Prints to stdout; a closed stdout is no reason to stop serving.
fn print_ignoring_errors(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Parses the arguments (without the program name).
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut parsed = Args::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => {
                let listen = value("--listen")?;
                check_listen(&listen)?;
                set_once(&mut parsed.listen, "--listen", listen)?;
            }
            "--root" => {
                let root = value("--root")?;
                if parsed.root.replace(PathBuf::from(root)).is_some() {
                    return Err("--root is given twice".to_owned());
                }
            }
            "--access-key" => {
                let key = value("--access-key")?;
                set_once(&mut parsed.access_key, "--access-key", key)?;
            }
            "--secret-key" => {
                let key = value("--secret-key")?;
                set_once(&mut parsed.secret_key, "--secret-key", key)?;
            }
            "--domain" => {
                let domain = value("--domain")?;
                check_domain(&domain)?;
                set_once(&mut parsed.domain, "--domain", domain)?;
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if parsed.access_key.is_some() != parsed.secret_key.is_some() {
        return Err("--access-key and --secret-key go together".to_owned());
    }
    Ok(Command::Run(parsed))
}

fn set_once(slot: &mut Option<String>, name: &str, value: String) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("{name} is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// Checks that `--listen` names a socket address (`host:port`).
fn check_listen(listen: &str) -> Result<(), String> {
    match listen.to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(_) => Ok(()),
            None => Err(format!("--listen {listen}: the name has no address")),
        },
        Err(error) => Err(format!("--listen {listen}: {error} (expected HOST:PORT)")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn no_flags_use_the_defaults() {
        assert_eq!(parse(&[]), Ok(Command::Run(Args::default())));
    }

    #[test]
    fn every_flag_is_read_in_both_spellings() {
        let Ok(Command::Run(args)) = parse(&[
            "--listen=127.0.0.1:0",
            "--root",
            "/data",
            "--access-key",
            "AK",
            "--secret-key=SK",
            "--domain",
            "localhost",
        ]) else {
            panic!("parse failed");
        };
        assert_eq!(args.listen.as_deref(), Some("127.0.0.1:0"));
        assert_eq!(args.root, Some(PathBuf::from("/data")));
        assert_eq!(args.access_key.as_deref(), Some("AK"));
        assert_eq!(args.secret_key.as_deref(), Some("SK"));
        assert_eq!(args.domain.as_deref(), Some("localhost"));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for args in [
            &["--access-key", "AK"][..],
            &["--secret-key", "SK"],
            &["--listen", "nowhere"],
            &["--listen"],
            &["--domain", "bad_domain!"],
            &["--domain", "a", "--domain", "b"],
            &["--root="],
            &["--verbose"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
    }
}
