//! `s3-cors lint FILE`: mistakes S3 accepts but a browser or a reader would
//! not expect.

mod origin;
mod punycode;
mod shadow;

use std::fmt::Write as _;

use serde::Serialize;
use tower_s3_cors::config::{CorsConfiguration, CorsRule};

use crate::convert::load_failure;
use crate::engine::ErrorReport;
use crate::input::{self, LoadError};
use crate::report::{self, Format, Output, Status};

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// Worth knowing; harmless or often deliberate.
    Info,
    /// Almost certainly not what was meant: part of the document has no
    /// effect, or lets in more than it seems to.
    Warning,
    /// S3 refuses the document.
    Error,
}

impl Severity {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// Every lint code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    InvalidDocument,
    ShadowedRule,
    OriginTrailingSlash,
    OriginHasPath,
    OriginNotLowercase,
    OriginDefaultPort,
    OriginNotAscii,
    OriginNoScheme,
    OriginNull,
    DuplicateEntry,
    PublicWrite,
    WildcardOriginCredentials,
    MaxAgeOverBrowserCap,
    PreflightWithoutHeaders,
}

impl Code {
    /// All codes, in the order of the documentation.
    pub(crate) const ALL: [Self; 14] = [
        Self::InvalidDocument,
        Self::ShadowedRule,
        Self::OriginTrailingSlash,
        Self::OriginHasPath,
        Self::OriginNotLowercase,
        Self::OriginDefaultPort,
        Self::OriginNotAscii,
        Self::OriginNoScheme,
        Self::OriginNull,
        Self::DuplicateEntry,
        Self::PublicWrite,
        Self::WildcardOriginCredentials,
        Self::MaxAgeOverBrowserCap,
        Self::PreflightWithoutHeaders,
    ];

    /// The stable name used in output, `--allow` and `--explain`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::InvalidDocument => "invalid-document",
            Self::ShadowedRule => "shadowed-rule",
            Self::OriginTrailingSlash => "origin-trailing-slash",
            Self::OriginHasPath => "origin-has-path",
            Self::OriginNotLowercase => "origin-not-lowercase",
            Self::OriginDefaultPort => "origin-default-port",
            Self::OriginNotAscii => "origin-not-ascii",
            Self::OriginNoScheme => "origin-no-scheme",
            Self::OriginNull => "origin-null",
            Self::DuplicateEntry => "duplicate-entry",
            Self::PublicWrite => "public-write",
            Self::WildcardOriginCredentials => "wildcard-origin-credentials",
            Self::MaxAgeOverBrowserCap => "max-age-over-browser-cap",
            Self::PreflightWithoutHeaders => "preflight-without-headers",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    pub(crate) fn severity(self) -> Severity {
        match self {
            Self::InvalidDocument => Severity::Error,
            Self::ShadowedRule
            | Self::OriginTrailingSlash
            | Self::OriginHasPath
            | Self::OriginNotLowercase
            | Self::OriginDefaultPort
            | Self::OriginNotAscii
            | Self::OriginNoScheme
            | Self::OriginNull
            | Self::PreflightWithoutHeaders => Severity::Warning,
            Self::DuplicateEntry
            | Self::PublicWrite
            | Self::WildcardOriginCredentials
            | Self::MaxAgeOverBrowserCap => Severity::Info,
        }
    }

