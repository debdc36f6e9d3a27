//! `s3-cors lint FILE...`: mistakes S3 accepts but a browser or a reader
//! would not expect.

mod check;
mod code;
mod headers;
mod origin;
mod public_suffix;
mod punycode;
mod shadow;

use std::fmt::Write as _;

use serde::Serialize;

pub(crate) use check::{Finding, check};
pub(crate) use code::{Code, Severity};
pub(crate) use headers::never_requested;

/// Whether a browser may send `origin` as its `Origin`: `null`, or an
/// origin (no `*`) in which no check finds a problem.
pub(crate) fn browser_may_send(origin: &str) -> bool {
    never_sent(origin).is_none()
}

/// Why no browser sends `origin` as its `Origin`, and the origin it would
/// send instead when one can be told; `None` for an origin a browser may
/// send.
pub(crate) fn never_sent(origin: &str) -> Option<(&'static str, Option<String>)> {
    if origin.contains('*') {
        return Some(("it is a pattern, not an origin", None));
    }
    let code = origin::problems(origin)
        .into_iter()
        .find(|c| *c != Code::OriginNull)?;
    Some((check::never_why(code), origin::corrected(origin)))
}

use crate::engine::ErrorReport;
use crate::input::{self, LoadError};
use crate::report::{self, Format, Output, Status};

/// `lint` options.
#[derive(Debug)]
pub(crate) struct Options {
    /// Findings at or above this severity fail the run.
    pub(crate) deny: Severity,
    /// Codes left out of the report.
    pub(crate) allow: Vec<Code>,
}

/// What became of one file.
struct Report {
    name: String,
    /// The findings, or the I/O error of a file that could not be read.
    findings: Result<Vec<Finding>, String>,
}

impl Report {
    fn failed(&self, deny: Severity) -> bool {
        self.findings
            .as_ref()
            .is_ok_and(|f| f.iter().any(|f| f.code.severity() >= deny))
    }

    fn status(&self, deny: Severity) -> Status {
        match &self.findings {
            Err(_) => Status::Error,
            Ok(_) if self.failed(deny) => Status::Failure,
            Ok(_) => Status::Success,
        }
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings.as_ref().map_or(0, |f| {
            f.iter().filter(|f| f.code.severity() == severity).count()
        })
    }
}

/// Runs `s3-cors lint FILE...`: one report per file, in order; the exit
/// status is the worst of them (2 for a file that cannot be read, 1 for
/// a finding at or above `--deny`).
pub(crate) fn run(paths: &[String], options: &Options, format: Format) -> Output {
    let reports: Vec<Report> = paths.iter().map(|path| lint(path, options)).collect();
    let status = reports
        .iter()
        .map(|r| r.status(options.deny))
        .max()
        .unwrap_or(Status::Success);
    let mut out = Output::new(status);
    match format {
        Format::Text => {
            for report in &reports {
                match &report.findings {
                    Ok(findings) => text(&mut out.stdout, &report.name, findings),
                    Err(error) => {
                        let _ =
                            writeln!(out.stderr, "s3-cors: {}: cannot read: {error}", report.name);
                    }
                }
            }
            if reports.len() > 1 {
                let _ = writeln!(
                    out.stdout,
                    "{} files: {}",
                    reports.len(),
                    summary_text(
                        reports.iter().map(|r| r.count(Severity::Error)).sum(),
                        reports.iter().map(|r| r.count(Severity::Warning)).sum(),
                        reports.iter().map(|r| r.count(Severity::Info)).sum(),
                    )
                );
            }
        }
        // One file gives its report alone, as it always has; several give
        // them in a list, with the totals.
        Format::Json => match reports.as_slice() {
            [one] => match &one.findings {
                Ok(_) => out.stdout = report::to_json(&FileJson::new(one, options.deny)),
                Err(error) => {
                    let _ = writeln!(out.stderr, "s3-cors: {}: cannot read: {error}", one.name);
                }
            },
            _ => {
                out.stdout = report::to_json(&FilesJson {
                    deny: options.deny,
                    failed: reports.iter().any(|r| r.failed(options.deny)),
                    summary: Summary {
                        error: reports.iter().map(|r| r.count(Severity::Error)).sum(),
                        warning: reports.iter().map(|r| r.count(Severity::Warning)).sum(),
                        info: reports.iter().map(|r| r.count(Severity::Info)).sum(),
                    },
                    files: reports
                        .iter()
                        .map(|r| FileJson::new(r, options.deny))
                        .collect(),
                });
            }
        },
    }
    out
}

/// The report of one file.
fn lint(path: &str, options: &Options) -> Report {
    let (name, findings) = match input::load(path, true) {
        Ok(doc) => {
            let mut findings = check(&doc.config);
            let places = input::places(&doc.text);
            for finding in &mut findings {
                if let Some(at) = finding
                    .rule
                    .and_then(|rule| places.find(rule, finding.field, finding.value.as_deref()))
                {
                    let (line, column) = input::line_column(&doc.text, at);
                    finding.line = Some(line);
                    finding.column = Some(column);
                }
            }
            (doc.name, findings)
        }
        Err(LoadError::Invalid { name, error }) => (name, vec![invalid(&error)]),
        Err(LoadError::Read(err)) => {
            return Report {
                name: err.name,
                findings: Err(err.error.to_string()),
            };
        }
    };
    Report {
        name,
        findings: Ok(findings
            .into_iter()
            .filter(|f| !options.allow.contains(&f.code))
            .collect()),
    }
}

