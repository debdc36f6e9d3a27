//! `s3-cors validate FILE...`: S3's verdict on each document.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::{self, ErrorReport};
use crate::input::{self, LoadError, Shape};
use crate::report::{self, ErrorJson, Format, Output, Status};

/// What became of one file.
enum Verdict {
    Valid {
        shape: Shape,
        rules: usize,
        /// The size of the document as S3's XML.
        xml_bytes: usize,
        /// The size of the file as read.
        file_bytes: usize,
    },
    Invalid(ErrorReport),
    Unreadable(String),
}

/// Validates every file; the exit status is the worst of them (2 for a file
/// that cannot be read, else 1 for an invalid one, else 0).
pub(crate) fn run(files: &[String], format: Format) -> Output {
    let verdicts: Vec<(String, Verdict)> = files.iter().map(|path| check(path)).collect();
    let status = verdicts
        .iter()
        .map(|(_, verdict)| match verdict {
            Verdict::Valid { .. } => Status::Success,
            Verdict::Invalid(_) => Status::Failure,
            Verdict::Unreadable(_) => Status::Error,
        })
        .max()
        .unwrap_or(Status::Success);
    let mut out = Output::new(status);
    match format {
        Format::Text => {
            for (name, verdict) in &verdicts {
                match verdict {
                    Verdict::Valid {
                        shape,
                        rules,
                        xml_bytes,
                        file_bytes,
                    } => {
                        let plural = if *rules == 1 { "" } else { "s" };
                        let _ = writeln!(
                            out.stdout,
                            "{name}: valid ({} document, {rules} rule{plural}, {xml_bytes} bytes \
                             as S3's XML)",
                            shape.name()
                        );
                        if *shape == Shape::Xml && *file_bytes > engine::MAX_DOCUMENT_BYTES {
                            let _ = writeln!(
                                out.stdout,
                                "  note: the file itself is {file_bytes} bytes; sent as it is, it \
                                 is over S3's {} (send `s3-cors convert --to xml` of it)",
                                engine::MAX_DOCUMENT_BYTES
                            );
                        }
                    }
                    Verdict::Invalid(report) => {
                        out.stdout.push_str(&report::error_text(name, report));
                    }
                    Verdict::Unreadable(error) => {
                        let _ = writeln!(out.stderr, "s3-cors: {name}: cannot read: {error}");
                    }
                }
            }
        }
        Format::Json => {
            let files: Vec<FileJson<'_>> = verdicts
                .iter()
                .map(|(name, verdict)| FileJson::new(name, verdict))
                .collect();
            out.stdout = report::to_json(&Json {
                valid: status == Status::Success,
                files,
            });
        }
    }
    out
}

fn check(path: &str) -> (String, Verdict) {
    match input::load(path, true) {
        Ok(doc) => {
            let verdict = Verdict::Valid {
                shape: doc.shape,
                rules: doc.config.rules.len(),
                xml_bytes: doc.xml_bytes.unwrap_or_default(),
                file_bytes: doc.text.len(),
            };
            (doc.name, verdict)
        }
        Err(LoadError::Invalid { name, error }) => (name, Verdict::Invalid(*error)),
        Err(LoadError::Read(err)) => (err.name, Verdict::Unreadable(err.error.to_string())),
    }
}

/// `--format json`: `{"valid": bool, "files": [...]}`.
#[derive(Serialize)]
struct Json<'a> {
    /// Every file was read and is valid.
    valid: bool,
    files: Vec<FileJson<'a>>,
}

#[derive(Serialize)]
struct FileJson<'a> {
    file: &'a str,
    /// `valid`, `invalid` or `unreadable`.
    status: &'static str,
    /// `xml`, `json` or `console`, for a valid document.
    #[serde(skip_serializing_if = "Option::is_none")]
    shape: Option<&'static str>,
    /// The number of rules of a valid document.
    #[serde(skip_serializing_if = "Option::is_none")]
    rules: Option<usize>,
    /// The size of a valid document as S3's XML, which S3's 64 KiB limit
    /// applies to.
    #[serde(skip_serializing_if = "Option::is_none")]
    xml_bytes: Option<usize>,
    /// S3's error, for an invalid document.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorJson<'a>>,
    /// The I/O error, for a file that could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    io_error: Option<&'a str>,
}

impl<'a> FileJson<'a> {
    fn new(file: &'a str, verdict: &'a Verdict) -> Self {
        let mut json = Self {
            file,
            status: "valid",
            shape: None,
            rules: None,
            xml_bytes: None,
            error: None,
            io_error: None,
        };
        match verdict {
            Verdict::Valid {
                shape,
                rules,
                xml_bytes,
                ..
            } => {
                json.shape = Some(shape.name());
                json.rules = Some(*rules);
                json.xml_bytes = Some(*xml_bytes);
            }
            Verdict::Invalid(report) => {
                json.status = "invalid";
                json.error = Some(report.into());
            }
            Verdict::Unreadable(error) => {
                json.status = "unreadable";
                json.io_error = Some(error);
            }
        }
        json
    }
}