    /// One line: what the code reports.
    pub(crate) fn summary(self) -> &'static str {
        match self {
            Self::InvalidDocument => "S3 refuses the document (nothing else is checked)",
            Self::ShadowedRule => {
                "an earlier rule matches every request this rule matches: it never decides"
            }
            Self::OriginTrailingSlash => "an AllowedOrigin ends with '/': it never matches",
            Self::OriginHasPath => {
                "an AllowedOrigin has a path, query or fragment: it never matches"
            }
            Self::OriginNotLowercase => "an AllowedOrigin has upper case: it never matches",
            Self::OriginDefaultPort => {
                "an AllowedOrigin names the scheme's default port: it never matches"
            }
            Self::OriginNotAscii => {
                "an AllowedOrigin has a Unicode host (browsers send xn--): it never matches"
            }
            Self::OriginNoScheme => "an AllowedOrigin has no scheme: it never matches",
            Self::OriginNull => "the origin null is allowed (any site can send it)",
            Self::DuplicateEntry => "the same origin, method or header twice in one rule",
            Self::PublicWrite => "the origin * may PUT, POST or DELETE",
            Self::WildcardOriginCredentials => {
                "a wildcard origin is answered with Access-Control-Allow-Credentials: true"
            }
            Self::MaxAgeOverBrowserCap => "MaxAgeSeconds is above what browsers honour",
            Self::PreflightWithoutHeaders => {
                "PUT, POST or DELETE without AllowedHeader: preflights that list a header fail"
            }
        }
    }

    /// What `--explain CODE` prints.
    pub(crate) fn explanation(self) -> &'static str {
        match self {
            Self::InvalidDocument => {
                "S3's PutBucketCors would refuse the document. The finding carries S3's \
                 error code and message and the rule, field and value at fault. The other \
                 checks need a valid document, so none runs. Fix the error first \
                 (`s3-cors validate` says the same)."
            }
            Self::ShadowedRule => {
                "Rules are tried in order and the first that matches decides. An earlier \
                 rule matches every request this one matches: every origin pattern of this \
                 rule is covered by an origin pattern of the earlier rule (origins compared \
                 byte for byte), each of its methods is one of the earlier rule's, and \
                 every header it admits the earlier rule admits too (header names compared \
                 without regard to case). So this rule never decides a request, and \
                 editing it changes nothing. The check is exact where it reports: it never \
                 flags a rule that can decide a request (a rule covered only by several \
                 earlier rules together is not flagged). Fix: remove the rule, or move it \
                 before the rule that shadows it if its answer (methods, exposed headers, \
                 max age) should win."
            }
            Self::OriginTrailingSlash => {
                "A browser's Origin is scheme://host[:port], never followed by '/'. S3 \
                 compares origins byte for byte, so \"https://app.example.com/\" matches no \
                 request. Fix: drop the '/'."
            }
            Self::OriginHasPath => {
                "A browser's Origin has no path, query or fragment: the only '/' \
                 characters are the two of \"://\". An AllowedOrigin such as \
                 \"https://example.com/app\" never matches. Patterns with '*' are flagged \
                 only when no origin can fill the '*' (\"*/app\" is not flagged: \
                 \"https://app\" matches it). Fix: keep scheme://host[:port]."
            }
            Self::OriginNotLowercase => {
                "Browsers lower-case the scheme and host of an Origin, and S3 compares \
                 origins byte for byte, so \"https://App.example.com\" never matches. Fix: \
                 write it in lower case."
            }
            Self::OriginDefaultPort => {
                "Browsers leave the scheme's default port out of Origin (80 for http and ws, \
                 443 for https and wss, 21 for ftp), so \"https://example.com:443\" never \
                 matches. Fix: drop the port."
            }
            Self::OriginNotAscii => {
                "Browsers send an internationalised host in its ASCII form (Punycode, \
                 xn--...): \"https://bücher.example\" arrives as \
                 \"https://xn--bcher-kva.example\", so the Unicode spelling never matches. \
                 Fix: the suggested value is the Punycode spelling (for ordinary names; \
                 check unusual ones with `new URL(...).origin` in a browser)."
            }
            Self::OriginNoScheme => {
                "Every Origin a browser sends other than null starts with a scheme and \
                 \"://\". \"example.com\" or \"localhost:4200\" never matches (a pattern \
                 that starts with '*', such as \"*.example.com\", is fine). Fix: add the \
                 scheme (https://...)."
            }
            Self::OriginNull => {
                "Origin: null is sent by sandboxed iframes, file: pages, data: URLs and \
                 some cross-origin redirects. Any website can send it (by sandboxing an \
                 iframe), and S3 answers it with Access-Control-Allow-Origin: null and \
                 Access-Control-Allow-Credentials: true: it is wider than \"*\", which \
                 at least forbids credentials. Fix: remove it and serve the page from a \
                 real origin."
            }
            Self::DuplicateEntry => {
                "The same AllowedOrigin, AllowedMethod, AllowedHeader or ExposeHeader \
                 appears twice in one rule (headers compared without regard to case). \
                 Harmless, but a sign of a copy-and-paste slip; a repeated ExposeHeader \
                 is sent twice in Access-Control-Expose-Headers. Fix: remove the repeat."
            }
            Self::PublicWrite => {
                "A rule lets the origin \"*\" use PUT, POST or DELETE: scripts on any \
                 website may send those requests to this resource from a visitor's \
                 browser. S3 still checks every request's signature (this is the usual \
                 set-up for browser uploads with presigned URLs), so it is information, \
                 not a warning; behind a service that trusts the browser instead (cookies, \
                 network position) list the origins that write. Fix: list the origins."
            }
            Self::WildcardOriginCredentials => {
                "For an AllowedOrigin with a '*' other than \"*\" itself \
                 (\"https://*.example.com\"), S3 answers with the request's origin and \
                 Access-Control-Allow-Credentials: true. Every host the pattern matches, \
                 including forgotten or user-controlled subdomains, may then make \
                 credentialed requests and read the answers. S3 authenticates by \
                 signature, not by cookie, so for a bucket this is information; for a \
                 cookie-authenticated service behind this layer, treat it as a warning \
                 (--deny info). Fix: list the exact origins, or use \"*\" (no \
                 credentials)."
            }
            Self::MaxAgeOverBrowserCap => {
                "Browsers cache a preflight answer for at most their own limit: Chromium \
                 7200 s, Firefox 86400 s. A larger MaxAgeSeconds is silently cut, so the \
                 document promises more caching than happens. Fix: MaxAgeSeconds 7200."
            }
            Self::PreflightWithoutHeaders => {
                "A rule allows PUT, POST or DELETE but has no AllowedHeader, so it admits \
                 only preflights that list no header. Uploads from an AWS SDK (x-amz-*), \
                 JSON bodies (Content-Type: application/json) and most fetch() calls list \
                 headers, and their preflight is refused. Fix: add AllowedHeader \"*\", or \
                 the headers the client sends."
            }
        }
    }
}

