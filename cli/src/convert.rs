//! `s3-cors convert` and `s3-cors fmt`: the three shapes of a document, and
//! the canonical form of each.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;
use tower_s3_cors::config::CorsConfiguration;

use crate::engine;
use crate::input::{self, LoadError, Shape};
use crate::report::{self, Format, Output, Status};

/// The canonical text of `config` in `shape`, ending with a newline.
///
/// - XML: what `GetBucketCors` returns (S3's namespace, S3's element order,
///   only the members that are set), one element a line, indented by two
///   spaces.
/// - JSON: the AWS CLI's `{"CORSRules": [...]}`, one member a line, lists on
///   one line, only the members that are set.
/// - console: the S3 console's bare array, the same rules as in JSON.
pub(crate) fn render(config: &CorsConfiguration, shape: Shape) -> String {
    let mut text = match shape {
        Shape::Xml => indent_xml(&engine::to_xml(config)),
        Shape::Json => write_json(config, true),
        Shape::Console => write_json(config, false),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Puts each element of the library's one-line XML on a line of its own.
///
/// Element text never holds a `<` (the writer escapes it), so the tags can
/// be found by name without parsing.
fn indent_xml(one_line: &str) -> String {
    let mut out = one_line
        .replace("<CORSRule>", "\n  <CORSRule>")
        .replace("</CORSRule>", "\n  </CORSRule>")
        .replace("</CORSConfiguration>", "\n</CORSConfiguration>");
    for leaf in [
        "ID",
        "AllowedHeader",
        "AllowedMethod",
        "AllowedOrigin",
        "ExposeHeader",
        "MaxAgeSeconds",
    ] {
        out = out.replace(&format!("<{leaf}>"), &format!("\n    <{leaf}>"));
    }
    out
}

/// Both JSON shapes, written by hand so that lists of values stay on one
/// line, as in the AWS documentation:
///
/// ```text
/// {
///   "CORSRules": [
///     {
///       "ID": "uploads",
///       "AllowedHeaders": ["*"],
///       "AllowedMethods": ["GET", "PUT"],
///       "AllowedOrigins": ["https://app.example.com"],
///       "MaxAgeSeconds": 3000
///     }
///   ]
/// }
/// ```
///
/// Keys come in the order the AWS CLI shape uses; members that are not set
/// are left out (S3 treats an empty list as a missing one).
fn write_json(config: &CorsConfiguration, wrapped: bool) -> String {
    let indent = if wrapped { "    " } else { "  " };
    let mut rules = Vec::with_capacity(config.rules.len());
    for rule in &config.rules {
        let mut members = Vec::new();
        if let Some(id) = &rule.id {
            members.push(format!("\"ID\": {}", json_string(id)));
        }
        for (key, values) in [
            ("AllowedHeaders", &rule.allowed_headers),
            ("AllowedMethods", &rule.allowed_methods),
            ("AllowedOrigins", &rule.allowed_origins),
            ("ExposeHeaders", &rule.expose_headers),
        ] {
            if !values.is_empty() {
                let list: Vec<String> = values.iter().map(|v| json_string(v)).collect();
                members.push(format!("\"{key}\": [{}]", list.join(", ")));
            }
        }
        if let Some(seconds) = rule.max_age_seconds {
            members.push(format!("\"MaxAgeSeconds\": {seconds}"));
        }
        let body: Vec<String> = members.iter().map(|m| format!("{indent}  {m}")).collect();
        rules.push(if body.is_empty() {
            format!("{indent}{{}}")
        } else {
            format!("{indent}{{\n{}\n{indent}}}", body.join(",\n"))
        });
    }
    let array = if rules.is_empty() {
        "[]".to_owned()
    } else {
        let close = indent.get(2..).unwrap_or_default();
        format!("[\n{}\n{close}]", rules.join(",\n"))
    };
    if wrapped {
        format!("{{\n  \"CORSRules\": {array}\n}}\n")
    } else {
        format!("{array}\n")
    }
}

/// A JSON string literal. Serializing a `&str` cannot fail.
fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Reports a document that could not be loaded: on standard error for
/// people, on standard output as `{"file", "error"}` in JSON.
pub(crate) fn load_failure(err: &LoadError, format: Format) -> Output {
    match err {
        LoadError::Read(err) => {
            let mut out = Output::new(Status::Error);
            let _ = writeln!(out.stderr, "s3-cors: {err}");
            out
        }
        LoadError::Invalid { name, error } => {
            let mut out = Output::new(Status::Failure);
            match format {
                Format::Text => out.stderr = report::error_text(name, error),
                Format::Json => {
                    #[derive(Serialize)]
                    struct Json<'a> {
                        file: &'a str,
                        error: report::ErrorJson<'a>,
                    }
                    out.stdout = report::to_json(&Json {
                        file: name,
                        error: (&**error).into(),
                    });
                }
            }
            out
        }
    }
}

/// `s3-cors convert FILE --to SHAPE`.
pub(crate) fn convert(path: &str, to: Shape, format: Format) -> Output {
    let doc = match input::load(path, false) {
        Ok(doc) => doc,
        Err(err) => return load_failure(&err, format),
    };
    let document = render(&doc.config, to);
    let mut out = Output::new(Status::Success);
    match format {
        Format::Text => out.stdout = document,
        Format::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                file: &'a str,
                from: &'static str,
                to: &'static str,
                document: &'a str,
            }
            out.stdout = report::to_json(&Json {
                file: &doc.name,
                from: doc.shape.name(),
                to: to.name(),
                document: &document,
            });
        }
    }
    out
}

