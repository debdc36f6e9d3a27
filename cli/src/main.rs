//! `s3-cors`: validate, lint, explain, diff and convert Amazon S3 CORS
//! documents.
//!
//! The tool runs the engine of [`tower_s3_cors`], so its answers are the
//! layer's answers. Every command reads S3's XML `CORSConfiguration`, the AWS
//! CLI's `{"CORSRules": [...]}` or the S3 console's bare array, from a file
//! or from standard input (`-`), and writes text for people or, with
//! `--format json`, one JSON document for CI jobs and editors.
//!
//! | command | does | exit status |
//! |---|---|---|
//! | `validate FILE...` | S3's verdict on each document: valid, or S3's exact error code and message with the rule number and ID, field and value, and a fix | 0 all valid, 1 one is invalid, 2 usage or I/O error |
//! | `lint FILE...` | mistakes S3 accepts, one report per file: rules that never decide, origins that never match, risky or ineffective settings | the worst over files: 1 when a finding is at or above `--deny` (`warning` by default), 2 when a file cannot be read |
//! | `explain FILE --origin O --method M` | the status and exact headers S3 answers one request with, and rule by rule why each rule did or did not match | 0 allowed, 1 refused (or an invalid document), 2 a request no browser sends |
//! | `diff OLD NEW` | the requests the two documents answer differently, grouped by the deciding rule and origin pattern, each with an example | 0 equivalent, 1 they differ, 2 bad input |
//! | `convert FILE --to xml\|json\|console` | the same rules in another shape, losslessly | 0, or 1 for a malformed document |
//! | `fmt FILE` | rewrites a document in the canonical form of its shape | 0; with `--check`, 1 when not canonical |
//!
//! S3's 64 KiB limit is measured on the document as S3's XML, which is what
//! `PutBucketCors` receives, whatever shape the file is in. A document of
//! the wrong shape is reported at its line and column, with the shape
//! expected there.
//!
//! # Lint severities
//!
//! - `error`: S3 refuses the document (`invalid-document`); no other check
//!   runs on it.
//! - `warning`: part of the document has no effect, lets in more than it
//!   seems to, or breaks the requests it is written for. `shadowed-rule` (a
//!   rule that never decides), the ten `origin-*` codes for origins no
//!   browser sends (each never matches), `origin-null`,
//!   `origin-every-site` and `origin-anyone-can-host` (sites other than the
//!   author's, answered with credentials), `preflight-without-headers` and
//!   `upload-without-content-type` (browser uploads refused at their
//!   preflight), `expose-header-is-method` (exposes nothing; the methods
//!   were meant elsewhere).
//! - `info`: often deliberate, or harmless. `public-write`,
//!   `http-origin-writes` and `wildcard-origin-credentials` matter for
//!   services that trust the browser, not for S3, which checks a signature
//!   on every request; `duplicate-entry`, `redundant-entry`,
//!   `header-never-requested` and `max-age-over-browser-cap` change nothing
//!   a browser does; `etag-not-exposed` matters only to uploads in parts.
//!
//! Every check reports only what holds: `shadowed-rule` is shown pattern by
//! pattern, and an origin with a `*` is flagged as never matching only when
//! no origin can fill the `*`.
//!
//! # `explain` and the layer
//!
//! `explain` builds the request a browser would send, runs it through the
//! real layer (`S3Cors` over the compiled policy, with an inner service that
//! answers every request it gets with an empty `200`, as the object would),
//! and reports the status and headers as they are, next to
//! `Policy::explain`'s rule-by-rule walk. `Vary` is S3's unless
//! `--vary-always` asks for the layer's default. In JSON, `headers` is an
//! ordered list of `{"name", "value"}` objects (a header may repeat), and
//! `rules` has one entry per rule consulted, with `number`, `id`, `outcome`
//! and, for a refused header, `header`.
//!
//! # `diff`
//!
//! `diff` decides, with both compiled policies (`Policy::evaluate`), one
//! request for each class of origin and header name that the documents'
//! patterns make, for each of S3's five methods, with the header sets that
//! tell each pair of deciding rules apart, and compares the answers as a
//! browser reads them.

mod convert;
mod diff;
mod engine;
mod explain;
mod hints;
mod input;
mod lint;
mod pattern;
mod report;
#[cfg(test)]
mod testing;
mod validate;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::convert::FmtMode;
use crate::input::Shape;
use crate::lint::{Code, Severity};
use crate::report::{Format, Output, Status};

