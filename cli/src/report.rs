//! Output plumbing shared by the commands: the output format, exit statuses,
//! and how a refused document is shown.

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::ErrorReport;

/// `--format`: who reads the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON document, for CI jobs and editors.
    Json,
}

/// How a command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// 0: all is well.
    Success = 0,
    /// 1: the document is refused, or the lint found something denied.
    Failure = 1,
    /// 2: a usage or I/O error.
    Error = 2,
}

/// What a command produced: text for standard output, text for standard
/// error, and its exit status.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) status: Status,
}

impl Output {
    pub(crate) fn new(status: Status) -> Self {
        Self {
            stdout: String::new(),
            stderr: String::new(),
            status,
        }
    }
}

/// Pretty JSON with a final newline. Serializing the tool's own plain
/// structures cannot fail.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// A refused document in JSON: S3's code and message, and where.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorJson<'a> {
    /// S3's error code: `MalformedXML`, `InvalidRequest`, `InvalidArgument`.
    pub(crate) code: &'a str,
    /// S3's message, byte for byte.
    pub(crate) message: &'a str,
    /// The rule at fault, counted from 1.
    pub(crate) rule: Option<usize>,
    /// That rule's `ID`.
    pub(crate) id: Option<&'a str>,
    /// The member at fault, as named in S3's XML.
    pub(crate) field: Option<&'a str>,
    /// The value at fault, as written.
    pub(crate) value: Option<&'a str>,
    /// One line that says it all (for people).
    pub(crate) description: &'a str,
    /// The line of the document at fault, counted from 1, when known.
    pub(crate) line: Option<usize>,
    /// The column, counted from 1 in characters, when known.
    pub(crate) column: Option<usize>,
    /// What is expected there, or how to fix it.
    pub(crate) hint: Option<&'a str>,
}

impl<'a> From<&'a ErrorReport> for ErrorJson<'a> {
    fn from(report: &'a ErrorReport) -> Self {
        Self {
            code: report.code,
            message: &report.message,
            rule: report.rule,
            id: report.id.as_deref(),
            field: report.field,
            value: report.value.as_deref(),
            description: &report.description,
            line: report.line,
            column: report.column,
            hint: report.hint.as_deref(),
        }
    }
}

/// `rule #2 (ID "uploads")`.
pub(crate) fn rule_label(number: usize, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("rule #{number} (ID {id:?})"),
        None => format!("rule #{number}"),
    }
}

/// `name`, or `name:line:column` when the place is known (as compilers
/// write it, so that terminals and editors can jump there).
pub(crate) fn place(name: &str, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{name}:{line}:{column}"),
        (Some(line), None) => format!("{name}:{line}"),
        _ => name.to_owned(),
    }
}

/// A refused document for people: where, the one-line description, then
/// S3's code and message, each of rule, field and value that applies, and
/// the hint.
pub(crate) fn error_text(name: &str, report: &ErrorReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: invalid: {}",
        place(name, report.line, report.column),
        report.description
    );
    let _ = writeln!(out, "  S3 error: {}: {}", report.code, report.message);
    if let Some(rule) = report.rule {
        let _ = match &report.id {
            Some(id) => writeln!(out, "  rule:     #{rule} (ID {id:?})"),
            None => writeln!(out, "  rule:     #{rule}"),
        };
    }
    if let Some(field) = report.field {
        let _ = writeln!(out, "  field:    {field}");
    }
    if let Some(value) = &report.value {
        let _ = writeln!(out, "  value:    {value:?}");
    }
    if let Some(hint) = &report.hint {
        let label = if report.expected {
            "expected:"
        } else {
            "fix:     "
        };
        let _ = writeln!(out, "  {label} {hint}");
    }
    out
}
