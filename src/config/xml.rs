//! S3's XML `CORSConfiguration` document: reading and writing.
//!
//! The reader is event-based (quick-xml's namespace-aware reader) rather than
//! serde-based: S3's rules (an optional but exact namespace, unknown elements
//! refused, element order free, `MaxAgeSeconds` at most once) are checked
//! precisely here, with an error that says where the document went wrong.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::validate::{check_value_characters, max_age_error};
use super::{ConfigError, CorsConfiguration, CorsRule, MAX_AGE_SECONDS_LIMIT};
use crate::xml_text::escape_into;

/// The S3 namespace URI of `CORSConfiguration` documents.
const S3_XML_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Which member of a rule an element fills.
#[derive(Clone, Copy)]
enum Member {
    Id,
    AllowedOrigin,
    AllowedMethod,
    AllowedHeader,
    ExposeHeader,
    MaxAgeSeconds,
}

impl Member {
    /// The element's name.
    fn name(self) -> &'static str {
        match self {
            Self::Id => "ID",
            Self::AllowedOrigin => "AllowedOrigin",
            Self::AllowedMethod => "AllowedMethod",
            Self::AllowedHeader => "AllowedHeader",
            Self::ExposeHeader => "ExposeHeader",
            Self::MaxAgeSeconds => "MaxAgeSeconds",
        }
    }

    fn from_local_name(name: &[u8]) -> Option<Self> {
        Some(match name {
            b"ID" => Self::Id,
            b"AllowedOrigin" => Self::AllowedOrigin,
            b"AllowedMethod" => Self::AllowedMethod,
            b"AllowedHeader" => Self::AllowedHeader,
            b"ExposeHeader" => Self::ExposeHeader,
            b"MaxAgeSeconds" => Self::MaxAgeSeconds,
            _ => return None,
        })
    }
}

/// Where the reader is in the document.
enum State {
    /// Before the root element.
    Prolog,
    /// Inside `CORSConfiguration`, between rules.
    Root,
    /// Inside a `CORSRule`, between members.
    Rule(CorsRule),
    /// Inside a member element, collecting its text.
    Member(CorsRule, Member, String),
    /// After the root element.
    Epilog,
}

pub(super) fn parse(doc: &str) -> Result<CorsConfiguration, ConfigError> {
    let mut reader = NsReader::from_str(doc);
    reader.config_mut().expand_empty_elements = true;
    let mut config = CorsConfiguration::new();
    let mut state = State::Prolog;

    loop {
        let position = reader.buffer_position();
        let at = |what: &str| ConfigError::malformed(format!("{what} at byte {position}"));
        let event = reader
            .read_event()
            .map_err(|e| ConfigError::malformed(format!("{e} at byte {position}")))?;

        state = match (state, event) {
            (state, Event::Comment(_) | Event::PI(_)) => state,
            (State::Prolog, Event::Decl(_)) => State::Prolog,
            (_, Event::DocType(_)) => return Err(at("a DOCTYPE is not allowed")),

            // Whitespace between elements.
            (
                state @ (State::Prolog | State::Root | State::Rule(_) | State::Epilog),
                Event::Text(t),
            ) if t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) => state,

            (State::Prolog, Event::Start(e)) => {
                expect_element(&reader, e.name(), b"CORSConfiguration")
                    .map_err(|()| at("the root element must be <CORSConfiguration>"))?;
                State::Root
            }
            (State::Root, Event::Start(e)) => {
                expect_element(&reader, e.name(), b"CORSRule")
                    .map_err(|()| at("expected <CORSRule>"))?;
                State::Rule(CorsRule::new())
            }
            (State::Root, Event::End(_)) => State::Epilog,

            (State::Rule(rule), Event::Start(e)) => {
                let member = member_of(&reader, e.name()).ok_or_else(|| {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    at(&format!("unknown element <{name}> in <CORSRule>"))
                })?;
                State::Member(rule, member, String::new())
            }
            (State::Rule(rule), Event::End(_)) => {
                config.rules.push(rule);
                State::Root
            }

            (State::Member(rule, member, mut text), Event::Text(t)) => {
                text.push_str(&t.decode().map_err(|e| at(&e.to_string()))?);
                State::Member(rule, member, text)
            }
            (State::Member(rule, member, mut text), Event::CData(t)) => {
                text.push_str(&t.decode().map_err(|e| at(&e.to_string()))?);
                State::Member(rule, member, text)
            }
            (State::Member(rule, member, mut text), Event::GeneralRef(r)) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => r
                        .decode()
                        .ok()
                        .and_then(|name| quick_xml::escape::resolve_predefined_entity(&name))
                        .and_then(|s| s.chars().next()),
                    Err(_) => None,
                };
                let c = resolved.ok_or_else(|| at("unknown entity or character reference"))?;
                text.push(c);
                State::Member(rule, member, text)
            }
            (State::Member(mut rule, member, text), Event::End(_)) => {
                let index = config.rules.len();
                check_value_characters(member.name(), &text)
                    .and_then(|()| set_member(&mut rule, member, text))
                    .map_err(|e| e.at_rule(index, None))?;
                State::Rule(rule)
            }

            (State::Epilog, Event::Eof) => return Ok(config),
            (_, Event::Eof) => return Err(at("unexpected end of document")),
            (State::Member(..), Event::Start(_)) => {
                return Err(at("unexpected element inside a CORSRule member"));
            }
            (_, _) => return Err(at("unexpected content")),
        };
    }
}

