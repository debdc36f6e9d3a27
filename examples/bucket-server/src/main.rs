//! `example-bucket-server`: an in-memory S3-style bucket server whose CORS
//! behaviour is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p example-bucket-server -- [--listen ADDR] [--bucket NAME[=FILE]]... [--store DIR|etcd://HOST:PORT[/PREFIX]] [--s3-exact]
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
//!   last good policy keeps serving).
//! - `--store etcd://HOST:PORT[/PREFIX]` (feature `etcd`: `cargo run
//!   --release -p example-bucket-server --features etcd -- …`, which needs
//!   `protoc` to build): keep bucket CORS in etcd, under the key prefix
//!   PREFIX (`tower-s3-cors/buckets/` by default), read through a cache
//!   kept fresh by an etcd watch. Every instance started with the same URL
//!   serves the same CORS: a `PUT ?cors` on any of them reaches all of
//!   them. When etcd cannot be reached the server still starts (with a
//!   warning) and keeps serving the buckets it has cached; `?cors` writes
//!   and preflights for buckets it has not cached get S3's `503
//!   ServiceUnavailable` until etcd is back.
//!
//!   With either store, each `--bucket NAME=FILE` writes FILE's document to
//!   the store (replacing); `--bucket NAME` creates the bucket and leaves
//!   the store alone; with no `--bucket`, bucket `demo` exists and gets the
//!   built-in document only if the store has none for it. Start-up writes
//!   that etcd cannot take are made in the background once it answers.
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
use std::time::Duration;

use example_bucket_server::{
    Buckets, Config, DEMO_BUCKET, DEMO_DOCUMENT, banner, is_valid_bucket_name, serve_with_shutdown,
    shutdown_signal,
};
use tower_s3_cors::source::{BucketCors as _, BucketError, ReadThrough};
use tower_s3_cors::store::{CorsStore, DirectoryStore};
use tower_s3_cors::{Policy, SharedPolicy, VaryMode};
#[cfg(feature = "etcd")]
use tower_s3_cors_etcd::{EtcdConfig, EtcdStore};

const USAGE: &str = "\
usage: example-bucket-server [--listen ADDR] [--bucket NAME[=FILE]]... [--store DIR|etcd://HOST:PORT[/PREFIX]] [--s3-exact]

  --listen ADDR        address to listen on (default 127.0.0.1:8080)
  --bucket NAME=FILE   a bucket whose CORS configuration (S3 XML or JSON) is in FILE
  --bucket NAME        a bucket without CORS (with --store: left as the store has it)
                       (no --bucket at all: bucket \"demo\" with a built-in configuration)
  --store DIR          keep bucket CORS in DIR ({bucket}.xml or .json): PUT ?cors
                       survives restarts, hand edits apply within a second
  --store etcd://HOST:PORT[/PREFIX]
                       keep bucket CORS in etcd, shared by every instance with the
                       same URL (needs the `etcd` feature: --features etcd)
  --s3-exact           add Vary only on CORS matches, as S3 does
  -h, --help           print this help";

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    listen: String,
    buckets: Vec<(String, Option<PathBuf>)>,
    store: Option<StoreArg>,
    s3_exact: bool,
}

