//! Why an XML text is not a CORS configuration: the line and column, the
//! element, and the shape expected.
//!
//! The library reads the document; this walk runs only when it refused
//! one. It follows the same structure (`<CORSConfiguration>`, then
//! `<CORSRule>` elements, then one element per value), so it stops at the
//! same place, and says it in terms of elements: which one, where, and what
//! belongs there instead.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::Problem;
use super::places::Places;

/// S3's namespace, which a document may use or leave out.
const S3_NAMESPACE: &[u8] = b"http://s3.amazonaws.com/doc/2006-03-01/";

/// The elements of a rule, in S3's order.
const MEMBERS: [&str; 6] = [
    "ID",
    "AllowedOrigin",
    "AllowedMethod",
    "AllowedHeader",
    "ExposeHeader",
    "MaxAgeSeconds",
];

const SHAPE: &str = "<CORSConfiguration><CORSRule><AllowedOrigin>...</AllowedOrigin>\
                     <AllowedMethod>...</AllowedMethod>...</CORSRule>...</CORSConfiguration>";

/// A `<CORSRule>` being read.
#[derive(Clone, Copy)]
struct Rule {
    /// Where it opened.
    open: usize,
    /// Whether it has an `<ID>` already.
    id: bool,
    /// Whether it has a `<MaxAgeSeconds>` already.
    max_age: bool,
}

/// A member element being read: the rule it is in, its name, where it
/// opened, and its text so far.
struct Member {
    rule: Rule,
    name: &'static str,
    open: usize,
    text: String,
}

/// Where the walk is.
enum Place {
    /// Before the root element.
    Prolog,
    /// Inside `<CORSConfiguration>`, between rules.
    Root,
    /// Inside a `<CORSRule>`, between members.
    Rule(Rule),
    /// Inside a member element.
    Member(Member),
    /// After the root element.
    Epilog,
}

impl Place {
    /// The element the walk is in, for messages.
    fn element(&self) -> String {
        match self {
            Self::Prolog | Self::Epilog => "the document".to_owned(),
            Self::Root => "<CORSConfiguration>".to_owned(),
            Self::Rule(_) => "<CORSRule>".to_owned(),
            Self::Member(member) => format!("<{}>", member.name),
        }
    }
}

/// The first thing in `text` that keeps it from being a CORS configuration
/// in XML, or `None` when this walk finds nothing (the library's own message
/// then stands).
pub(super) fn diagnose(text: &str) -> Option<Problem> {
    walk(text).err()
}

/// Where each rule of a document the library read, and each of its values,
/// starts.
pub(super) fn places(text: &str) -> Places {
    walk(text).unwrap_or_default()
}