/// Checks that `name` is `local` in no namespace or in S3's.
fn expect_element(
    reader: &NsReader<&[u8]>,
    name: quick_xml::name::QName<'_>,
    local: &[u8],
) -> Result<(), ()> {
    let (ns, local_name) = reader.resolver().resolve_element(name);
    if in_s3_namespace(&ns) && local_name.as_ref() == local {
        Ok(())
    } else {
        Err(())
    }
}

fn member_of(reader: &NsReader<&[u8]>, name: quick_xml::name::QName<'_>) -> Option<Member> {
    let (ns, local_name) = reader.resolver().resolve_element(name);
    if in_s3_namespace(&ns) {
        Member::from_local_name(local_name.as_ref())
    } else {
        None
    }
}

fn in_s3_namespace(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Unbound => true,
        ResolveResult::Bound(ns) => ns.as_ref() == S3_XML_NAMESPACE.as_bytes(),
        ResolveResult::Unknown(_) => false,
    }
}

fn set_member(rule: &mut CorsRule, member: Member, text: String) -> Result<(), ConfigError> {
    match member {
        Member::Id => {
            if rule.id.is_some() {
                return Err(ConfigError::malformed("ID appears twice").with_field("ID"));
            }
            rule.id = Some(text);
        }
        Member::AllowedOrigin => rule.allowed_origins.push(text),
        Member::AllowedMethod => rule.allowed_methods.push(text),
        Member::AllowedHeader => rule.allowed_headers.push(text),
        Member::ExposeHeader => rule.expose_headers.push(text),
        Member::MaxAgeSeconds => {
            let invalid = || max_age_error(&text);
            if rule.max_age_seconds.is_some() {
                return Err(invalid().with_detail("MaxAgeSeconds appears twice"));
            }
            let seconds = parse_max_age(text.trim()).ok_or_else(invalid)?;
            rule.max_age_seconds = Some(seconds);
        }
    }
    Ok(())
}

/// An `xs:int` that is not negative: optional `+`, decimal digits, at most
/// 2147483647.
pub(super) fn parse_max_age(s: &str) -> Option<u32> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse()
        .ok()
        .filter(|&seconds| seconds <= MAX_AGE_SECONDS_LIMIT)
}

pub(super) fn write(config: &CorsConfiguration) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CORSConfiguration xmlns=\"");
    out.push_str(S3_XML_NAMESPACE);
    out.push_str("\">");
    for rule in &config.rules {
        out.push_str("<CORSRule>");
        if let Some(id) = &rule.id {
            element(&mut out, "ID", id);
        }
        for (name, values) in [
            ("AllowedHeader", &rule.allowed_headers),
            ("AllowedMethod", &rule.allowed_methods),
            ("AllowedOrigin", &rule.allowed_origins),
            ("ExposeHeader", &rule.expose_headers),
        ] {
            for value in values {
                element(&mut out, name, value);
            }
        }
        if let Some(seconds) = rule.max_age_seconds {
            element(&mut out, "MaxAgeSeconds", &seconds.to_string());
        }
        out.push_str("</CORSRule>");
    }
    out.push_str("</CORSConfiguration>");
    out
}

fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}