/// Validate, lint, explain, diff and convert Amazon S3 CORS configurations.
///
/// Every command reads S3's XML CORSConfiguration, the AWS CLI's
/// {"CORSRules": [...]} or the S3 console's bare array of rules, from a file
/// or from standard input ("-"). The answers come from the tower-s3-cors
/// engine, which reproduces S3's CORS behaviour.
#[derive(Debug, Parser)]
#[command(name = "s3-cors", version, propagate_version = true)]
#[command(
    after_help = "Exit status: 0 success; 1 an invalid document, a lint finding \
                        that is denied, a refused request (explain) or documents that \
                        differ (diff); 2 a usage or I/O error."
)]
struct Cli {
    /// Output for people (text) or one JSON document (json)
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check documents as S3's PutBucketCors does
    ///
    /// For each file: valid, or S3's exact error (code and message) with the
    /// rule number and ID, the field and the value at fault. S3 reports the
    /// first error only, and so does this command.
    ///
    /// Exit status: 0 if every document is valid, 1 if one is invalid, 2 if
    /// a file cannot be read (the others are still checked).
    #[command(after_help = "Examples:\n  s3-cors validate cors.xml\n  \
                            aws s3api get-bucket-cors --bucket b | s3-cors validate -\n  \
                            s3-cors validate --format json *.json")]
    Validate {
        /// Documents to check ("-" for standard input)
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },

    /// Find mistakes S3 accepts: dead rules, origins that never match, risks
    ///
    /// Each finding has a stable code, a severity (error, warning, info),
    /// the rule (counted from 1) and its ID, the value concerned and a
    /// suggested fix. Exit status 1 when a finding is at or above --deny.
    #[command(after_help = LINT_EXAMPLES)]
    Lint {
        /// The documents ("-" for standard input), each reported on its own
        #[arg(value_name = "FILE", required_unless_present = "explain")]
        files: Vec<String>,

        /// The lowest severity that fails the run (exit status 1)
        #[arg(long, value_enum, default_value_t = Severity::Warning, value_name = "SEVERITY")]
        deny: Severity,

        /// Leave out findings with this code (repeatable)
        #[arg(long, value_name = "CODE", value_parser = parse_code)]
        allow: Vec<Code>,

        /// Print what CODE reports, why it matters and how to fix it
        #[arg(long, value_name = "CODE", value_parser = parse_code, conflicts_with_all = ["files", "allow"])]
        explain: Option<Code>,
    },

    /// Show the answer to one request, and why each rule did or did not match
    ///
    /// Builds the request a browser would send, answers it as S3 does (the
    /// tower-s3-cors engine; an actual request gets the object's response,
    /// here an empty 200, with the CORS headers added), and prints the status
    /// and exact response headers, then each rule's verdict in order: origin
    /// not allowed, method not allowed, which header not allowed, or matched.
    /// When no rule allows the origin, the nearest AllowedOrigin is shown.
    ///
    /// Exit status: 0 if the request is allowed, 1 if it is refused (or the
    /// document is invalid), 2 for a request a browser cannot send.
    #[command(after_help = "Examples:\n  \
        s3-cors explain cors.xml --origin https://app.example.com --method PUT --preflight \
        --header content-type\n  \
        s3-cors explain cors.xml --origin https://app.example.com --method GET --path /photos/cat.jpg\n  \
        s3-cors explain cors.xml --origin https://app.example.com --method GET --format json")]
    Explain {
        /// The document ("-" for standard input)
        #[arg(value_name = "FILE")]
        file: String,

        /// The request's Origin, as the browser sends it
        #[arg(
            long,
            value_name = "ORIGIN",
            help = "The request's Origin, as the browser sends it (https://app.example.com)"
        )]
        origin: String,

        /// The method: of the request, or with --preflight the one the
        /// preflight asks for (Access-Control-Request-Method)
        #[arg(long, value_name = "METHOD")]
        method: String,

        /// A header name the request asks for, sent in
        /// Access-Control-Request-Headers (repeatable). Browsers send it on
        /// preflights; S3 also checks it on an actual request that has it.
        #[arg(long = "header", value_name = "NAME")]
        headers: Vec<String>,

        /// Send a preflight: OPTIONS with Access-Control-Request-Method METHOD
        #[arg(long)]
        preflight: bool,

        /// Vary exactly as S3 sends it, only on a match (the default; kept
        /// for scripts that pass it)
        #[arg(long, conflicts_with = "vary_always")]
        s3_exact: bool,

        /// Vary on every response, as the tower-s3-cors layer sends it by
        /// default (so that caches never mix answers), instead of only on a
        /// match as S3 does
        #[arg(long)]
        vary_always: bool,

        /// The request path: "/" is the bucket, "/key" an object (it shows in
        /// the ResourceType of S3's error)
        #[arg(long, value_name = "PATH", default_value = "/")]
        path: String,

        /// Any other request header, as "Name: value" (repeatable); real
        /// request headers are never checked by S3
        #[arg(long = "request-header", value_name = "NAME: VALUE")]
        request_headers: Vec<String>,

        /// Send the origin and method as given, even ones no browser sends
        /// (a lower-case method, an origin with a path): what curl or a
        /// hand-written client may send
        #[arg(long)]
        as_given: bool,
    },

    /// Show which requests two documents answer differently
    ///
    /// Decides the same requests with both documents (every class of origin
    /// their patterns make, each of S3's five methods, and the header sets
    /// that tell their rules apart) and compares the answers as a browser
    /// reads them. Changes are grouped by the rule and origin pattern that
    /// decide on each side, each with an example request. Reordered origins,
    /// rules reordered without changing a winner, and another spelling of a
    /// header pattern are no change.
    ///
    /// Exit status: 0 if every request gets the same answer, 1 if some
    /// change, 2 if a document cannot be read or is not valid.
    #[command(after_help = "Examples:\n  s3-cors diff live.json cors.json\n  \
                            aws s3api get-bucket-cors --bucket b | s3-cors diff - cors.json\n  \
                            s3-cors diff old.xml new.xml --format json")]
    Diff {
        /// The document as it is ("-" for standard input)
        #[arg(value_name = "OLD")]
        old: String,

        /// The document as it would be ("-" for standard input)
        #[arg(value_name = "NEW")]
        new: String,
    },

    /// Convert a document to S3 XML, AWS CLI JSON or the console's array
    ///
    /// Conversion is lossless: every rule, value, order and ID is kept, and
    /// converting back gives the same rules. Only members that are set are
    /// written (an empty list and a missing one mean the same to S3). The
    /// document is not validated: use `validate` for that.
    #[command(
        after_help = "Examples:\n  s3-cors convert cors.xml --to json > cors.json\n  \
                            s3-cors convert console.json --to xml"
    )]
    Convert {
        /// The document ("-" for standard input)
        #[arg(value_name = "FILE")]
        file: String,

        /// The shape to write
        #[arg(long, value_enum, value_name = "SHAPE")]
        to: ToShape,
    },

    /// Rewrite a document in the canonical form of its shape
    ///
    /// XML: S3's namespace and element order (as GetBucketCors returns it),
    /// one element a line. JSON and console: pretty-printed, keys in the AWS
    /// CLI's order, members that are not set left out. The file is rewritten
    /// in place (atomically) when it changes; standard input goes to
    /// standard output.
    #[command(
        after_help = "Examples:\n  s3-cors fmt cors.xml\n  s3-cors fmt --check cors.json\n  \
                            cat cors.xml | s3-cors fmt -"
    )]
    Fmt {
        /// The document ("-" for standard input)
        #[arg(value_name = "FILE")]
        file: String,

        /// Do not write; exit 1 if the document is not canonical
        #[arg(long, conflicts_with = "stdout")]
        check: bool,

        /// Print the canonical document instead of rewriting the file
        #[arg(long)]
        stdout: bool,
    },
}

