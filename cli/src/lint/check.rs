//! The checks: every finding for a valid configuration, rule by rule.

use tower_s3_cors::config::{CorsConfiguration, CorsRule};

use super::origin::{self, Reach};
use super::{Code, headers, shadow};
use crate::pattern::Pattern;
use crate::report;

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
    /// Where in the document, when known (counted from 1).
    pub(crate) line: Option<usize>,
    pub(crate) column: Option<usize>,
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
            line: None,
            column: None,
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
        check_shadowed(index, rule, earlier, &mut findings);
        check_origins(index, rule, &mut findings);
        check_entries(index, rule, &mut findings);
        check_writes(index, rule, &mut findings);
        check_headers(index, rule, &mut findings);
        check_max_age(index, rule, &mut findings);
    }
    findings
}

fn check_shadowed(
    index: usize,
    rule: &CorsRule,
    earlier: &[CorsRule],
    findings: &mut Vec<Finding>,
) {
    let Some((by, shadowing)) = earlier
        .iter()
        .enumerate()
        .find(|(_, e)| shadow::shadows(e, rule))
    else {
        return;
    };
    let by_label = report::rule_label(by + 1, shadowing.id.as_deref());
    let mut finding = Finding::at(Code::ShadowedRule, index, rule).says(
        format!(
            "{by_label} matches every request this rule matches, so this rule never decides a \
             request"
        ),
        format!("remove this rule, or move it before {by_label} if its answer should win"),
    );
    finding.shadowed_by = Some((by + 1, shadowing.id.clone()));
    findings.push(finding);
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
                    origin::fix(value),
                ),
            };
            findings.push(finding);
        }
        if never || !value.contains('*') || value == "*" {
            continue;
        }
        let finding = match origin::reach(value) {
            Reach::Owned => Finding::at(Code::WildcardOriginCredentials, index, rule).says(
                "S3 answers every origin this pattern matches with that origin and \
                 Access-Control-Allow-Credentials: true",
                "list the exact origins, or use \"*\" (then no credentials)",
            ),
            Reach::EverySite { which } => Finding::at(Code::OriginEverySite, index, rule).says(
                format!(
                    "this pattern matches {which}, and S3 answers each with its own origin and \
                     Access-Control-Allow-Credentials: true, which \"*\" would not"
                ),
                "list the origins meant, or write \"*\" if every site is meant (no credentials)",
            ),
            Reach::Strangers { how, .. } => Finding::at(Code::OriginAnyoneCanHost, index, rule)
                .says(
                    format!("{how}; S3 answers such origins with credentials allowed"),
                    "list your own hosts, or end the pattern with a domain that is yours \
                     (https://*.example.com)",
                ),
        };
        findings.push(finding.field("AllowedOrigin", value));
    }
}

pub(super) fn never_why(code: Code) -> &'static str {
    match code {
        Code::OriginTrailingSlash => "an Origin never ends with '/'",
        Code::OriginHasPath => "an Origin has no path, query or fragment",
        Code::OriginNotLowercase => {
            "browsers send Origin in lower case and S3 compares it byte for byte"
        }
        Code::OriginDefaultPort => "browsers leave the scheme's default port out of Origin",
        Code::OriginNotAscii => "browsers send an internationalised host in Punycode (xn--...)",
        Code::OriginNoScheme => "an Origin starts with its scheme (https://)",
        Code::OriginWhitespace => {
            "an Origin holds no white space, and S3 keeps the value as written"
        }
        Code::OriginList => "one AllowedOrigin holds one origin, compared as a whole",
        Code::OriginEmpty => "an Origin is never empty",
        Code::OriginFileScheme => "a page opened from a file sends Origin: null",
        _ => "",
    }
}

/// `duplicate-entry` and `redundant-entry`: entries of one rule that add
/// nothing to the others.
fn check_entries(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    for (field, values, fold_case) in [
        ("AllowedOrigin", &rule.allowed_origins, false),
        ("AllowedMethod", &rule.allowed_methods, false),
        ("AllowedHeader", &rule.allowed_headers, true),
        ("ExposeHeader", &rule.expose_headers, true),
    ] {
        let same = |a: &String, b: &String| {
            if fold_case {
                a.eq_ignore_ascii_case(b)
            } else {
                a == b
            }
        };
        let pattern = |v: &String| {
            if fold_case {
                Pattern::folded(v)
            } else {
                Pattern::new(v)
            }
        };
        for (at, value) in values.iter().enumerate() {
            let before = values.get(..at).unwrap_or_default();
            // Report each repeat once, at its second occurrence.
            if before.iter().filter(|o| same(o, value)).count() == 1 {
                findings.push(
                    Finding::at(Code::DuplicateEntry, index, rule)
                        .field(field, value)
                        .says(
                            format!("{field} {value:?} appears more than once in this rule"),
                            format!("remove the repeated {field} {value:?}"),
                        ),
                );
            }
            // Methods and exposed headers have no '*'.
            if !matches!(field, "AllowedOrigin" | "AllowedHeader")
                || before.iter().any(|o| same(o, value))
            {
                continue;
            }
            let mine = pattern(value);
            let Some(wider) = values
                .iter()
                .find(|other| !same(other, value) && pattern(other).covers(&mine))
            else {
                continue;
            };
            let credentials = if field == "AllowedOrigin" && wider == "*" {
                " (with \"*\" in the rule, S3 answers every origin with \"*\" and no credentials)"
            } else {
                ""
            };
            findings.push(
                Finding::at(Code::RedundantEntry, index, rule)
                    .field(field, value)
                    .says(
                        format!(
                            "{field} {wider:?} of this rule covers it, so it changes \
                             nothing{credentials}"
                        ),
                        format!("remove {field} {value:?}"),
                    ),
            );
        }
    }
}