/// Where `--store` keeps bucket CORS.
#[derive(Debug, PartialEq, Eq)]
enum StoreArg {
    /// A directory of documents.
    Directory(PathBuf),
    /// etcd, from an `etcd://` URL.
    #[cfg(feature = "etcd")]
    Etcd(EtcdConfig),
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
    let (config, store_note) = match runtime.block_on(configure(&args)) {
        Ok((config, note)) => (config.vary_mode(vary), note),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(&args.listen, config, store_note.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The buckets and where their CORS comes from, as the arguments say; with
/// a store, what the banner says about it.
async fn configure(args: &Args) -> Result<(Config, Option<String>), String> {
    let store = match &args.store {
        None if args.buckets.is_empty() => return Ok((Config::demo(), None)),
        None => return load_buckets(&args.buckets).map(|buckets| (Config::new(buckets), None)),
        Some(store) => store,
    };
    match store {
        StoreArg::Directory(dir) => {
            let shown = dir.display().to_string();
            let documents = DirectoryStore::open(dir)
                .map_err(|e| format!("--store {shown}: cannot open it: {e}"))?;
            for (path, error) in documents
                .check()
                .map_err(|e| format!("--store {shown}: cannot list it: {e}"))?
            {
                eprintln!(
                    "warning: {}: {}: {} ({error}); the bucket gets no CORS until it is fixed",
                    path.display(),
                    error.s3_code(),
                    error.s3_message()
                );
            }
            let note = format!(
                "Bucket CORS is kept in {shown} ({{bucket}}.xml or .json): PUT ?cors writes there,\n\
                 and editing a file changes the answers within a second.\n"
            );
            let config =
                with_store(&shown, documents, &args.buckets, WhenUnavailable::Exit).await?;
            Ok((config, Some(note)))
        }
        #[cfg(feature = "etcd")]
        StoreArg::Etcd(etcd) => {
            let shown = etcd_url(etcd);
            let documents = EtcdStore::connect(etcd.clone())
                .await
                .map_err(|e| format!("--store {shown}: {e}"))?;
            let mut note = format!(
                "Bucket CORS is kept in etcd at {} (key {}{{bucket}}): a PUT ?cors on any\n\
                 instance started with this --store reaches all of them. Without etcd, cached\n\
                 buckets keep serving; ?cors writes and uncached buckets' preflights get 503.\n",
                shown_endpoints(etcd),
                etcd.key_prefix(),
            );
            if let Err(error) = documents.current_revision().await {
                eprintln!(
                    "warning: --store {shown}: etcd cannot be reached now ({error}); starting \
                     anyway: preflights get 503 ServiceUnavailable until it answers"
                );
                note.push_str("etcd could not be reached at start-up: the CORS shown above is what could be read.\n");
            }
            let config =
                with_store(&shown, documents, &args.buckets, WhenUnavailable::Retry).await?;
            Ok((config, Some(note)))
        }
    }
}

/// What start-up does when the store cannot be reached to write the
/// documents the command line gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WhenUnavailable {
    /// Fail (a directory that cannot be written will not get better).
    Exit,
    /// Start anyway, and write them once the store answers (etcd is a
    /// service that comes back).
    Retry,
}

/// `--store`: the buckets, with their CORS in `documents` (`shown` in
/// messages) read through a cache, started as the usage says.
async fn with_store<S: CorsStore + 'static>(
    shown: &str,
    documents: S,
    specs: &[(String, Option<PathBuf>)],
    when_unavailable: WhenUnavailable,
) -> Result<Config, String> {
    let buckets = Buckets::path_style();
    let mut seeds = Vec::new();
    if specs.is_empty() {
        buckets.create(DEMO_BUCKET);
        seeds.push(Seed::DemoUnlessPresent);
    }
    for (name, file) in specs {
        buckets.create(name);
        if let Some(file) = file {
            seeds.push(Seed::Document {
                bucket: name.clone(),
                document: read_document(file)?,
            });
        }
    }
    let registry = buckets.clone();
    let source = ReadThrough::builder(documents)
        .bucket_exists(move |bucket: &str| registry.contains(bucket))
        .on_error(|bucket, error| eprintln!("warning: bucket {bucket:?}: {error}"))
        .build()
        .map_err(|e| e.to_string())?;
    let mut later = Vec::new();
    for seed in seeds {
        match seed.plant(&source).await {
            Ok(()) => {}
            Err(error) if is_transient(&error) && when_unavailable == WhenUnavailable::Retry => {
                eprintln!(
                    "warning: --store {shown}: {} ({error}); it will be written once the store answers",
                    seed.failed()
                );
                later.push(seed);
            }
            Err(error) => return Err(format!("--store {shown}: {} ({error})", seed.failed())),
        }
    }
    if !later.is_empty() {
        tokio::spawn(plant_later(source.clone(), later, shown.to_owned()));
    }
    Ok(Config::new(buckets).with_store(source))
}

/// A write start-up makes to the store (see the usage).
#[derive(Debug)]
enum Seed {
    /// `--bucket NAME=FILE`: FILE's document, replacing the store's.
    Document { bucket: String, document: String },
    /// No `--bucket`: the built-in document for [`DEMO_BUCKET`], only if the
    /// store has none for it.
    DemoUnlessPresent,
}

impl Seed {
    /// Writes it through `source` (its cache serves it at once).
    async fn plant(&self, source: &ReadThrough) -> Result<(), BucketError> {
        match self {
            Self::Document { bucket, document } => source.put_document(bucket, document).await,
            Self::DemoUnlessPresent => match source.get_document(DEMO_BUCKET).await {
                Ok(None) => source.put_document(DEMO_BUCKET, DEMO_DOCUMENT).await,
                Ok(Some(_)) => Ok(()),
                // A document that does not read is the store's all the
                // same (reported when loaded): only a missing one is
                // replaced.
                Err(error) if error.is_invalid() => Ok(()),
                Err(error) => Err(error),
            },
        }
    }

    /// What was done, for messages.
    fn done(&self) -> String {
        match self {
            Self::Document { bucket, .. } => format!("wrote the document of bucket {bucket:?}"),
            Self::DemoUnlessPresent => format!("bucket {DEMO_BUCKET:?} has a document"),
        }
    }

