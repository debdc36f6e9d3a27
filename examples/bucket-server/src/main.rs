//! `example-bucket-server`: an in-memory S3-style bucket server whose CORS
//! behaviour is Amazon S3's, given by `tower-s3-cors`.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p example-bucket-server -- [--listen ADDR] [--bucket NAME[=FILE]]... [--store DIR|etcd://HOST:PORT[,HOST:PORT...][/PREFIX]] [--s3-exact] [--metrics ADDR] [--shadow NAME=FILE]...
//! cargo run --release -p example-bucket-server --features etcd -- --store etcds://HOST:PORT[,HOST:PORT...][/PREFIX] --etcd-cacert FILE [--etcd-cert FILE --etcd-key FILE] [--etcd-user NAME [--etcd-password-file FILE]] ...
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
//! - `--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]` (feature `etcd`:
//!   `cargo run --release -p example-bucket-server --features etcd -- …`,
//!   which needs `protoc` to build): keep bucket CORS in etcd (the members
//!   of a cluster separated by commas), under the key prefix
//!   PREFIX (`tower-s3-cors/buckets/` by default), read through a cache
//!   kept fresh by an etcd watch. Every instance started with the same URL
//!   serves the same CORS: a `PUT ?cors` on any of them reaches all of
//!   them. When etcd cannot be reached the server still starts (with a
//!   warning) and keeps serving the buckets it has cached; `?cors` writes
//!   and preflights for buckets it has not cached get S3's `503
//!   ServiceUnavailable` until etcd is back.
//!
//!   `--store etcds://…` reaches the members over TLS: `--etcd-cacert FILE`
//!   (the authority their certificates are signed by), `--etcd-cert FILE`
//!   and `--etcd-key FILE` (a client certificate for etcd's mutual TLS);
//!   `--etcd-user NAME` logs in as an etcd user, with the password from
//!   `$ETCD_PASSWORD` or the first line of `--etcd-password-file FILE`
//!   (never printed). An etcd that refuses the certificates or credentials
//!   at start-up stops the server with status 2 and an error naming the
//!   member; later, writes get `503` and cached buckets keep serving.
//!
//!   With either store, each `--bucket NAME=FILE` writes FILE's document to
//!   the store (replacing); `--bucket NAME` creates the bucket and leaves
//!   the store alone; with no `--bucket`, bucket `demo` exists and gets the
//!   built-in document only if the store has none for it. Start-up writes
//!   that etcd cannot take are made in the background once it answers.
//! - `--s3-exact`: send `Vary` only on CORS matches, as S3 does (the default
//!   adds it to every response of a bucket with CORS, which is cache-safe).
//! - `--metrics ADDR`: serve the process's metrics in Prometheus' text
//!   format at `http://ADDR/metrics`, on a listener of its own; the second
//!   line printed is then `metrics on http://ADDR/metrics`, with the
//!   address bound.
//! - `--shadow NAME=FILE`: bucket NAME's shadow document: evaluated beside
//!   its own on each of its CORS requests and counted
//!   (`s3_cors_shadow_total`), never answering. The bucket must exist.
//!
//! Logs go to stderr (`tracing`): every `503` answered, what the etcd store
//! says of failing members and change streams (lost, moved, resynced), the
//! leftover temporary files a directory store removed at start-up.
//!
//! A bad document exits with status 2 after printing the file name and S3's
//! error code and message; so do bad arguments (with the usage; arguments
//! are read with clap, and `--help` says all of this). Ctrl-C or `SIGTERM`
//! stops the server cleanly (status 0). The HTTP interface is described in
//! the library's documentation (`src/lib.rs`).

mod cli;
mod metrics;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use example_bucket_server::{
    Buckets, Config, DEMO_BUCKET, DEMO_DOCUMENT, banner, serve_with_shutdown, shutdown_signal,
};
use tower_s3_cors::source::{BucketCors as _, BucketError, ReadThrough};
use tower_s3_cors::store::{CorsStore, DirectoryStore};
use tower_s3_cors::{Policy, SharedPolicy, VaryMode};
#[cfg(feature = "etcd")]
use tower_s3_cors_etcd::{EtcdConfig, EtcdError, EtcdStore, EtcdTls};

use crate::cli::{Args, BucketArg, ShadowArg, StoreArg};