/// The checks about writes: `public-write`, `http-origin-writes`,
/// `preflight-without-headers`, `upload-without-content-type` and
/// `etag-not-exposed`.
fn check_writes(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    let writes: Vec<&str> = WRITES
        .into_iter()
        .filter(|w| rule.allowed_methods.iter().any(|m| m == w))
        .collect();
    if writes.is_empty() {
        return;
    }
    if rule.allowed_origins.iter().any(|o| o == "*") {
        findings.push(
            Finding::at(Code::PublicWrite, index, rule)
                .field("AllowedMethod", writes.join(", "))
                .says(
                    format!(
                        "any website's scripts may send {} requests here (S3 still checks each \
                         request's signature)",
                        writes.join(", ")
                    ),
                    "replace AllowedOrigin \"*\" with the origins that write, unless uploads \
                     use presigned URLs",
                ),
        );
    }
    for value in &rule.allowed_origins {
        let Some(host) = value.strip_prefix("http://") else {
            continue;
        };
        if headers::is_loopback(host) || !rule.allowed_origins.contains(&format!("https://{host}"))
        {
            continue;
        }
        findings.push(
            Finding::at(Code::HttpOriginWrites, index, rule)
                .field("AllowedOrigin", value)
                .says(
                    format!(
                        "a page on plain http can be altered on its way to the browser, and this \
                         rule lets its scripts send {} requests; https://{host} is listed too",
                        writes.join(", ")
                    ),
                    format!("remove AllowedOrigin {value:?}"),
                ),
        );
    }
    if !writes.contains(&"PUT") {
        return;
    }
    if rule.allowed_headers.is_empty() {
        findings.push(
            Finding::at(Code::PreflightWithoutHeaders, index, rule)
                .field("AllowedMethod", "PUT")
                .says(
                    "this rule allows PUT but no AllowedHeader: the preflight of a browser PUT \
                     with a body lists content-type (and x-amz-*, authorization when an AWS \
                     SDK signs it), and is refused",
                    "add AllowedHeader \"content-type\" (and the headers your client sends), \
                     or \"*\"",
                ),
        );
    } else if !headers::admitted(&rule.allowed_headers, "content-type") {
        findings.push(
            Finding::at(Code::UploadWithoutContentType, index, rule)
                .field("AllowedHeader", rule.allowed_headers.join(", "))
                .says(
                    "this rule allows PUT, but no AllowedHeader admits content-type: the \
                     preflight of a browser PUT of a file, a typed Blob or JSON lists it, and \
                     is refused",
                    "add AllowedHeader \"content-type\"",
                ),
        );
    }
    if !rule
        .expose_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case("etag"))
    {
        findings.push(
            Finding::at(Code::EtagNotExposed, index, rule)
                .field("AllowedMethod", "PUT")
                .says(
                    "this rule allows PUT but does not expose ETag: a browser uploading in parts \
                     (S3 multipart, as Uppy and the AWS SDK do) cannot read each part's ETag to \
                     complete the upload",
                    "add ExposeHeader \"ETag\" if browsers upload in parts",
                ),
        );
    }
}

/// `header-never-requested` and `expose-header-is-method`.
fn check_headers(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    for value in &rule.allowed_headers {
        if headers::never_requested(value) {
            findings.push(
                Finding::at(Code::HeaderNeverRequested, index, rule)
                    .field("AllowedHeader", value)
                    .says(
                        "browsers set this header themselves and never list it in \
                         Access-Control-Request-Headers, so allowing it changes nothing",
                        format!("remove AllowedHeader {value:?}"),
                    ),
            );
        }
    }
    let methods: Vec<&String> = rule
        .expose_headers
        .iter()
        .filter(|h| headers::is_method_name(h))
        .collect();
    if let Some(first) = methods.first() {
        let list: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
        findings.push(
            Finding::at(Code::ExposeHeaderIsMethod, index, rule)
                .field("ExposeHeader", list.join(", "))
                .says(
                    format!(
                        "{}: S3 sends Access-Control-Expose-Headers: {}, where {} nothing",
                        if list.len() == 1 {
                            format!("{first} is a method, not a response header")
                        } else {
                            format!("{} are methods, not response headers", list.join(", "))
                        },
                        rule.expose_headers.join(", "),
                        if list.len() == 1 {
                            "it exposes"
                        } else {
                            "they expose"
                        }
                    ),
                    format!(
                        "remove {} from ExposeHeader (methods go in AllowedMethod), and expose \
                         the response headers the page reads (such as ETag)",
                        list.join(", ")
                    ),
                ),
        );
    }
}

fn check_max_age(index: usize, rule: &CorsRule, findings: &mut Vec<Finding>) {
    let Some(seconds) = rule.max_age_seconds.filter(|&s| s > CHROMIUM_MAX_AGE) else {
        return;
    };
    let which = if seconds > FIREFOX_MAX_AGE {
        format!(
            "Chromium caches a preflight for at most {CHROMIUM_MAX_AGE} s and Firefox for at \
             most {FIREFOX_MAX_AGE} s"
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