/// One finding.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) code: Code,
    /// The rule, counted from 1.
    pub(crate) rule: Option<usize>,
    pub(crate) id: Option<String>,
    /// The member concerned, named as in S3's XML.
    pub(crate) field: Option<&'static str>,
    /// The value concerned, as written.
    pub(crate) value: Option<String>,
    pub(crate) message: String,
    pub(crate) fix: String,
    /// For `shadowed-rule`: the earlier rule, counted from 1, and its ID.
    pub(crate) shadowed_by: Option<(usize, Option<String>)>,
}

impl Finding {
    fn at(code: Code, index: usize, rule: &CorsRule) -> Self {
        Self {
            code,
            rule: Some(index + 1),
            id: rule.id.clone(),
            field: None,
            value: None,
            message: String::new(),
            fix: String::new(),
            shadowed_by: None,
        }
    }

    fn field(mut self, field: &'static str, value: impl Into<String>) -> Self {
        self.field = Some(field);
        self.value = Some(value.into());
        self
    }

    fn says(mut self, message: impl Into<String>, fix: impl Into<String>) -> Self {
        self.message = message.into();
        self.fix = fix.into();
        self
    }
}

/// The methods that change a resource.
const WRITES: [&str; 3] = ["PUT", "POST", "DELETE"];
/// Chromium's cap on `Access-Control-Max-Age`, the lowest of the major
/// browsers (Firefox: 86400).
const CHROMIUM_MAX_AGE: u32 = 7200;
const FIREFOX_MAX_AGE: u32 = 86400;

