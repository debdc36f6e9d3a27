//! `example-bucket-server`: an in-memory S3-style bucket server whose CORS
//! behaviour is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p example-bucket-server -- [--listen ADDR] [--bucket NAME[=FILE]]... [--store DIR] [--s3-exact]
//! ```
//!
//! - `--listen ADDR`: where to listen (default `127.0.0.1:8080`; port `0`
//!   picks a free one). The first line printed is always
//!   `listening on http://ADDR`, with the address actually bound.
//! - `--bucket NAME=FILE`: a bucket whose CORS configuration is the XML or
//!   JSON document in `FILE`; `--bucket NAME`: a bucket without CORS.
//!   Without any `--bucket`, one bucket `demo` with the three-rule example
//!   of the S3 documentation.
//! - `--store DIR`: keep bucket CORS in DIR, one file per bucket
//!   (`{bucket}.xml` or `{bucket}.json`), read through a cache: `PUT ?cors`
//!   survives a restart, and editing a file by hand changes the answers
//!   within a second (a file that does not validate is reported and the
//!   last good policy keeps serving). With a store, each `--bucket
//!   NAME=FILE` writes FILE's document to the store (replacing);
//!   `--bucket NAME` creates the bucket and leaves the store alone; with no
//!   `--bucket`, bucket `demo` exists and gets the built-in document only
//!   if the store has none for it.
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
    Buckets, Config, DEMO_BUCKET, DEMO_DOCUMENT, Registered, banner, is_valid_bucket_name,
    serve_with_shutdown, shutdown_signal,
};
use tower_s3_cors::source::ReadThrough;
use tower_s3_cors::store::{CorsStore, DirectoryStore, Lookup};
use tower_s3_cors::{Policy, SharedPolicy, VaryMode};