/// `convert --to`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum ToShape {
    /// S3's XML CORSConfiguration
    Xml,
    /// The AWS CLI's {"CORSRules": [...]}
    Json,
    /// The S3 console's bare array of rules
    Console,
}

impl From<ToShape> for Shape {
    fn from(shape: ToShape) -> Self {
        match shape {
            ToShape::Xml => Self::Xml,
            ToShape::Json => Self::Json,
            ToShape::Console => Self::Console,
        }
    }
}

fn parse_code(name: &str) -> Result<Code, String> {
    Code::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
        format!("unknown lint code; known codes: {}", known.join(", "))
    })
}

/// Shown after `lint -h`, and after the table of codes in `lint --help`.
const LINT_EXAMPLES: &str = "Examples:\n  s3-cors lint cors.xml\n  s3-cors lint buckets/*.json\n  \
                             s3-cors lint cors.json --deny info --allow public-write\n  \
                             s3-cors lint --explain shadowed-rule";

fn command() -> clap::Command {
    Cli::command().mut_subcommand("lint", |lint| {
        lint.after_long_help(format!("{}\n{LINT_EXAMPLES}", lint::code_table()))
    })
}

fn run(cli: Cli) -> Output {
    let format = cli.format;
    match cli.command {
        Command::Validate { files } => validate::run(&files, format),
        Command::Lint {
            explain: Some(code),
            ..
        } => {
            let mut out = Output::new(Status::Success);
            out.stdout = format!(
                "{} ({})\n\n{}",
                code.name(),
                code.severity().name(),
                wrap(code.explanation(), 78)
            );
            out
        }
        Command::Lint {
            files, deny, allow, ..
        } => lint::run(&files, &lint::Options { deny, allow }, format),
        Command::Explain {
            file,
            origin,
            method,
            headers,
            preflight,
            s3_exact: _,
            vary_always,
            path,
            request_headers,
            as_given,
        } => explain::run(
            &file,
            &explain::Ask {
                origin: &origin,
                method: &method,
                headers: &headers,
                preflight,
                s3_exact: !vary_always,
                as_given,
                path: &path,
                extra: &request_headers,
            },
            format,
        ),
        Command::Diff { old, new } => diff::run(&old, &new, format),
        Command::Convert { file, to } => convert::convert(&file, to.into(), format),
        Command::Fmt {
            file,
            check,
            stdout,
        } => {
            let mode = if check {
                FmtMode::Check
            } else if stdout {
                FmtMode::Stdout
            } else {
                FmtMode::Write
            };
            convert::fmt(&file, mode, format)
        }
    }
}

/// `text` with its lines broken at spaces so that none is longer than
/// `width` (a longer word stays whole), ending with a newline.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.chars().count() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out.push('\n');
    out
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let out = run(cli);
    // A closed pipe (`s3-cors ... | head`) is not worth a second error.
    let _ = std::io::stdout().lock().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().lock().write_all(out.stderr.as_bytes());
    ExitCode::from(out.status as u8)
}
