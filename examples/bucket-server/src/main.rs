//! `example-bucket-server`: an in-memory S3-style bucket server whose CORS
//! behaviour is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p example-bucket-server -- [--listen ADDR] [--bucket NAME[=FILE]]... [--s3-exact]
//! ```
//!
//! - `--listen ADDR`: where to listen (default `127.0.0.1:8080`; port `0`
//!   picks a free one). The first line printed is always
//!   `listening on http://ADDR`, with the address actually bound.
//! - `--bucket NAME=FILE`: a bucket whose CORS configuration is the XML or
//!   JSON document in `FILE`; `--bucket NAME`: a bucket without CORS.
//!   Without any `--bucket`, one bucket `demo` with the three-rule example
//!   of the S3 documentation.
//! - `--s3-exact`: send `Vary` only on CORS matches, as S3 does (the default
//!   adds it to every response of a bucket with CORS, which is cache-safe).
//!
//! A bad document exits with status 2 after printing the file name and S3's
//! error code and message; so do bad arguments (with the usage). Ctrl-C or
//! `SIGTERM` stops the server cleanly (status 0). The HTTP interface is
//! described in the library's documentation (`src/lib.rs`).

use std::net::ToSocketAddrs as _;
use std::path::PathBuf;
use std::process::ExitCode;

use example_bucket_server::{
    Buckets, Config, banner, is_valid_bucket_name, serve_with_shutdown, shutdown_signal,
};
use tower_s3_cors::{SharedPolicy, VaryMode};

const USAGE: &str = "\
usage: example-bucket-server [--listen ADDR] [--bucket NAME[=FILE]]... [--s3-exact]

  --listen ADDR        address to listen on (default 127.0.0.1:8080)
  --bucket NAME=FILE   a bucket whose CORS configuration (S3 XML or JSON) is in FILE
  --bucket NAME        a bucket without CORS
                       (no --bucket at all: bucket \"demo\" with a built-in configuration)
  --s3-exact           add Vary only on CORS matches, as S3 does
  -h, --help           print this help";

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    listen: String,
    buckets: Vec<(String, Option<PathBuf>)>,
    s3_exact: bool,
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
    let vary = if args.s3_exact {
        VaryMode::S3Exact
    } else {
        VaryMode::CacheSafe
    };
    let config = if args.buckets.is_empty() {
        Config::demo()
    } else {
        match load_buckets(&args.buckets) {
            Ok(buckets) => Config::new(buckets),
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        }
    };
    let config = config.vary_mode(vary);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args.listen, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Binds, prints the banner, serves until Ctrl-C or `SIGTERM`.
async fn run(listen: &str, config: Config) -> Result<(), String> {
    // Installed before anything is printed: whoever reads the first line may
    // signal at once.
    let signal = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    print_ignoring_errors(&banner(addr, config.buckets()));
    serve_with_shutdown(listener, config, signal)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// Prints to stdout; a closed stdout (the reader went away) is no reason to
/// stop serving.
fn print_ignoring_errors(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Parses the arguments (without the program name).
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut parsed = Args {
        listen: DEFAULT_LISTEN.to_owned(),
        buckets: Vec::new(),
        s3_exact: false,
    };
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
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(Command::Help),
            "--s3-exact" if inline.is_none() => parsed.s3_exact = true,
            "--listen" => {
                let listen = value("--listen")?;
                check_listen(&listen)?;
                parsed.listen = listen;
            }
            "--bucket" => {
                let spec = value("--bucket")?;
                let (name, file) = match spec.split_once('=') {
                    Some((name, "")) => {
                        return Err(format!("--bucket {name}=: the file name is missing"));
                    }
                    Some((name, file)) => (name.to_owned(), Some(PathBuf::from(file))),
                    None => (spec, None),
                };
                if !is_valid_bucket_name(&name) {
                    return Err(format!(
                        "invalid bucket name {name:?}: use 1 to 63 letters, digits, '.', '-' or '_'"
                    ));
                }
                if parsed
                    .buckets
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(&name))
                {
                    return Err(format!("bucket {name:?} is given twice"));
                }
                parsed.buckets.push((name, file));
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Command::Run(parsed))
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

/// Creates the buckets and loads their documents. The error names the file
/// and S3's error code and message.
fn load_buckets(specs: &[(String, Option<PathBuf>)]) -> Result<Buckets, String> {
    let buckets = Buckets::path_style();
    for (name, file) in specs {
        let cors = match file {
            None => SharedPolicy::empty(),
            Some(file) => {
                let shown = file.display();
                let document = std::fs::read_to_string(file)
                    .map_err(|e| format!("{shown}: cannot read the CORS document: {e}"))?;
                SharedPolicy::from_document(&document)
                    .map_err(|e| format!("{shown}: {}: {}\n  ({e})", e.s3_code(), e.s3_message()))?
            }
        };
        let _ = buckets.insert(name, cors);
    }
    Ok(buckets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|a| (*a).to_owned()))
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]),
            Ok(Command::Run(Args {
                listen: DEFAULT_LISTEN.to_owned(),
                buckets: vec![],
                s3_exact: false,
            }))
        );
    }

    #[test]
    fn all_flags_in_both_spellings() {
        let expected = Command::Run(Args {
            listen: "127.0.0.1:0".to_owned(),
            buckets: vec![
                ("photos".to_owned(), Some(PathBuf::from("cors.xml"))),
                ("plain".to_owned(), None),
            ],
            s3_exact: true,
        });
        let spaced = [
            "--listen",
            "127.0.0.1:0",
            "--bucket",
            "photos=cors.xml",
            "--bucket",
            "plain",
            "--s3-exact",
        ];
        assert_eq!(parse(&spaced), Ok(expected));
        let joined = [
            "--s3-exact",
            "--listen=127.0.0.1:0",
            "--bucket=photos=cors.xml",
            "--bucket=plain",
        ];
        assert!(
            matches!(parse(&joined), Ok(Command::Run(args)) if args.buckets.len() == 2 && args.s3_exact)
        );
    }

    #[test]
    fn help_wins() {
        assert_eq!(parse(&["--bucket", "x", "--help"]), Ok(Command::Help));
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn bad_arguments_are_errors() {
        for args in [
            &["--listen"][..],
            &["--listen", "nonsense"],
            &["--bucket"],
            &["--bucket", "a/b"],
            &["--bucket", "x="],
            &["--bucket", "x", "--bucket", "X"],
            &["--s3-exact=yes"],
            &["--verbose"],
            &["demo"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