fn summary_text(errors: usize, warnings: usize, infos: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {infos} info",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn text(out: &mut String, name: &str, findings: &[Finding]) {
    for f in findings {
        let _ = write!(
            out,
            "{}[{}]: {}",
            f.code.severity().name(),
            f.code.name(),
            report::place(name, f.line, f.column)
        );
        if let Some(rule) = f.rule {
            let _ = write!(out, ": {}", report::rule_label(rule, f.id.as_deref()));
        }
        if let (Some(field), Some(value)) = (f.field, &f.value) {
            let _ = write!(out, ": {field} {value:?}");
        }
        let _ = writeln!(out, "\n  {}\n  fix: {}", f.message, f.fix);
    }
    if findings.is_empty() {
        let _ = writeln!(out, "{name}: no findings");
    } else {
        let count = |s: Severity| findings.iter().filter(|f| f.code.severity() == s).count();
        let _ = writeln!(
            out,
            "{name}: {}",
            summary_text(
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info)
            )
        );
    }
}

/// A document S3 refuses, as the one finding of its report.
fn invalid(error: &ErrorReport) -> Finding {
    Finding {
        code: Code::InvalidDocument,
        rule: error.rule,
        id: error.id.clone(),
        field: error.field,
        value: error.value.clone(),
        message: format!(
            "S3 refuses this document ({}); S3 says {}: {}",
            error.description, error.code, error.message
        ),
        fix: match (&error.hint, error.expected) {
            (Some(hint), true) => {
                format!("{hint} (expected here); no other check runs until then")
            }
            (Some(hint), false) => format!("{hint}; no other check runs until then"),
            (None, _) => {
                "correct this first: no other check runs on a document S3 refuses".to_owned()
            }
        },
        shadowed_by: None,
        line: error.line,
        column: error.column,
    }
}

/// The table of codes, for `lint --help` and the README.
pub(crate) fn code_table() -> String {
    let mut out = String::from("Lint codes (severity, what it reports):\n");
    for code in Code::ALL {
        let _ = writeln!(
            out,
            "  {:<28} {:<8} {}",
            code.name(),
            code.severity().name(),
            code.summary()
        );
    }
    out.push_str("\n`s3-cors lint --explain CODE` says why each matters and how to fix it.\n");
    out
}

/// `--format json` for several files.
#[derive(Serialize)]
struct FilesJson<'a> {
    /// The lowest severity that fails the run.
    deny: Severity,
    /// Whether a file has a finding at or above `deny`.
    failed: bool,
    /// The findings of all files, counted by severity.
    summary: Summary,
    files: Vec<FileJson<'a>>,
}

/// `--format json` for one file (alone, or in `files`).
#[derive(Serialize)]
struct FileJson<'a> {
    file: &'a str,
    /// The lowest severity that fails the run.
    deny: Severity,
    /// Whether a finding at or above `deny` was found (exit status 1).
    failed: bool,
    summary: Summary,
    findings: Vec<FindingJson<'a>>,
    /// Why the file could not be read (in a list of several files).
    #[serde(skip_serializing_if = "Option::is_none")]
    io_error: Option<&'a str>,
}

impl<'a> FileJson<'a> {
    fn new(report: &'a Report, deny: Severity) -> Self {
        Self {
            file: &report.name,
            deny,
            failed: report.failed(deny),
            summary: Summary {
                error: report.count(Severity::Error),
                warning: report.count(Severity::Warning),
                info: report.count(Severity::Info),
            },
            findings: report
                .findings
                .as_ref()
                .map(|f| f.iter().map(FindingJson::from).collect())
                .unwrap_or_default(),
            io_error: report.findings.as_ref().err().map(String::as_str),
        }
    }
}

#[derive(Serialize)]
struct Summary {
    error: usize,
    warning: usize,
    info: usize,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'static str,
    severity: Severity,
    /// Counted from 1.
    rule: Option<usize>,
    id: Option<&'a str>,
    field: Option<&'a str>,
    value: Option<&'a str>,
    message: &'a str,
    fix: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed_by: Option<RuleRef<'a>>,
    /// Where in the document, when known (a document of the wrong shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
}

#[derive(Serialize)]
struct RuleRef<'a> {
    rule: usize,
    id: Option<&'a str>,
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(f: &'a Finding) -> Self {
        Self {
            code: f.code.name(),
            severity: f.code.severity(),
            rule: f.rule,
            id: f.id.as_deref(),
            field: f.field,
            value: f.value.as_deref(),
            message: &f.message,
            fix: &f.fix,
            shadowed_by: f.shadowed_by.as_ref().map(|(rule, id)| RuleRef {
                rule: *rule,
                id: id.as_deref(),
            }),
            line: f.line,
            column: f.column,
        }
    }
}