const USAGE: &str = "\
usage: example-bucket-server [--listen ADDR] [--bucket NAME[=FILE]]... [--store DIR] [--s3-exact]

  --listen ADDR        address to listen on (default 127.0.0.1:8080)
  --bucket NAME=FILE   a bucket whose CORS configuration (S3 XML or JSON) is in FILE
  --bucket NAME        a bucket without CORS (with --store: left as the store has it)
                       (no --bucket at all: bucket \"demo\" with a built-in configuration)
  --store DIR          keep bucket CORS in DIR ({bucket}.xml or .json): PUT ?cors
                       survives restarts, hand edits apply within a second
  --s3-exact           add Vary only on CORS matches, as S3 does
  -h, --help           print this help";

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    listen: String,
    buckets: Vec<(String, Option<PathBuf>)>,
    store: Option<String>,
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
    let config = match runtime.block_on(configure(&args)) {
        Ok(config) => config.vary_mode(vary),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args.listen, config, args.store.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The buckets and where their CORS comes from, as the arguments say.
async fn configure(args: &Args) -> Result<Config, String> {
    match &args.store {
        None if args.buckets.is_empty() => Ok(Config::demo()),
        None => load_buckets(&args.buckets).map(Config::new),
        Some(store) => with_store(store, &args.buckets).await,
    }
}

/// `--store DIR`: the buckets, with their CORS in the directory store,
/// started as the usage says.
async fn with_store(dir: &str, specs: &[(String, Option<PathBuf>)]) -> Result<Config, String> {
    let documents =
        DirectoryStore::open(dir).map_err(|e| format!("--store {dir}: cannot open it: {e}"))?;
    for (path, error) in documents
        .check()
        .map_err(|e| format!("--store {dir}: cannot list it: {e}"))?
    {
        eprintln!(
            "warning: {}: {}: {} ({error}); the bucket gets no CORS until it is fixed",
            path.display(),
            error.s3_code(),
            error.s3_message()
        );
    }
    let buckets = Buckets::path_style();
    if specs.is_empty() {
        buckets.create(DEMO_BUCKET);
    }
    for (name, _) in specs {
        buckets.create(name);
    }
    let store = Registered::new(buckets.clone(), documents);
    let failed = |name: &str| {
        let message = format!("--store {dir}: cannot write bucket {name:?}");
        move |e: tower_s3_cors::store::StoreError| format!("{message}: {e}")
    };
    for (name, file) in specs {
        if let Some(file) = file {
            let document = read_document(file)?;
            store.put(name, &document).await.map_err(failed(name))?;
        }
    }
    if specs.is_empty() {
        let found = store.get(DEMO_BUCKET).await.map_err(failed(DEMO_BUCKET))?;
        if matches!(found, Lookup::NotFound(_)) {
            store
                .put(DEMO_BUCKET, DEMO_DOCUMENT)
                .await
                .map_err(failed(DEMO_BUCKET))?;
        }
    }
    let source = ReadThrough::builder(store)
        .on_error(|bucket, error| eprintln!("warning: bucket {bucket:?}: {error}"))
        .build()
        .map_err(|e| e.to_string())?;
    Ok(Config::new(buckets).with_store(source))
}

/// The document in `file`, validated as S3 does. The error names the file
/// and S3's error code and message.
fn read_document(file: &PathBuf) -> Result<String, String> {
    let shown = file.display();
    let document = std::fs::read_to_string(file)
        .map_err(|e| format!("{shown}: cannot read the CORS document: {e}"))?;
    match Policy::from_document(&document) {
        Ok(_) => Ok(document),
        Err(e) => Err(format!(
            "{shown}: {}: {}\n  ({e})",
            e.s3_code(),
            e.s3_message()
        )),
    }
}

/// Binds, prints the banner, serves until Ctrl-C or `SIGTERM`.
async fn run(listen: &str, config: Config, store: Option<&str>) -> Result<(), String> {
    // Installed before anything is printed: whoever reads the first line may
    // signal at once.
    let signal = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let mut text = banner(addr, &shown_buckets(&config).await);
    if let Some(dir) = store {
        text.push_str(&format!(
            "\nBucket CORS is kept in {dir} ({{bucket}}.xml or .json): PUT ?cors writes there,\n\
             and editing a file changes the answers within a second.\n"
        ));
    }
    print_ignoring_errors(&text);
    serve_with_shutdown(listener, config, signal)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// The buckets and their policies now, for the banner: with a store, as
/// the store has them.
async fn shown_buckets(config: &Config) -> Buckets {
    let Some(source) = config.store() else {
        return config.buckets().clone();
    };
    let shown = Buckets::path_style();
    for name in config.buckets().names() {
        let handle = shown.create(&name);
        let configuration = source.configuration(&name).await.ok().flatten();
        if let Some(policy) = configuration.and_then(|c| Policy::compile(&c).ok()) {
            handle.store(policy);
        }
    }
    shown
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
        store: None,
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
            "--store" => {
                let store = value("--store")?;
                if store.is_empty() {
                    return Err("--store needs a directory".to_owned());
                }
                if store.contains("://") {
                    return Err(format!(
                        "--store {store}: this build keeps CORS in a directory only (etcd:// needs the `etcd` feature)"
                    ));
                }
                parsed.store = Some(store);
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

/// Creates the buckets and loads their documents (no store). The error
/// names the file and S3's error code and message.
fn load_buckets(specs: &[(String, Option<PathBuf>)]) -> Result<Buckets, String> {
    let buckets = Buckets::path_style();
    for (name, file) in specs {
        let cors = match file {
            None => SharedPolicy::empty(),
            Some(file) => SharedPolicy::from_document(&read_document(file)?)
                .map_err(|e| format!("{}: {e}", file.display()))?,
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
                store: None,
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
            store: Some("cors.d".to_owned()),
            s3_exact: true,
        });
        let spaced = [
            "--listen",
            "127.0.0.1:0",
            "--bucket",
            "photos=cors.xml",
            "--bucket",
            "plain",
            "--store",
            "cors.d",
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
            &["--store"],
            &["--store", ""],
            &["--store", "etcd://127.0.0.1:2379"],
            &["demo"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
