//! Reading a document from a file or standard input, bounded in memory.

use std::fmt;
use std::io::{self, Read};

use tower_s3_cors::config::{ConfigErrorKind, CorsConfiguration};

use crate::engine::{self, ErrorReport};

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

/// Reads `path` (`-` for standard input). At most 64 KiB and one byte are
/// kept: a larger input is refused as S3 refuses it, after its size is
/// counted without storing it.
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
    let limit = engine::MAX_DOCUMENT_BYTES as u64 + 1;
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
    if total > engine::MAX_DOCUMENT_BYTES as u64 {
        return Err(error(
            ConfigErrorKind::DocumentTooLarge,
            format!("{total} bytes"),
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        error(
            ConfigErrorKind::Malformed,
            format!(
                "not UTF-8 (invalid byte at offset {})",
                err.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A document read and parsed (its form checked, not S3's rules).
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) name: String,
    pub(crate) shape: Shape,
    pub(crate) config: CorsConfiguration,
    /// The text as read.
    pub(crate) text: String,
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
    let config = engine::parse(text).map_err(|e| invalid(Box::new((&e).into())))?;
    if validated {
        engine::validate(&config).map_err(|e| invalid(Box::new((&e).into())))?;
    }
    Ok(Document {
        shape: Shape::detect(text).unwrap_or(Shape::Xml),
        config,
        text: text.clone(),
        name: input.name,
    })
}
