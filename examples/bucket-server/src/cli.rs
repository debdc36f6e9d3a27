//! The command line of `example-bucket-server`, read with clap.

use std::net::ToSocketAddrs as _;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{CommandFactory as _, Parser};
use example_bucket_server::is_valid_bucket_name;
#[cfg(feature = "etcd")]
use tower_s3_cors_etcd::EtcdConfig;

/// Where `--listen` points unless it is given.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// An in-memory S3-style bucket server whose CORS is Amazon S3's
/// (tower-s3-cors demo).
///
/// Without arguments it serves one bucket, "demo", with the three-rule
/// example of the S3 documentation, on 127.0.0.1:8080, and prints curl
/// commands to try. The first line printed is always `listening on
/// http://ADDR`, with the address actually bound.
#[derive(Debug, PartialEq, Eq, Parser)]
#[command(
    name = "example-bucket-server",
    override_usage = "example-bucket-server [--listen ADDR] [--bucket NAME[=FILE]]... \
                      [--store DIR|etcd://HOST:PORT[,HOST:PORT...][/PREFIX]] [--s3-exact] \
                      [--metrics ADDR] [--shadow NAME=FILE]...\n       \
                      example-bucket-server --store etcds://HOST:PORT[,HOST:PORT...][/PREFIX] \
                      --etcd-cacert FILE [--etcd-cert FILE --etcd-key FILE] \
                      [--etcd-user NAME [--etcd-password-file FILE]] ...",
    // A flag given twice: the last one counts.
    args_override_self = true,
    after_help = "The etcd user's password is read from the environment variable \
                  ETCD_PASSWORD, or from the file given with --etcd-password-file; it is \
                  never printed. Logs (a failing store, a 503 answered, an etcd watch lost, \
                  moved and resynced, a member back) go to stderr.\n\n\
                  Exit status: 0 after Ctrl-C or SIGTERM; 2 for bad arguments, a bad CORS \
                  document (the file and S3's error code and message are printed), or an \
                  etcd that refuses the certificates or credentials at start-up; 1 when the \
                  server cannot run."
)]
pub(crate) struct Args {
    /// Address to listen on (port 0 picks a free one)
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN, value_parser = listen)]
    pub(crate) listen: String,

    /// A bucket, with its CORS document (S3 XML or JSON) in FILE; repeatable
    ///
    /// NAME=FILE: the bucket's CORS configuration is in FILE (with --store:
    /// written to the store, replacing). NAME alone: a bucket without CORS
    /// (with --store: left as the store has it). Without any --bucket:
    /// bucket "demo" with a built-in configuration (with --store: written
    /// only if the store has none for it). Bucket names are 1 to 63
    /// letters, digits, '.', '-' or '_', matched case-insensitively.
    #[arg(long = "bucket", value_name = "NAME[=FILE]", value_parser = bucket)]
    pub(crate) buckets: Vec<BucketArg>,

    /// Where bucket CORS is kept: a directory, or etcd
    ///
    /// DIR: one file per bucket ({bucket}.xml or {bucket}.json); PUT ?cors
    /// survives restarts and hand edits apply within a second.
    ///
    /// etcd://HOST:PORT[,HOST:PORT...][/PREFIX]: the members of an etcd
    /// cluster, separated by commas (port 2379 when left out), and the key
    /// prefix of the documents (tower-s3-cors/buckets/ by default); every
    /// instance started with the same URL serves the same CORS (needs the
    /// `etcd` feature: cargo run -p example-bucket-server --features etcd).
    /// etcds://…: the same over TLS (with --etcd-cacert).
    #[arg(long = "store", value_name = "DIR|URL")]
    store_text: Option<String>,

    /// `--store`, read (after clap, so that an error never echoes a
    /// password someone put in the URL).
    #[arg(skip)]
    pub(crate) store: Option<StoreArg>,

    /// The certificate authority etcd's members must be signed by (PEM;
    /// with --store etcds://)
    #[arg(long, value_name = "FILE")]
    pub(crate) etcd_cacert: Option<PathBuf>,

    /// A client certificate for etcd's --client-cert-auth (PEM; with
    /// --etcd-key)
    #[arg(long, value_name = "FILE", requires = "etcd_key")]
    pub(crate) etcd_cert: Option<PathBuf>,

    /// The client certificate's private key (PEM; with --etcd-cert)
    #[arg(long, value_name = "FILE", requires = "etcd_cert")]
    pub(crate) etcd_key: Option<PathBuf>,

    /// The etcd user to log in as; the password comes from $ETCD_PASSWORD or
    /// --etcd-password-file
    #[arg(long, value_name = "NAME")]
    pub(crate) etcd_user: Option<String>,

    /// A file whose first line is the etcd user's password (instead of
    /// $ETCD_PASSWORD)
    #[arg(long, value_name = "FILE", requires = "etcd_user")]
    pub(crate) etcd_password_file: Option<PathBuf>,

    /// Send Vary only on CORS matches, as S3 does
    ///
    /// By default every response of a bucket with CORS gets Vary, which is
    /// cache-safe.
    #[arg(long)]
    pub(crate) s3_exact: bool,

    /// Serve metrics in Prometheus' text format at http://ADDR/metrics
    ///
    /// On a listener of its own (port 0 picks a free one; the second line
    /// printed is `metrics on http://ADDR/metrics`, with the address
    /// bound): CORS outcomes (s3_cors_requests_total), shadow verdicts
    /// (s3_cors_shadow_total), the store cache's loads, failures, size and
    /// evictions, and with an etcd store its change streams.
    #[arg(long, value_name = "ADDR", value_parser = listen)]
    pub(crate) metrics: Option<String>,

    /// A shadow CORS document for bucket NAME, in FILE (S3 XML or JSON);
    /// repeatable
    ///
    /// Evaluated beside the bucket's own rules on each of its CORS
    /// requests, without changing any answer: the verdicts of both are
    /// counted (s3_cors_shadow_total, with --metrics). The bucket must
    /// exist (the demo bucket, or a --bucket). To promote it, PUT the same
    /// document to /NAME?cors.
    #[arg(long = "shadow", value_name = "NAME=FILE", value_parser = shadow)]
    pub(crate) shadows: Vec<ShadowArg>,
}