    /// What could not be done, for messages.
    fn failed(&self) -> String {
        match self {
            Self::Document { bucket, .. } => format!("cannot write bucket {bucket:?}"),
            Self::DemoUnlessPresent => {
                format!("cannot read or write bucket {DEMO_BUCKET:?}")
            }
        }
    }
}

/// Whether `error` may go away by itself: the store is down or slow.
fn is_transient(error: &BucketError) -> bool {
    error.is_unavailable()
}

/// Writes the start-up documents the store could not take at start-up,
/// retrying with a growing pause (up to 2 s, as the etcd store's watch
/// reconnects) until each is written.
async fn plant_later(source: ReadThrough, mut seeds: Vec<Seed>, shown: String) {
    let mut pause = Duration::from_millis(100);
    while !seeds.is_empty() {
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
        let mut left = Vec::new();
        for seed in seeds {
            match seed.plant(&source).await {
                Ok(()) => eprintln!("--store {shown}: the store answers: {}", seed.done()),
                Err(error) if is_transient(&error) => left.push(seed),
                Err(error) => eprintln!("warning: --store {shown}: {} ({error})", seed.failed()),
            }
        }
        seeds = left;
    }
}

/// The URL of an etcd configuration, for messages.
#[cfg(feature = "etcd")]
fn etcd_url(etcd: &EtcdConfig) -> String {
    format!(
        "etcd://{}/{}",
        shown_endpoints(etcd),
        etcd.key_prefix().trim_end_matches('/')
    )
}

/// The etcd members of a configuration, `HOST:PORT,…`.
#[cfg(feature = "etcd")]
fn shown_endpoints(etcd: &EtcdConfig) -> String {
    etcd.endpoints()
        .iter()
        .map(|endpoint| endpoint.strip_prefix("http://").unwrap_or(endpoint))
        .collect::<Vec<_>>()
        .join(",")
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

/// Binds, prints the banner (and `store_note` after it), serves until
/// Ctrl-C or `SIGTERM`.
async fn run(listen: &str, config: Config, store_note: Option<&str>) -> Result<(), String> {
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
    if let Some(note) = store_note {
        text.push('\n');
        text.push_str(note);
    }
    print_ignoring_errors(&text);
    serve_with_shutdown(listener, config, signal)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// The buckets and their policies now, for the banner: with a store, as
/// the store has them (a bucket it cannot tell about now is shown without
/// CORS, with a warning).
async fn shown_buckets(config: &Config) -> Buckets {
    let Some(source) = config.store() else {
        return config.buckets().clone();
    };
    let shown = Buckets::path_style();
    for name in config.buckets().names() {
        let handle = shown.create(&name);
        let configuration = match source.get_document(&name).await {
            Ok(configuration) => configuration,
            Err(error) => {
                eprintln!("warning: bucket {name:?}: cannot show its CORS: {error}");
                None
            }
        };
        if let Some(policy) = configuration.and_then(|c| Policy::compile(&c).ok()) {
            handle.put(policy);
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
            "--store" => parsed.store = Some(parse_store(value("--store")?)?),
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

/// `--store`'s value: a directory, or (feature `etcd`) an `etcd://` URL.
fn parse_store(store: String) -> Result<StoreArg, String> {
    if store.is_empty() {
        return Err("--store needs a directory or an etcd://HOST:PORT[/PREFIX] URL".to_owned());
    }
    let Some((scheme, _)) = store.split_once("://") else {
        return Ok(StoreArg::Directory(PathBuf::from(store)));
    };
    if scheme != "etcd" {
        return Err(format!(
            "--store {store}: {scheme}:// is not a store; use a directory or etcd://HOST:PORT[/PREFIX]"
        ));
    }
    #[cfg(feature = "etcd")]
    {
        EtcdConfig::from_url(&store)
            .map(StoreArg::Etcd)
            .map_err(|e| format!("--store {store}: {e}"))
    }
    #[cfg(not(feature = "etcd"))]
    {
        Err(format!(
            "--store {store}: this build keeps CORS in a directory only; for etcd, build with the \
             `etcd` feature (cargo run --release -p example-bucket-server --features etcd -- …), \
             which needs protoc (Debian: apt-get install protobuf-compiler)"
        ))
    }
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
            store: Some(StoreArg::Directory(PathBuf::from("cors.d"))),
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
            &["--store", "http://127.0.0.1:2379"],
            &["demo"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[cfg(not(feature = "etcd"))]
    #[test]
    fn etcd_urls_say_how_to_get_the_feature() {
        let Err(error) = parse(&["--store", "etcd://127.0.0.1:2379/fleet"]) else {
            panic!("an etcd URL needs the feature");
        };
        assert!(error.contains("--features etcd"), "{error}");
        assert!(error.contains("protobuf-compiler"), "{error}");
    }

    #[cfg(feature = "etcd")]
    #[test]
    fn etcd_urls_are_read_as_the_etcd_crate_reads_them() {
        let Ok(Command::Run(args)) = parse(&["--store", "etcd://127.0.0.1:2379/fleet"]) else {
            panic!("an etcd URL is a store");
        };
        let Some(StoreArg::Etcd(config)) = &args.store else {
            panic!("{:?}", args.store);
        };
        assert_eq!(config.endpoints(), ["http://127.0.0.1:2379"]);
        assert_eq!(config.key_prefix(), "fleet/");
        assert_eq!(etcd_url(config), "etcd://127.0.0.1:2379/fleet");
        for bad in [
            "etcd://",
            "etcd://127.0.0.1:99999",
            "etcd://h/a b",
            "etcd://u@h",
        ] {
            let Err(error) = parse(&["--store", bad]) else {
                panic!("{bad} is not a store");
            };
            assert!(error.starts_with(&format!("--store {bad}: ")), "{error}");
        }
    }
}