/// Every finding for a valid configuration, rule by rule, each rule's in a
/// fixed order.
pub(crate) fn check(config: &CorsConfiguration) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, rule) in config.rules.iter().enumerate() {
        let earlier = config.rules.get(..index).unwrap_or_default();
        if let Some((by, shadowing)) = earlier
            .iter()
            .enumerate()
            .find(|(_, e)| shadow::shadows(e, rule))
        {
            let by_label = report::rule_label(by + 1, shadowing.id.as_deref());
            let mut finding = Finding::at(Code::ShadowedRule, index, rule).says(
                format!(
                    "{by_label} matches every request this rule matches, so this rule never \
                     decides a request"
                ),
                format!("remove this rule, or move it before {by_label} if its answer should win"),
            );
            finding.shadowed_by = Some((by + 1, shadowing.id.clone()));
            findings.push(finding);
        }
        check_origins(index, rule, &mut findings);
        check_duplicates(index, rule, &mut findings);
        let writes: Vec<&str> = WRITES
            .into_iter()
            .filter(|w| rule.allowed_methods.iter().any(|m| m == w))
            .collect();
        if !writes.is_empty() && rule.allowed_origins.iter().any(|o| o == "*") {
            findings.push(
                Finding::at(Code::PublicWrite, index, rule)
                    .field("AllowedMethod", writes.join(", "))
                    .says(
                        format!(
                            "any website's scripts may send {} requests here (S3 still \
                             checks each request's signature)",
                            writes.join(", ")
                        ),
                        "replace AllowedOrigin \"*\" with the origins that write, unless \
                         uploads use presigned URLs",
                    ),
            );
        }
        if let Some(seconds) = rule.max_age_seconds.filter(|&s| s > CHROMIUM_MAX_AGE) {
            let which = if seconds > FIREFOX_MAX_AGE {
                format!(
                    "Chromium caches a preflight for at most {CHROMIUM_MAX_AGE} s and Firefox for at most {FIREFOX_MAX_AGE} s"
                )
            } else {
                format!("Chromium caches a preflight for at most {CHROMIUM_MAX_AGE} s")
            };
            findings.push(
                Finding::at(Code::MaxAgeOverBrowserCap, index, rule)
                    .field("MaxAgeSeconds", seconds.to_string())
                    .says(
                        format!("{which}; a longer MaxAgeSeconds is cut"),
                        format!("MaxAgeSeconds {CHROMIUM_MAX_AGE}"),
                    ),
            );
        }
        if !writes.is_empty() && rule.allowed_headers.is_empty() {
            findings.push(
                Finding::at(Code::PreflightWithoutHeaders, index, rule)
                    .field("AllowedMethod", writes.join(", "))
                    .says(
                        format!(
                            "this rule allows {} but no AllowedHeader: a preflight that \
                             lists any header (Content-Type: application/json, x-amz-* \
                             from an AWS SDK) is refused",
                            writes.join(", ")
                        ),
                        "add AllowedHeader \"*\", or the headers the client sends",
                    ),
            );
        }
    }
    findings
}

fn check_origins(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    for value in &rule.allowed_origins {
        let problems = origin::problems(value);
        let never = problems.iter().any(|c| *c != Code::OriginNull);
        for code in problems {
            let finding = Finding::at(code, index, rule).field("AllowedOrigin", value);
            let finding = match code {
                Code::OriginNull => finding.says(
                    "any website can send Origin: null (from a sandboxed iframe), and S3 \
                     answers it with Access-Control-Allow-Credentials: true",
                    "remove AllowedOrigin \"null\"",
                ),
                _ => finding.says(
                    format!("{}, so this AllowedOrigin never matches", never_why(code)),
                    format!("AllowedOrigin {:?}", origin::suggestion(value)),
                ),
            };
            findings.push(finding);
        }
        if !never && value.contains('*') && value != "*" {
            findings.push(
                Finding::at(Code::WildcardOriginCredentials, index, rule)
                    .field("AllowedOrigin", value)
                    .says(
                        "S3 answers every origin this pattern matches with that origin and \
                         Access-Control-Allow-Credentials: true",
                        "list the exact origins, or use \"*\" (then no credentials)",
                    ),
            );
        }
    }
}

fn never_why(code: Code) -> &'static str {
    match code {
        Code::OriginTrailingSlash => "an Origin never ends with '/'",
        Code::OriginHasPath => "an Origin has no path, query or fragment",
        Code::OriginNotLowercase => {
            "browsers send Origin in lower case and S3 compares it byte for byte"
        }
        Code::OriginDefaultPort => "browsers leave the scheme's default port out of Origin",
        Code::OriginNotAscii => "browsers send an internationalised host in Punycode (xn--...)",
        Code::OriginNoScheme => "an Origin starts with its scheme (https://)",
        _ => "",
    }
}

