//! Reading a document from a file or standard input, bounded in memory, and
//! saying where and why one is not a CORS configuration.
//!
//! S3's 64 KiB limit is measured on the XML S3 would receive, the document
//! converted to S3's XML, whatever shape it was read in: a pretty-printed
//! JSON file may be much larger than its XML, and a terse one much smaller.

mod json;
mod places;
mod position;
mod xml;

use std::fmt;
use std::io::{self, Read};

use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};

use crate::engine::{self, ErrorReport};

pub(crate) use places::Places;
pub(crate) use position::line_column;

/// The three shapes a document comes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// S3's XML `CORSConfiguration`.
    Xml,
    /// The AWS CLI/SDK's `{"CORSRules": [...]}`.
    Json,
    /// The S3 console's bare array of rules.
    Console,
}

impl Shape {
    /// The shape of `text`, from its first character that is not white space
    /// (or a byte-order mark); `None` when it is neither XML nor JSON.
    pub(crate) fn detect(text: &str) -> Option<Self> {
        match text
            .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
            .as_bytes()
            .first()
        {
            Some(b'<') => Some(Self::Xml),
            Some(b'{') => Some(Self::Json),
            Some(b'[') => Some(Self::Console),
            _ => None,
        }
    }

    /// `xml`, `json` or `console`, as `convert --to` names them.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Xml => "xml",
            Self::Json => "json",
            Self::Console => "console",
        }
    }
}

/// The most text read from one input: sixteen times S3's limit. A document
/// whose XML fits S3's 64 KiB is far smaller in any shape people write, and
/// a larger input is counted, not kept.
pub(crate) const MAX_INPUT_BYTES: usize = 16 * engine::MAX_DOCUMENT_BYTES;

/// A document as read: its name for messages and its text.
#[derive(Debug)]
pub(crate) struct Input {
    /// The path as given, or `<stdin>` for `-`.
    pub(crate) name: String,
    /// The text, or why it is not a document.
    pub(crate) text: Result<String, Box<ErrorReport>>,
}

/// A file that could not be read at all (exit status 2).
#[derive(Debug)]
pub(crate) struct ReadError {
    pub(crate) name: String,
    pub(crate) error: io::Error,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: cannot read: {}", self.name, self.error)
    }
}

/// Reads `path` (`-` for standard input). At most [`MAX_INPUT_BYTES`] and
/// one byte are kept: a larger input is refused after its size is counted
/// without storing it.
pub(crate) fn read(path: &str) -> Result<Input, ReadError> {
    let name = if path == "-" {
        "<stdin>".to_owned()
    } else {
        path.to_owned()
    };
    let result = if path == "-" {
        read_bounded(io::stdin().lock())
    } else {
        std::fs::File::open(path).and_then(read_bounded)
    };
    let (bytes, total) = result.map_err(|error| ReadError {
        name: name.clone(),
        error,
    })?;
    Ok(Input {
        name,
        text: decode(bytes, total),
    })
}

fn read_bounded(mut reader: impl Read) -> io::Result<(Vec<u8>, u64)> {
    let limit = MAX_INPUT_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let kept = (&mut reader).take(limit).read_to_end(&mut bytes)? as u64;
    let rest = if kept == limit {
        io::copy(&mut reader, &mut io::sink())?
    } else {
        0
    };
    Ok((bytes, kept + rest))
}