/// Reads `text` as the library does, keeping where each rule and value
/// starts; or the first problem, with where it is.
fn walk(text: &str) -> Result<Places, Problem> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    let mut place = Place::Prolog;
    let mut root_open = 0;
    let mut places = Places::default();
    let problem =
        |at: usize, found: String, expected: &str| Err(Problem::at(text, at, found, expected));
    loop {
        let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => {
                let at = usize::try_from(reader.error_position()).unwrap_or(at);
                return problem(
                    at,
                    format!("not well-formed XML in {}: {err}", place.element()),
                    "well-formed XML: every element closed by its own end tag, '&' written &amp; \
                     and '<' written &lt; in values",
                );
            }
        };
        place = match (place, event) {
            (place, Event::Comment(_) | Event::PI(_)) => place,
            (Place::Prolog, Event::Decl(_)) => Place::Prolog,
            (_, Event::DocType(_)) => {
                return problem(
                    at,
                    "a DOCTYPE".to_owned(),
                    "no DOCTYPE: S3 refuses documents that have one",
                );
            }
            (place, Event::Text(t))
                if t.iter().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                    && !matches!(place, Place::Member(_)) =>
            {
                place
            }
            (Place::Prolog, Event::Start(e)) => {
                let (ns, local) = reader.resolver().resolve_element(e.name());
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                let in_ns = in_s3_namespace(&ns);
                if in_ns && local == "CORSConfiguration" {
                    root_open = at;
                    Place::Root
                } else {
                    let expected = if local == "CORSConfiguration" {
                        "<CORSConfiguration> in no namespace or in S3's: \
                         xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
                    } else if local.eq_ignore_ascii_case("CORSConfiguration") {
                        "<CORSConfiguration> (element names are case-sensitive)"
                    } else if local.eq_ignore_ascii_case("CORSRule") {
                        "<CORSConfiguration> around the <CORSRule> elements"
                    } else {
                        SHAPE
                    };
                    return problem(at, format!("<{name}> as the root element"), expected);
                }
            }
            (Place::Root, Event::Start(e)) => {
                let (ns, local) = reader.resolver().resolve_element(e.name());
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                if in_s3_namespace(&ns) && local == "CORSRule" {
                    places.rule_at(at);
                    Place::Rule(Rule {
                        open: at,
                        id: false,
                        max_age: false,
                    })
                } else {
                    let expected = if local == "CORSRule" {
                        "<CORSRule> in the namespace of <CORSConfiguration>".to_owned()
                    } else if local.to_ascii_lowercase().starts_with("corsrule") {
                        "<CORSRule> (one element per rule; names are case-sensitive)".to_owned()
                    } else if member_meant(&local).is_some() {
                        format!("<{local}> inside a <CORSRule>: {SHAPE}")
                    } else {
                        "<CORSRule> elements only".to_owned()
                    };
                    return problem(
                        at,
                        format!("<{name}> inside <CORSConfiguration>"),
                        &expected,
                    );
                }
            }
            (Place::Rule(rule), Event::Start(e)) => {
                let (ns, local) = reader.resolver().resolve_element(e.name());
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let local = String::from_utf8_lossy(local.as_ref()).into_owned();
                let member = MEMBERS
                    .into_iter()
                    .find(|m| *m == local)
                    .filter(|_| in_s3_namespace(&ns));
                let Some(member) = member else {
                    let expected = match member_meant(&local) {
                        Some((meant, _)) if meant == local => {
                            format!("<{meant}> in the namespace of <CORSConfiguration>")
                        }
                        Some((meant, why)) => format!("<{meant}> ({why})"),
                        None if local == "CORSRule" => {
                            "</CORSRule> before the next <CORSRule>".to_owned()
                        }
                        None => format!("one of {}", MEMBERS.map(|m| format!("<{m}>")).join(", ")),
                    };
                    return problem(at, format!("<{name}> inside <CORSRule>"), &expected);
                };
                if (member == "ID" && rule.id) || (member == "MaxAgeSeconds" && rule.max_age) {
                    return problem(
                        at,
                        format!("a second <{member}> in one <CORSRule>"),
                        &format!("at most one <{member}> per rule"),
                    );
                }
                Place::Member(Member {
                    rule: Rule {
                        id: rule.id || member == "ID",
                        max_age: rule.max_age || member == "MaxAgeSeconds",
                        ..rule
                    },
                    name: member,
                    open: at,
                    text: String::new(),
                })
            }
            (Place::Member(member), Event::Start(e)) => {
                let inner = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let name = member.name;
                return problem(
                    at,
                    format!("<{inner}> inside <{name}>"),
                    &format!("text only inside <{name}>, one value per element"),
                );
            }
            (Place::Member(mut member), Event::Text(t)) => {
                member.text.push_str(&t.decode().unwrap_or_default());
                Place::Member(member)
            }
            (Place::Member(mut member), Event::CData(t)) => {
                member.text.push_str(&t.decode().unwrap_or_default());
                Place::Member(member)
            }
            (Place::Member(mut member), Event::GeneralRef(r)) => {
                let entity = r
                    .decode()
                    .ok()
                    .and_then(|name| quick_xml::escape::resolve_predefined_entity(&name));
                match (r.resolve_char_ref(), entity) {
                    (Ok(Some(c)), _) => member.text.push(c),
                    (Ok(None), Some(text)) => member.text.push_str(text),
                    _ => {
                        let entity = String::from_utf8_lossy(r.as_ref()).into_owned();
                        return problem(
                            at,
                            format!("the entity &{entity}; in <{}>", member.name),
                            "&amp; &lt; &gt; &quot; &apos; or a character reference such as &#38;",
                        );
                    }
                }
                Place::Member(member)
            }
            (Place::Member(member), Event::End(_)) => {
                if member.name == "MaxAgeSeconds" && !is_max_age(member.text.trim()) {
                    return problem(
                        member.open,
                        format!("<MaxAgeSeconds>{}</MaxAgeSeconds>", member.text),
                        "a whole number of seconds from 0 to 2147483647: \
                         <MaxAgeSeconds>3000</MaxAgeSeconds>",
                    );
                }
                places.value_at(member.name, member.text, member.open);
                Place::Rule(member.rule)
            }
            (Place::Rule(_), Event::End(_)) => Place::Root,
            (Place::Root, Event::End(_)) => Place::Epilog,
            (Place::Epilog, Event::Eof) => return Ok(places),
            (Place::Prolog, Event::Eof) => {
                return problem(at, "an empty document".to_owned(), SHAPE);
            }
            (place, Event::Eof) => {
                let (open, element) = match &place {
                    Place::Root => (root_open, "CORSConfiguration"),
                    Place::Rule(rule) => (rule.open, "CORSRule"),
                    Place::Member(member) => (member.open, member.name),
                    Place::Prolog | Place::Epilog => (0, "CORSConfiguration"),
                };
                let (line, column) = super::line_column(text, open);
                return problem(
                    at,
                    format!(
                        "the end of the document inside <{element}> (opened at line {line}, \
                         column {column})"
                    ),
                    &format!("</{element}>"),
                );
            }
            (Place::Epilog, Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                return problem(
                    at,
                    format!("<{name}> after </CORSConfiguration>"),
                    "one <CORSConfiguration> per document",
                );
            }
            (place, Event::Text(t)) => {
                let snippet: String = t
                    .decode()
                    .unwrap_or_default()
                    .trim()
                    .chars()
                    .take(40)
                    .collect();
                return problem(
                    at,
                    format!("the text {snippet:?} directly inside {}", place.element()),
                    "text only inside a value element such as <AllowedOrigin>",
                );
            }
            (place, _) => {
                return problem(
                    at,
                    format!("unexpected content inside {}", place.element()),
                    SHAPE,
                );
            }
        };
    }
}