/// One `--shadow`: a bucket and the file of its shadow document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ShadowArg {
    pub(crate) name: String,
    pub(crate) file: PathBuf,
}

/// One `--bucket`: a name, and the file of its document if it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BucketArg {
    pub(crate) name: String,
    pub(crate) file: Option<PathBuf>,
}

/// Where `--store` keeps bucket CORS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoreArg {
    /// A directory of documents.
    Directory(PathBuf),
    /// etcd, from an `etcd://` or `etcds://` URL.
    #[cfg(feature = "etcd")]
    Etcd(Box<EtcdConfig>),
}

impl Args {
    /// The arguments of this process; on bad ones, the error and the usage
    /// on stderr and exit status 2; `--help` prints the help and exits 0.
    pub(crate) fn from_env() -> Self {
        match Self::try_parse_from(std::env::args_os()) {
            Ok(args) => args,
            // Help goes to stdout, with status 0.
            Err(error) if !error.use_stderr() => error.exit(),
            Err(error) => {
                eprint!("{}", with_usage(&error));
                std::process::exit(2);
            }
        }
    }

    /// Parses `args` (the program name first) and checks what clap cannot:
    /// a bucket given twice.
    pub(crate) fn try_parse_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut args = <Self as Parser>::try_parse_from(args)?;
        if let Some(text) = args.store_text.take() {
            let store = store(&text).map_err(|why| {
                Self::command().error(
                    ErrorKind::ValueValidation,
                    format!("invalid value for --store: {why}"),
                )
            })?;
            args.store = Some(store);
        }
        if let Some(message) = args.etcd_flags_mismatch() {
            return Err(Self::command().error(ErrorKind::ArgumentConflict, message));
        }
        let shadows = args.shadows.iter().map(|shadow| shadow.name.as_str());
        if let Some(name) = given_twice(shadows) {
            return Err(Self::command().error(
                ErrorKind::ArgumentConflict,
                format!("--shadow: bucket {name:?} is given twice"),
            ));
        }
        if let Some(name) = given_twice(args.buckets.iter().map(|bucket| bucket.name.as_str())) {
            return Err(Self::command().error(
                ErrorKind::ArgumentConflict,
                format!("bucket {name:?} is given twice"),
            ));
        }
        Ok(args)
    }
}