fn decode(bytes: Vec<u8>, total: u64) -> Result<String, Box<ErrorReport>> {
    let error = |kind, detail| Box::new(ErrorReport::from(&engine::document_error(kind, detail)));
    if total > MAX_INPUT_BYTES as u64 {
        return Err(error(
            ConfigErrorKind::DocumentTooLarge,
            format!(
                "the input is {total} bytes; s3-cors reads at most {MAX_INPUT_BYTES} (a document \
                 whose XML fits S3's 64 KiB is far smaller)"
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let (line, column) = line_column(
            std::str::from_utf8(err.as_bytes().get(..at).unwrap_or_default()).unwrap_or_default(),
            at,
        );
        let mut report = error(
            ConfigErrorKind::Malformed,
            format!("not UTF-8 (invalid byte at offset {at})"),
        );
        report.line = Some(line);
        report.column = Some(column);
        report.hint = Some("UTF-8 text: save the file as UTF-8".to_owned());
        report.expected = true;
        report
    })
}

/// Reads `text` in any shape (its form only, not S3's rules). When it is
/// not a CORS configuration, the report says where (line and column), what
/// was found and what shape was expected.
pub(crate) fn parse(text: &str) -> Result<CorsConfiguration, Box<ErrorReport>> {
    engine::parse(text).map_err(|err| {
        let mut report = Box::new(ErrorReport::from(&err));
        let problem = match Shape::detect(text) {
            Some(Shape::Xml) => xml::diagnose(text),
            Some(Shape::Json | Shape::Console) => json::diagnose(text),
            None => Some(Problem::neither(text)),
        };
        if let Some(problem) = problem {
            report.description = problem.found;
            report.line = Some(problem.line);
            report.column = Some(problem.column);
            report.hint = Some(problem.expected);
            report.expected = true;
        }
        report
    })
}

/// Where each rule of `text` (a document the library read), and each of
/// its values, starts.
pub(crate) fn places(text: &str) -> Places {
    match Shape::detect(text) {
        Some(Shape::Xml) => xml::places(text),
        Some(Shape::Json | Shape::Console) => json::places(text),
        None => Places::default(),
    }
}

/// Checks `config` as S3's `PutBucketCors` does: the size of its XML first,
/// then S3's rules. Returns the size of that XML.
pub(crate) fn validate(config: &CorsConfiguration) -> Result<usize, Box<ErrorReport>> {
    let size = engine::to_xml(config).len();
    if size > engine::MAX_DOCUMENT_BYTES {
        let mut report = Box::new(ErrorReport::from(&engine::document_error(
            ConfigErrorKind::DocumentTooLarge,
            format!(
                "as S3's XML (what PutBucketCors receives) it is {size} bytes, over {}",
                engine::MAX_DOCUMENT_BYTES
            ),
        )));
        report.hint = Some(
            "fewer or shorter values: rules that share methods and headers can share one rule, \
             and one wildcard origin can replace many"
                .to_owned(),
        );
        return Err(report);
    }
    engine::validate(config).map_err(|e| Box::new((&e).into()))?;
    Ok(size)
}

/// Where and why a text is not a CORS configuration.
#[derive(Debug)]
struct Problem {
    /// Counted from 1.
    line: usize,
    /// Counted from 1, in characters.
    column: usize,
    /// What was found there.
    found: String,
    /// The shape expected instead.
    expected: String,
}

impl Problem {
    fn at(text: &str, offset: usize, found: String, expected: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        Self {
            line,
            column,
            found,
            expected: expected.into(),
        }
    }

    /// Line, column, what was found and what was expected, for tests.
    #[cfg(test)]
    fn parts(self) -> (usize, usize, String, String) {
        (self.line, self.column, self.found, self.expected)
    }

    /// A text that starts with neither `<` nor `{` nor `[`.
    fn neither(text: &str) -> Self {
        let start = text.len()
            - text
                .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
                .len();
        let found = match text.get(start..).and_then(|t| t.chars().next()) {
            None => "an empty document".to_owned(),
            Some(c) => format!("{c:?}: neither XML nor JSON"),
        };
        Self::at(
            text,
            start,
            found,
            "S3's XML <CORSConfiguration>, the AWS CLI's {\"CORSRules\": [...]} or the \
             console's [...] of rules",
        )
    }
}

/// A document read and parsed (its form checked, not S3's rules).
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) name: String,
    pub(crate) shape: Shape,
    pub(crate) config: CorsConfiguration,
    /// The text as read.
    pub(crate) text: String,
    /// The size of the document as S3's XML, once validated.
    pub(crate) xml_bytes: Option<usize>,
}

/// Why a document could not be had.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// Exit status 2.
    Read(ReadError),
    /// Exit status 1.
    Invalid {
        name: String,
        error: Box<ErrorReport>,
    },
}

/// Reads and parses `path`; with `validated`, also checks S3's rules.
pub(crate) fn load(path: &str, validated: bool) -> Result<Document, LoadError> {
    let input = read(path).map_err(LoadError::Read)?;
    let invalid = |error| LoadError::Invalid {
        name: input.name.clone(),
        error,
    };
    let text = input.text.as_ref().map_err(|e| invalid(e.clone()))?;
    let config = parse(text).map_err(invalid)?;
    let xml_bytes = if validated {
        let checked = validate(&config).map_err(|mut error| {
            // S3's refusal of a rule: where in the file.
            if let Some(at) = error
                .rule
                .and_then(|rule| places(text).find(rule, error.field, error.value.as_deref()))
            {
                let (line, column) = line_column(text, at);
                error.line = Some(line);
                error.column = Some(column);
            }
            invalid(error)
        });
        Some(checked?)
    } else {
        None
    };
    Ok(Document {
        shape: Shape::detect(text).unwrap_or(Shape::Xml),
        config,
        text: text.clone(),
        name: input.name,
        xml_bytes,
    })
}