fn in_s3_namespace(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Unbound => true,
        ResolveResult::Bound(ns) => ns.as_ref() == S3_NAMESPACE,
        ResolveResult::Unknown(_) => false,
    }
}

/// The rule member `name` was probably meant to be, and why it is not that.
fn member_meant(name: &str) -> Option<(&'static str, &'static str)> {
    let folded: String = name
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let meant = match folded.as_str() {
        "id" => "ID",
        "allowedorigin" | "allowedorigins" => "AllowedOrigin",
        "allowedmethod" | "allowedmethods" => "AllowedMethod",
        "allowedheader" | "allowedheaders" => "AllowedHeader",
        "exposeheader" | "exposeheaders" | "exposedheader" | "exposedheaders" => "ExposeHeader",
        "maxageseconds" | "maxage" => "MaxAgeSeconds",
        _ => return None,
    };
    let why = if name == meant {
        ""
    } else if name.ends_with('s') && !name.ends_with("Seconds") {
        "one element per value, named in the singular"
    } else if matches!(name, "ExposedHeader" | "MaxAge" | "Id") {
        "CloudFormation's name"
    } else {
        "element names are case-sensitive"
    };
    Some((meant, why))
}

/// S3's `xs:int` for `MaxAgeSeconds`, not negative: an optional `+`, then
/// digits, at most 2147483647.
fn is_max_age(text: &str) -> bool {
    let digits = text.strip_prefix('+').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n <= i32::MAX as u64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::diagnose;

    fn at(text: &str) -> (usize, usize, String, String) {
        diagnose(text).unwrap().parts()
    }

    #[test]
    fn an_unknown_element_is_named_with_its_line_and_column() {
        let doc = "<CORSConfiguration>\n  <CORSRule>\n    <AllowedOrigins>*</AllowedOrigins>\n  </CORSRule>\n</CORSConfiguration>";
        let (line, column, found, expected) = at(doc);
        assert_eq!((line, column), (3, 5));
        assert_eq!(found, "<AllowedOrigins> inside <CORSRule>");
        assert_eq!(
            expected,
            "<AllowedOrigin> (one element per value, named in the singular)"
        );
        let (_, _, _, expected) = at(
            "<CORSConfiguration><CORSRule><ExposedHeader>ETag</ExposedHeader></CORSRule></CORSConfiguration>",
        );
        assert_eq!(expected, "<ExposeHeader> (CloudFormation's name)");
        let (_, _, found, expected) =
            at("<CORSConfiguration><CORSRule><Origin>x</Origin></CORSRule></CORSConfiguration>");
        assert_eq!(found, "<Origin> inside <CORSRule>");
        assert!(
            expected.starts_with("one of <ID>, <AllowedOrigin>"),
            "{expected}"
        );
    }

    #[test]
    fn the_root_and_its_namespace() {
        let (_, _, found, expected) = at("<CorsConfiguration/>");
        assert_eq!(found, "<CorsConfiguration> as the root element");
        assert!(expected.contains("case-sensitive"), "{expected}");
        let (_, _, _, expected) = at("<CORSConfiguration xmlns=\"urn:other\"/>");
        assert!(expected.contains("2006-03-01"), "{expected}");
        let (_, _, _, expected) = at("<CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>");
        assert!(expected.contains("around the <CORSRule>"), "{expected}");
    }

    #[test]
    fn syntax_errors_name_the_element_they_are_in() {
        let doc = "<CORSConfiguration>\n <CORSRule>\n  <AllowedOrigin>a & b</AllowedOrigin>";
        let (line, _, found, _) = at(doc);
        assert_eq!(line, 3);
        assert!(found.contains("<AllowedOrigin>"), "{found}");
        let doc = "<CORSConfiguration>\n <CORSRule>\n  <AllowedOrigin>a</AllowedOrigin>\n";
        let (line, column, found, expected) = at(doc);
        assert_eq!((line, column), (4, 1));
        assert_eq!(
            found,
            "the end of the document inside <CORSRule> (opened at line 2, column 2)"
        );
        assert_eq!(expected, "</CORSRule>");
    }

    #[test]
    fn max_age_must_be_a_number() {
        let doc = "<CORSConfiguration><CORSRule>\n<MaxAgeSeconds>1h</MaxAgeSeconds></CORSRule></CORSConfiguration>";
        let (line, column, found, _) = at(doc);
        assert_eq!((line, column), (2, 1));
        assert_eq!(found, "<MaxAgeSeconds>1h</MaxAgeSeconds>");
    }

    #[test]
    fn text_out_of_place_is_quoted() {
        let (_, _, found, _) =
            at("<CORSConfiguration><CORSRule>https://a</CORSRule></CORSConfiguration>");
        assert_eq!(found, "the text \"https://a\" directly inside <CORSRule>");
    }

    #[test]
    fn a_document_the_library_reads_has_no_problem_here() {
        assert!(
            diagnose(
                "<?xml version=\"1.0\"?>\n<!-- c --><CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <CORSRule><ID>a&amp;b</ID><AllowedOrigin>*</AllowedOrigin><MaxAgeSeconds> 5 </MaxAgeSeconds>\
                 </CORSRule></CORSConfiguration>\n"
            )
            .is_none()
        );
    }
}