fn check_duplicates(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    for (field, values, fold_case) in [
        ("AllowedOrigin", &rule.allowed_origins, false),
        ("AllowedMethod", &rule.allowed_methods, false),
        ("AllowedHeader", &rule.allowed_headers, true),
        ("ExposeHeader", &rule.expose_headers, true),
    ] {
        for (at, value) in values.iter().enumerate() {
            let same = |other: &String| {
                if fold_case {
                    other.eq_ignore_ascii_case(value)
                } else {
                    other == value
                }
            };
            let before = values.get(..at).unwrap_or_default();
            // Report each repeat once, at its second occurrence.
            if before.iter().filter(|o| same(o)).count() == 1 {
                findings.push(
                    Finding::at(Code::DuplicateEntry, index, rule)
                        .field(field, value)
                        .says(
                            format!("{field} {value:?} appears more than once in this rule"),
                            format!("remove the repeated {field} {value:?}"),
                        ),
                );
            }
        }
    }
}

/// `lint` options.
#[derive(Debug)]
pub(crate) struct Options {
    /// Findings at or above this severity fail the run.
    pub(crate) deny: Severity,
    /// Codes left out of the report.
    pub(crate) allow: Vec<Code>,
}

/// Runs `s3-cors lint FILE`.
pub(crate) fn run(path: &str, options: &Options, format: Format) -> Output {
    let (name, findings) = match input::load(path, true) {
        Ok(doc) => {
            let findings = check(&doc.config);
            (doc.name, findings)
        }
        Err(LoadError::Invalid { name, error }) => {
            let finding = invalid(&error);
            (name, vec![finding])
        }
        Err(err @ LoadError::Read(_)) => return load_failure(&err, format),
    };
    let findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| !options.allow.contains(&f.code))
        .collect();
    let failed = findings.iter().any(|f| f.code.severity() >= options.deny);
    let mut out = Output::new(if failed {
        Status::Failure
    } else {
        Status::Success
    });
    let count = |s: Severity| findings.iter().filter(|f| f.code.severity() == s).count();
    let (errors, warnings, infos) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    match format {
        Format::Text => {
            for f in &findings {
                let _ = write!(
                    out.stdout,
                    "{}[{}]: {name}",
                    f.code.severity().name(),
                    f.code.name()
                );
                if let Some(rule) = f.rule {
                    let _ = write!(
                        out.stdout,
                        ": {}",
                        report::rule_label(rule, f.id.as_deref())
                    );
                }
                if let (Some(field), Some(value)) = (f.field, &f.value) {
                    let _ = write!(out.stdout, ": {field} {value:?}");
                }
                let _ = writeln!(out.stdout, "\n  {}\n  fix: {}", f.message, f.fix);
            }
            if findings.is_empty() {
                let _ = writeln!(out.stdout, "{name}: no findings");
            } else {
                let plural =
                    |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                let _ = writeln!(
                    out.stdout,
                    "{name}: {}, {}, {} info",
                    plural(errors, "error"),
                    plural(warnings, "warning"),
                    infos
                );
            }
        }
        Format::Json => {
            out.stdout = report::to_json(&Json {
                file: &name,
                deny: options.deny,
                failed,
                summary: Summary {
                    error: errors,
                    warning: warnings,
                    info: infos,
                },
                findings: findings.iter().map(FindingJson::from).collect(),
            });
        }
    }
    out
}

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
        fix: "correct this first: no other check runs on a document S3 refuses".to_owned(),
        shadowed_by: None,
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

#[derive(Serialize)]
struct Json<'a> {
    file: &'a str,
    /// The lowest severity that fails the run.
    deny: Severity,
    /// Whether a finding at or above `deny` was found (exit status 1).
    failed: bool,
    summary: Summary,
    findings: Vec<FindingJson<'a>>,
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
        }
    }
}