impl Args {
    /// What is wrong with the `--etcd-*` flags given with this `--store`,
    /// if anything.
    fn etcd_flags_mismatch(&self) -> Option<String> {
        let flags = [
            ("--etcd-cacert", self.etcd_cacert.is_some()),
            ("--etcd-cert", self.etcd_cert.is_some()),
            ("--etcd-key", self.etcd_key.is_some()),
            ("--etcd-user", self.etcd_user.is_some()),
            ("--etcd-password-file", self.etcd_password_file.is_some()),
        ];
        let given = flags
            .iter()
            .find(|(_, given)| *given)
            .map(|(flag, _)| *flag);
        match &self.store {
            #[cfg(feature = "etcd")]
            Some(StoreArg::Etcd(config)) => {
                let tls = config.endpoints().iter().all(|e| e.starts_with("https://"));
                match (tls, self.etcd_cacert.is_some()) {
                    (true, false) => Some(
                        "--store etcds://… needs --etcd-cacert FILE, the authority etcd's \
                         certificates are signed by"
                            .to_owned(),
                    ),
                    (false, true) => Some(
                        "--etcd-cacert is for TLS: give the members as etcds://HOST:PORT,…"
                            .to_owned(),
                    ),
                    (false, false) if self.etcd_cert.is_some() => Some(
                        "--etcd-cert is for TLS: give the members as etcds://HOST:PORT,… with \
                         --etcd-cacert"
                            .to_owned(),
                    ),
                    _ => None,
                }
            }
            _ => given.map(|flag| format!("{flag} is for --store etcd://… or etcds://…")),
        }
    }
}

/// The first bucket name given a second time (names are matched without
/// regard to case), if any.
fn given_twice<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    names
        .clone()
        .enumerate()
        .find(|&(i, name)| {
            names
                .clone()
                .take(i)
                .any(|earlier| earlier.eq_ignore_ascii_case(name))
        })
        .map(|(_, name)| name)
}

/// The text of `error`, with the usage (clap leaves it out of some errors,
/// such as a missing value).
fn with_usage(error: &clap::Error) -> String {
    let text = error.render().to_string();
    if text.contains("Usage:") {
        return text;
    }
    let usage = Args::command().render_usage();
    match text.split_once("\n\nFor more information") {
        Some((message, more)) => format!("{message}\n\n{usage}\n\nFor more information{more}"),
        None => format!("{}\n\n{usage}\n", text.trim_end()),
    }
}

/// `--listen`: a socket address (`host:port`).
fn listen(listen: &str) -> Result<String, String> {
    match listen.to_socket_addrs() {
        Ok(mut addrs) => match addrs.next() {
            Some(_) => Ok(listen.to_owned()),
            None => Err("the name has no address".to_owned()),
        },
        Err(error) => Err(format!("{error} (expected HOST:PORT)")),
    }
}

/// `--bucket NAME[=FILE]`.
fn bucket(spec: &str) -> Result<BucketArg, String> {
    let (name, file) = match spec.split_once('=') {
        Some((_, "")) => return Err("the file name is missing".to_owned()),
        Some((name, file)) => (name, Some(PathBuf::from(file))),
        None => (spec, None),
    };
    if !is_valid_bucket_name(name) {
        return Err(format!(
            "invalid bucket name {name:?}: use 1 to 63 letters, digits, '.', '-' or '_'"
        ));
    }
    Ok(BucketArg {
        name: name.to_owned(),
        file,
    })
}