/// What `fmt` does with the canonical text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FmtMode {
    /// Rewrite the file if it changes (standard input: print it).
    Write,
    /// Print it, never write.
    Stdout,
    /// Only tell whether the file is canonical.
    Check,
}

/// `s3-cors fmt FILE`.
pub(crate) fn fmt(path: &str, mode: FmtMode, format: Format) -> Output {
    let doc = match input::load(path, false) {
        Ok(doc) => doc,
        Err(err) => return load_failure(&err, format),
    };
    let canonical = render(&doc.config, doc.shape);
    let changed = canonical != doc.text;
    let mode = if path == "-" && mode == FmtMode::Write {
        FmtMode::Stdout
    } else {
        mode
    };
    let mut out = Output::new(Status::Success);
    let action = match mode {
        FmtMode::Check if changed => {
            out.status = Status::Failure;
            "not canonical"
        }
        FmtMode::Check => "canonical",
        FmtMode::Write if changed => match write_atomically(Path::new(path), &canonical) {
            Ok(()) => "rewritten",
            Err(err) => {
                let _ = writeln!(out.stderr, "s3-cors: {}: cannot write: {err}", doc.name);
                out.status = Status::Error;
                return out;
            }
        },
        FmtMode::Write => "already canonical",
        FmtMode::Stdout => "printed",
    };
    match format {
        Format::Text if mode == FmtMode::Stdout => out.stdout = canonical,
        Format::Text => {
            let _ = writeln!(out.stdout, "{}: {action}", doc.name);
        }
        Format::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                file: &'a str,
                shape: &'static str,
                /// The canonical text differs from the input.
                changed: bool,
                /// `rewritten`, `already canonical`, `canonical`,
                /// `not canonical` or `printed`.
                action: &'static str,
                /// The canonical text, when printed.
                #[serde(skip_serializing_if = "Option::is_none")]
                document: Option<&'a str>,
            }
            out.stdout = report::to_json(&Json {
                file: &doc.name,
                shape: doc.shape.name(),
                changed,
                action,
                document: (mode == FmtMode::Stdout).then_some(canonical.as_str()),
            });
        }
    }
    out
}

/// Writes `text` to a file beside `path`, then renames it over `path`, so
/// the document is never seen half-written.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.s3-cors-fmt.tmp"));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tower_s3_cors::config::CorsRule;

    fn sample() -> CorsConfiguration {
        CorsConfiguration::new()
            .rule(
                CorsRule::new()
                    .id("a<b & c")
                    .allowed_origin("https://app.example.com")
                    .allowed_methods(["GET", "PUT"])
                    .allowed_header("*")
                    .expose_header("ETag")
                    .max_age_seconds(3000),
            )
            .rule(CorsRule::new().allowed_origin("*").allowed_method("GET"))
    }

    #[test]
    fn every_shape_reads_back_as_the_same_configuration() {
        for shape in [Shape::Xml, Shape::Json, Shape::Console] {
            let text = render(&sample(), shape);
            assert_eq!(Shape::detect(&text), Some(shape));
            assert_eq!(
                engine::parse(&text).unwrap(),
                sample(),
                "{shape:?}:\n{text}"
            );
            assert_eq!(render(&engine::parse(&text).unwrap(), shape), text);
        }
    }

    #[test]
    fn json_keeps_lists_on_one_line() {
        assert_eq!(
            render(&sample(), Shape::Json),
            r#"{
  "CORSRules": [
    {
      "ID": "a<b & c",
      "AllowedHeaders": ["*"],
      "AllowedMethods": ["GET", "PUT"],
      "AllowedOrigins": ["https://app.example.com"],
      "ExposeHeaders": ["ETag"],
      "MaxAgeSeconds": 3000
    },
    {
      "AllowedMethods": ["GET"],
      "AllowedOrigins": ["*"]
    }
  ]
}
"#
        );
        assert_eq!(render(&CorsConfiguration::new(), Shape::Console), "[]\n");
        assert_eq!(
            render(&CorsConfiguration::new(), Shape::Json),
            "{\n  \"CORSRules\": []\n}\n"
        );
    }

    #[test]
    fn xml_has_one_element_a_line() {
        let text = render(&sample(), Shape::Xml);
        assert!(
            text.contains("\n  <CORSRule>\n    <ID>a&lt;b &amp; c</ID>\n"),
            "{text}"
        );
        assert!(
            text.ends_with("  </CORSRule>\n</CORSConfiguration>\n"),
            "{text}"
        );
    }
}