fn main() -> ExitCode {
    let args = Args::from_env();
    // Before anything registers a metric.
    let recorder = match args
        .metrics
        .as_ref()
        .map(|_| metrics::install())
        .transpose()
    {
        Ok(recorder) => recorder,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    // Logs go to stderr (stdout is the banner): warnings and what the etcd
    // store says of its members and change streams.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
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
    let (config, store_note) = match runtime
        .block_on(configure(&args))
        .and_then(|(config, note)| set_shadows(&config, &args.shadows).map(|()| (config, note)))
    {
        Ok((config, note)) => (config.vary_mode(vary), note),
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let metrics = args.metrics.as_deref().zip(recorder);
    match runtime.block_on(run(&args.listen, config, store_note.as_deref(), metrics)) {
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
            for leftover in documents.cleaned_up() {
                tracing::info!(
                    "--store {shown}: removed {}, the temporary file of a write that a crash \
                     interrupted",
                    leftover.display()
                );
            }
            for (path, error) in documents
                .check()
                .map_err(|e| format!("--store {shown}: cannot list it: {e}"))?
            {
                tracing::warn!(
                    "{}: {}: {} ({error}); the bucket gets no CORS until it is fixed",
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
            let etcd = &with_credentials((**etcd).clone(), args)?;
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
                // A member that answers and refuses the certificates or the
                // credentials will not change its mind: say so and stop.
                if let Some(refused) = EtcdError::of(&error).filter(|e| e.kind().is_configuration())
                {
                    return Err(format!("--store {shown}: {refused}"));
                }
                tracing::warn!(
                    "--store {shown}: etcd cannot be reached now ({error}); starting anyway: \
                     preflights get 503 ServiceUnavailable until it answers"
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
    specs: &[BucketArg],
    when_unavailable: WhenUnavailable,
) -> Result<Config, String> {
    let buckets = Buckets::path_style();
    let mut seeds = Vec::new();
    if specs.is_empty() {
        buckets.create(DEMO_BUCKET);
        seeds.push(Seed::DemoUnlessPresent);
    }
    for BucketArg { name, file } in specs {
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
        .on_error(|bucket, error| tracing::warn!("bucket {bucket:?}: {error}"))
        .build()
        .map_err(|e| e.to_string())?;
    let mut later = Vec::new();
    for seed in seeds {
        match seed.plant(&source).await {
            Ok(()) => {}
            Err(error) if is_transient(&error) && when_unavailable == WhenUnavailable::Retry => {
                tracing::warn!(
                    "--store {shown}: {} ({error}); it will be written once the store answers",
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
                Ok(()) => tracing::info!("--store {shown}: the store answers: {}", seed.done()),
                Err(error) if is_transient(&error) => left.push(seed),
                Err(error) => tracing::warn!("--store {shown}: {} ({error})", seed.failed()),
            }
        }
        seeds = left;
    }
}

/// `etcd` with the TLS files and the user of the `--etcd-*` flags; the
/// password from `$ETCD_PASSWORD` or `--etcd-password-file` (never shown).
#[cfg(feature = "etcd")]
fn with_credentials(mut etcd: EtcdConfig, args: &Args) -> Result<EtcdConfig, String> {
    if let Some(ca) = &args.etcd_cacert {
        let identity = args.etcd_cert.as_ref().zip(args.etcd_key.as_ref());
        let tls = EtcdTls::from_files(ca, identity).map_err(|e| format!("--etcd-*: {e}"))?;
        etcd = etcd.tls(tls);
    }
    let Some(user) = &args.etcd_user else {
        return Ok(etcd);
    };
    let from_env = std::env::var("ETCD_PASSWORD").ok();
    let password = match (&args.etcd_password_file, from_env) {
        (Some(_), Some(_)) => {
            return Err(
                "--etcd-user: the password is both in $ETCD_PASSWORD and in \
                 --etcd-password-file: give it once"
                    .to_owned(),
            );
        }
        (Some(file), None) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("--etcd-password-file {}: {e}", file.display()))?;
            text.lines().next().unwrap_or_default().to_owned()
        }
        (None, Some(password)) => password,
        (None, None) => {
            return Err(format!(
                "--etcd-user {user}: no password: set ETCD_PASSWORD or give \
                 --etcd-password-file FILE"
            ));
        }
    };
    if password.is_empty() {
        return Err(format!("--etcd-user {user}: the password is empty"));
    }
    Ok(etcd.user(user.clone(), password))
}

/// The URL of an etcd configuration, for messages.
#[cfg(feature = "etcd")]
fn etcd_url(etcd: &EtcdConfig) -> String {
    let tls = etcd.endpoints().iter().any(|e| e.starts_with("https://"));
    format!(
        "{}://{}/{}",
        if tls { "etcds" } else { "etcd" },
        shown_endpoints(etcd),
        etcd.key_prefix().trim_end_matches('/')
    )
}

/// The etcd members of a configuration, `HOST:PORT,…`.
#[cfg(feature = "etcd")]
fn shown_endpoints(etcd: &EtcdConfig) -> String {
    etcd.endpoints()
        .iter()
        .map(|endpoint| {
            endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"))
                .unwrap_or(endpoint)
        })
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

/// `--shadow`: each bucket's shadow document, set on the source that
/// serves the bucket's CORS. The error names the file or the bucket.
fn set_shadows(config: &Config, shadows: &[ShadowArg]) -> Result<(), String> {
    for ShadowArg { name, file } in shadows {
        if !config.buckets().contains(name) {
            return Err(format!(
                "--shadow {name}={}: there is no bucket {name:?} (give it with --bucket {name})",
                file.display()
            ));
        }
        let document = read_document(file)?;
        let set = match config.store() {
            Some(source) => source.put_shadow_document(name, &document),
            None => config.buckets().put_shadow_document(name, &document),
        };
        set.map_err(|e| format!("--shadow {name}={}: {e}", file.display()))?;
    }
    Ok(())
}

/// Binds, prints the banner (and `store_note` after it), serves until
/// Ctrl-C or `SIGTERM`; with `metrics`, serves them on that address too.
async fn run(
    listen: &str,
    config: Config,
    store_note: Option<&str>,
    metrics: Option<(&str, metrics_exporter_prometheus::PrometheusHandle)>,
) -> Result<(), String> {
    // Installed before anything is printed: whoever reads the first line may
    // signal at once.
    let signal = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    let (listener, addr) = bind(listen, "").await?;
    let metrics_line = match metrics {
        Some((listen_metrics, handle)) => {
            let (listener, bound) = bind(listen_metrics, "--metrics: ").await?;
            tokio::spawn(metrics::serve(listener, handle));
            Some(format!("metrics on http://{bound}/metrics\n"))
        }
        None => None,
    };
    let mut text = banner(addr, &shown_buckets(&config).await);
    if let Some(line) = metrics_line {
        // The second line: after `listening on …`, which stays the first.
        let first = text.find('\n').map_or(text.len(), |end| end + 1);
        text.insert_str(first, &line);
    }
    for name in config.buckets().names() {
        let shadow = match config.store() {
            Some(source) => source.shadow(&name),
            None => config.buckets().shadow(&name),
        };
        if let Some(shadow) = shadow {
            let rules = match shadow.len() {
                1 => "1 rule".to_owned(),
                n => format!("{n} rules"),
            };
            text.push_str(&format!(
                "\nBucket {name:?} has a shadow ({rules}): evaluated beside its CORS on each of its\n\
                 requests and counted in s3_cors_shadow_total, never answering. Promote it with a\n\
                 PUT of the same document to /{name}?cors.\n"
            ));
        }
    }
    if let Some(note) = store_note {
        text.push('\n');
        text.push_str(note);
    }
    print_ignoring_errors(&text);
    serve_with_shutdown(listener, config, signal)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// A listener on `listen`, and the address it bound; errors begin with
/// `context`.
async fn bind(
    listen: &str,
    context: &str,
) -> Result<(tokio::net::TcpListener, std::net::SocketAddr), String> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("{context}cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("{context}cannot read the bound address: {e}"))?;
    Ok((listener, addr))
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
                tracing::warn!("bucket {name:?}: cannot show its CORS: {error}");
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

/// Creates the buckets and loads their documents (no store). The error
/// names the file and S3's error code and message.
fn load_buckets(specs: &[BucketArg]) -> Result<Buckets, String> {
    let buckets = Buckets::path_style();
    for BucketArg { name, file } in specs {
        let cors = match file {
            None => SharedPolicy::empty(),
            Some(file) => SharedPolicy::from_document(&read_document(file)?)
                .map_err(|e| format!("{}: {e}", file.display()))?,
        };
        let _ = buckets.insert(name, cors);
    }
    Ok(buckets)
}

#[cfg(all(test, feature = "etcd"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn etcd_urls_are_shown_as_given() {
        for url in ["etcd://127.0.0.1:2379,h:1/fleet", "etcds://h:1,h:2/fleet"] {
            let config = EtcdConfig::from_url(url).unwrap();
            assert_eq!(etcd_url(&config), url);
        }
    }
}