/// `--shadow NAME=FILE`.
fn shadow(spec: &str) -> Result<ShadowArg, String> {
    match bucket(spec)? {
        BucketArg {
            name,
            file: Some(file),
        } => Ok(ShadowArg { name, file }),
        BucketArg { file: None, .. } => Err("expected NAME=FILE".to_owned()),
    }
}

/// `--store`'s value: a directory, or (feature `etcd`) an `etcd://` URL.
fn store(store: &str) -> Result<StoreArg, String> {
    if store.is_empty() {
        return Err("--store needs a directory or an etcd://HOST:PORT[/PREFIX] URL".to_owned());
    }
    let Some((scheme, _)) = store.split_once("://") else {
        return Ok(StoreArg::Directory(PathBuf::from(store)));
    };
    if scheme != "etcd" && scheme != "etcds" {
        return Err(format!(
            "{scheme}:// is not a store; use a directory, etcd://HOST:PORT[/PREFIX] or \
             etcds://HOST:PORT[/PREFIX] (TLS)"
        ));
    }
    // Said before the URL is read: the error must not show a password.
    if store.contains('@') {
        return Err(format!(
            "{scheme}://…: the URL has user information; give the user with --etcd-user \
             and the password in $ETCD_PASSWORD or with --etcd-password-file"
        ));
    }
    #[cfg(feature = "etcd")]
    {
        EtcdConfig::from_url(store)
            .map(|config| StoreArg::Etcd(Box::new(config)))
            .map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "etcd"))]
    {
        Err(format!(
            "{store}: this build keeps CORS in a directory only; for etcd, build with the \
             `etcd` feature (cargo run --release -p example-bucket-server --features etcd -- …), \
             which needs protoc (Debian: apt-get install protobuf-compiler)"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("example-bucket-server").chain(args.iter().copied()))
    }

    #[test]
    fn the_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]).unwrap(),
            Args {
                listen: DEFAULT_LISTEN.to_owned(),
                buckets: vec![],
                store_text: None,
                store: None,
                s3_exact: false,
                metrics: None,
                shadows: vec![],
                etcd_cacert: None,
                etcd_cert: None,
                etcd_key: None,
                etcd_user: None,
                etcd_password_file: None,
            }
        );
    }

    #[test]
    fn all_flags_in_both_spellings() {
        let expected = Args {
            listen: "127.0.0.1:0".to_owned(),
            buckets: vec![
                BucketArg {
                    name: "photos".to_owned(),
                    file: Some(PathBuf::from("cors.xml")),
                },
                BucketArg {
                    name: "plain".to_owned(),
                    file: None,
                },
            ],
            store_text: None,
            store: Some(StoreArg::Directory(PathBuf::from("cors.d"))),
            s3_exact: true,
            metrics: Some("127.0.0.1:0".to_owned()),
            shadows: vec![ShadowArg {
                name: "photos".to_owned(),
                file: PathBuf::from("next.json"),
            }],
            etcd_cacert: None,
            etcd_cert: None,
            etcd_key: None,
            etcd_user: None,
            etcd_password_file: None,
        };
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
            "--metrics",
            "127.0.0.1:0",
            "--shadow",
            "photos=next.json",
        ];
        assert_eq!(parse(&spaced).unwrap(), expected);
        let joined = [
            "--s3-exact",
            "--listen=127.0.0.1:0",
            "--bucket=photos=cors.xml",
            "--bucket=plain",
            "--store=cors.d",
            "--metrics=127.0.0.1:0",
            "--shadow=photos=next.json",
        ];
        assert_eq!(parse(&joined).unwrap(), expected);
        // The last of a flag given twice counts.
        let twice = parse(&["--listen", "127.0.0.1:1", "--listen", "127.0.0.1:0"]).unwrap();
        assert_eq!(twice.listen, "127.0.0.1:0");
    }

    #[test]
    fn help_wins() {
        for args in [&["--bucket", "x", "--help"][..], &["-h"]] {
            assert_eq!(parse(args).unwrap_err().kind(), ErrorKind::DisplayHelp);
        }
    }

    #[test]
    fn bad_arguments_are_errors_with_status_2() {
        for args in [
            &["--listen"][..],
            &["--listen", "nonsense"],
            &["--bucket"],
            &["--bucket", "a/b"],
            &["--bucket", "x="],
            &["--bucket", "x", "--bucket", "X"],
            &["--s3-exact=yes"],
            &["--metrics"],
            &["--metrics", "nonsense"],
            &["--shadow", "photos"],
            &["--shadow", "a/b=x.json"],
            &["--shadow", "x=a", "--shadow", "X=b"],
            &["--verbose"],
            &["--store"],
            &["--store", ""],
            &["--store", "http://127.0.0.1:2379"],
            &["demo"],
            // The etcd flags need an etcd store.
            &["--etcd-cacert", "ca.pem"],
            &["--store", "cors.d", "--etcd-user", "fleet"],
            // A certificate needs its key, a password file its user.
            &["--etcd-cert", "c.pem"],
            &["--etcd-password-file", "pw"],
        ] {
            let error = parse(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
            let text = with_usage(&error);
            assert!(text.starts_with("error: "), "{text}");
            assert!(
                text.contains("Usage: example-bucket-server [--listen ADDR]"),
                "{text}"
            );
        }
    }

    #[cfg(not(feature = "etcd"))]
    #[test]
    fn etcd_urls_say_how_to_get_the_feature() {
        let error = parse(&["--store", "etcd://127.0.0.1:2379/fleet"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--features etcd"), "{error}");
        assert!(error.contains("protobuf-compiler"), "{error}");
    }

    #[cfg(feature = "etcd")]
    #[test]
    fn etcd_urls_are_read_as_the_etcd_crate_reads_them() {
        let args = parse(&["--store", "etcd://127.0.0.1:2379/fleet"]).unwrap();
        let Some(StoreArg::Etcd(config)) = &args.store else {
            panic!("{:?}", args.store);
        };
        assert_eq!(config.endpoints(), ["http://127.0.0.1:2379"]);
        assert_eq!(config.key_prefix(), "fleet/");
        for bad in [
            "etcd://",
            "etcd://127.0.0.1:99999",
            "etcd://h/a b",
            "etcd://u@h",
        ] {
            let error = parse(&["--store", bad]).unwrap_err().to_string();
            assert!(error.contains("invalid value for --store"), "{error}");
        }
        // A password in the URL is refused and not shown.
        let error = parse(&["--store", "etcds://fleet:s3cr3t@h:1"])
            .unwrap_err()
            .to_string();
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[cfg(feature = "etcd")]
    #[test]
    fn tls_flags_go_with_etcds_urls() {
        let tls = [
            "--store",
            "etcds://h1:2379,h2:2379/fleet",
            "--etcd-cacert",
            "ca.pem",
            "--etcd-cert",
            "client.pem",
            "--etcd-key",
            "client-key.pem",
            "--etcd-user",
            "fleet",
            "--etcd-password-file",
            "pw",
        ];
        let args = parse(&tls).unwrap();
        let Some(StoreArg::Etcd(config)) = &args.store else {
            panic!("{:?}", args.store);
        };
        assert_eq!(config.endpoints(), ["https://h1:2379", "https://h2:2379"]);
        assert_eq!(args.etcd_user.as_deref(), Some("fleet"));
        for bad in [
            &["--store", "etcds://h:1"][..],
            &["--store", "etcd://h:1", "--etcd-cacert", "ca.pem"],
            &[
                "--store",
                "etcd://h:1",
                "--etcd-cert",
                "c",
                "--etcd-key",
                "k",
            ],
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{bad:?}");
            assert!(error.to_string().contains("etcds://"), "{error}");
        }
        // A user over plain etcd:// is allowed (etcd may authenticate
        // without TLS).
        assert!(parse(&["--store", "etcd://h:1", "--etcd-user", "fleet"]).is_ok());
    }
}
