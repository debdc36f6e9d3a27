//! Why a JSON text is not a CORS configuration, in terms of the shape
//! expected: the AWS CLI's `{"CORSRules": [...]}` or the console's `[...]`,
//! each rule an object with the S3 API's keys.
//!
//! The library reads the document; this walk runs only when it refused
//! one, to say where (serde_json's line and column) and what was meant:
//! a bare rule object, a byte-order mark, CloudFormation's or Terraform's
//! key names, a string where a list belongs.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::places::{Places, member_of_key};
use super::{Problem, line_column};

/// The keys of a rule, in the AWS CLI's order.
const RULE_KEYS: [&str; 6] = [
    "ID",
    "AllowedHeaders",
    "AllowedMethods",
    "AllowedOrigins",
    "ExposeHeaders",
    "MaxAgeSeconds",
];

const DOCUMENT: &str = "{\"CORSRules\": [{\"AllowedOrigins\": [...], \"AllowedMethods\": [...], \
                        ...}]} (the AWS CLI's shape) or the console's bare [...] of rules";

/// The first thing in `text` that keeps it from being a CORS configuration
/// in JSON, or `None` when this walk finds nothing (the library's own
/// message then stands).
pub(super) fn diagnose(text: &str) -> Option<Problem> {
    if text.starts_with('\u{feff}') {
        return Some(Problem::at(
            text,
            0,
            "a byte-order mark (U+FEFF) before the JSON".to_owned(),
            "JSON text without a byte-order mark: save the file as UTF-8 without BOM \
             (JSON parsers may refuse it, as this one does)",
        ));
    }
    if let Err(err) = serde_json::from_str::<IgnoredAny>(text) {
        return Some(syntax(text, &err));
    }
    let err = serde_json::Deserializer::from_str(text)
        .deserialize_any(DocumentShape)
        .err()?;
    let message = without_position(&err);
    let (found, expected) = message.split_once('\n').unwrap_or((&message, DOCUMENT));
    // serde_json stops just after the key or value at fault: point at its
    // start.
    let offset = byte_offset(text, err.line(), err.column());
    let start = text.get(..offset).and_then(string_start).unwrap_or(offset);
    Some(Problem::at(text, start, found.to_owned(), expected))
}

/// The byte offset of serde_json's line and column (both counted from 1,
/// the column in bytes), which points just after what it read.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + column
}

/// Where the JSON string that `before` ends with starts, if it ends with
/// one.
fn string_start(before: &str) -> Option<usize> {
    let body = before.strip_suffix('"')?;
    let bytes = body.as_bytes();
    let mut at = bytes.len();
    while at > 0 {
        at -= 1;
        if bytes.get(at) == Some(&b'"') {
            let backslashes = bytes
                .get(..at)
                .unwrap_or_default()
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if backslashes % 2 == 0 {
                return Some(at);
            }
        }
    }
    None
}

/// Where each rule of a document the library read, and each of its values,
/// starts (a scan of the JSON text; serde_json keeps no positions).
pub(super) fn places(text: &str) -> Places {
    let mut places = Places::default();
    let mut scan = Scan { text, at: 0 };
    scan.space();
    if scan.peek() == Some(b'[') {
        scan.rules(&mut places);
    } else {
        scan.object(|scan, key| {
            if key == "CORSRules" {
                scan.rules(&mut places);
            } else {
                scan.skip();
            }
        });
    }
    places
}

/// A scan through a JSON text that is known to be well-formed.
struct Scan<'t> {
    text: &'t str,
    at: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    /// The string that starts here (`"`): where, and its value.
    fn string(&mut self) -> Option<(usize, String)> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        let mut end = start + 1;
        loop {
            match bytes.get(end)? {
                b'\\' => end += 2,
                b'"' => break,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        let value = serde_json::from_str(self.text.get(start..=end)?).ok()?;
        Some((start, value))
    }

    /// Passes the value that starts here.
    fn skip(&mut self) {
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    if self.string().is_none() {
                        self.at = self.text.len();
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.at += 1;
                }
                b'}' | b']' if depth == 0 => return,
                b'}' | b']' => {
                    depth -= 1;
                    self.at += 1;
                }
                b',' if depth == 0 => return,
                _ => self.at += 1,
            }
            if depth == 0 && matches!(self.peek(), Some(b',' | b'}' | b']') | None) {
                return;
            }
        }
    }

    /// The members of the object that starts here, each given to `member`
    /// with the scan at its value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &str)) {
        self.items(b'{', b'}', |scan| {
            let Some((_, key)) = scan.string() else {
                scan.skip();
                return;
            };
            scan.space();
            if scan.peek() == Some(b':') {
                scan.at += 1;
            }
            scan.space();
            member(scan, &key);
        });
    }

    /// The items of the list or object that starts here (`open`), each
    /// given to `item` with the scan at its start.
    fn items(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self)) {
        if self.peek() != Some(open) {
            self.skip();
            return;
        }
        self.at += 1;
        loop {
            self.space();
            match self.peek() {
                None => return,
                Some(b) if b == close => {
                    self.at += 1;
                    return;
                }
                Some(b',') => self.at += 1,
                Some(_) => {
                    let before = self.at;
                    item(self);
                    if self.at == before {
                        self.at += 1; // never stall
                    }
                }
            }
        }
    }

    /// The list of rules that starts here.
    fn rules(&mut self, places: &mut Places) {
        self.items(b'[', b']', |scan| {
            places.rule_at(scan.at);
            scan.object(|scan, key| {
                let Some(member) = member_of_key(key) else {
                    scan.skip();
                    return;
                };
                match scan.peek() {
                    Some(b'"') => {
                        if let Some((at, value)) = scan.string() {
                            places.value_at(member, value, at);
                        }
                    }
                    Some(b'[') => scan.items(b'[', b']', |scan| {
                        if scan.peek() != Some(b'"') {
                            scan.skip();
                        } else if let Some((at, value)) = scan.string() {
                            places.value_at(member, value, at);
                        }
                    }),
                    _ => {
                        let at = scan.at;
                        scan.skip();
                        let token = scan.text.get(at..scan.at).unwrap_or_default().trim();
                        places.value_at(member, token.to_owned(), at);
                    }
                }
            });
        });
    }
}

/// serde_json's message without the " at line L column C" it appends.
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// A text that is not JSON at all.
fn syntax(text: &str, err: &serde_json::Error) -> Problem {
    let message = without_position(err);
    // serde_json counts columns in bytes; editors count characters.
    let (line, column) = (err.line(), err.column());
    let offset = byte_offset(text, line, column).saturating_sub(1);
    let after_comma = text
        .get(..offset.min(text.len()))
        .is_some_and(|before| before.trim_end().ends_with(','));
    let expected = if message.contains("trailing comma") || after_comma {
        "no comma after the last item of a list or object"
    } else if message.contains("key must be a string") {
        "keys in double quotes (\"AllowedOrigins\")"
    } else if message.contains("EOF") {
        "the rest of the document: a '}' or ']' is missing"
    } else {
        "JSON: strings and keys in double quotes, no comments, no trailing commas"
    };
    let (line, column) = if line == 0 {
        line_column(text, text.len())
    } else {
        line_column(text, offset)
    };
    Problem {
        line,
        column,
        found: format!("not JSON: {message}"),
        expected: expected.to_owned(),
    }
}

/// An error whose message is `found`, a line break, and `expected`.
fn problem<E: de::Error>(found: impl fmt::Display, expected: impl fmt::Display) -> E {
    E::custom(format_args!("{found}\n{expected}"))
}

/// `visit_*` methods of a visitor that refuse a value of the wrong type,
/// with the visitor's own `wrong(found)` error.
macro_rules! refuse {
    ($de:lifetime; $($kind:ident),*) => { $(refuse!(@ $de; $kind);)* };
    (@ $de:lifetime; map) => {
        fn visit_map<A: MapAccess<$de>>(self, _map: A) -> Result<(), A::Error> {
            Err(self.wrong("an object"))
        }
    };
    (@ $de:lifetime; seq) => {
        fn visit_seq<A: SeqAccess<$de>>(self, _seq: A) -> Result<(), A::Error> {
            Err(self.wrong("a list"))
        }
    };
    (@ $de:lifetime; bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Err(self.wrong("a boolean"))
        }
    };
    (@ $de:lifetime; number) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Err(self.wrong("a number"))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Err(self.wrong("a number"))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Err(self.wrong("a number"))
        }
    };
}

/// What `key`, unknown in a rule, was probably meant to be, and where that
/// spelling comes from.
fn rule_key_meant(key: &str) -> Option<(&'static str, &'static str)> {
    let from = match key {
        "ExposedHeaders" | "MaxAge" | "Id" => "CloudFormation's name",
        _ if key.contains('_') => "Terraform's name",
        _ => "the S3 API's keys are case-sensitive and plural",
    };
    let folded: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let meant = match folded.as_str() {
        "id" => "ID",
        "allowedheaders" | "allowedheader" => "AllowedHeaders",
        "allowedmethods" | "allowedmethod" => "AllowedMethods",
        "allowedorigins" | "allowedorigin" => "AllowedOrigins",
        "exposeheaders" | "exposeheader" | "exposedheaders" | "exposedheader" => "ExposeHeaders",
        "maxageseconds" | "maxage" => "MaxAgeSeconds",
        _ => return None,
    };
    Some((meant, from))
}

fn rule_keys() -> String {
    RULE_KEYS.join(", ")
}

/// The whole document: an object with `CORSRules`, or an array of rules.
struct DocumentShape;

impl<'de> Visitor<'de> for DocumentShape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(DOCUMENT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rules = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "CORSRules" if rules => {
                    return Err(problem("\"CORSRules\" appears twice", DOCUMENT));
                }
                "CORSRules" => {
                    map.next_value_seed(RulesShape)?;
                    rules = true;
                }
                "CorsRules" | "corsRules" | "cors_rules" | "cors_rule" | "Rules" => {
                    return Err(problem(
                        format_args!("the key {key:?}"),
                        "\"CORSRules\" (the S3 API's spelling; CloudFormation writes CorsRules, \
                         Terraform cors_rule)",
                    ));
                }
                "CORSConfiguration" | "CorsConfiguration" | "cors_configuration" => {
                    return Err(problem(
                        format_args!("the key {key:?} around the rules"),
                        "{\"CORSRules\": [...]} at the top of the document: what the AWS CLI \
                         takes (aws s3api put-bucket-cors --cors-configuration file://...)",
                    ));
                }
                _ if RULE_KEYS.contains(&key.as_str()) || rule_key_meant(&key).is_some() => {
                    return Err(problem(
                        format_args!("a bare rule object (its key {key:?} is a rule's)"),
                        "the rule inside a list: {\"CORSRules\": [{...}]}, or the console's \
                         [{...}]",
                    ));
                }
                _ => {
                    return Err(problem(
                        format_args!("the unknown key {key:?} at the top of the document"),
                        DOCUMENT,
                    ));
                }
            }
        }
        if rules {
            Ok(())
        } else {
            Err(problem("an object without \"CORSRules\"", DOCUMENT))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        RulesShape.visit_seq(seq)
    }
}

/// The list of rules.
#[derive(Clone, Copy)]
struct RulesShape;

impl<'de> de::DeserializeSeed<'de> for RulesShape {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RulesShape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rules [{...}, ...]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq.next_element_seed(RuleShape { index })?.is_some() {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(problem(
            "one rule object where a list of rules belongs",
            "a list, even of one rule: \"CORSRules\": [{...}]",
        ))
    }
}

/// One rule; `index` counts from 0.
#[derive(Clone, Copy)]
struct RuleShape {
    index: usize,
}

impl<'de> de::DeserializeSeed<'de> for RuleShape {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RuleShape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule #{} as an object with the keys {}",
            self.index + 1,
            rule_keys()
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let rule = self.index + 1;
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(problem(
                    format_args!("rule #{rule}: the key {key:?} appears twice"),
                    "each key once; list every value in one array",
                ));
            }
            match key.as_str() {
                "ID" => map.next_value_seed(Text {
                    rule,
                    key: "ID",
                    what: "a string",
                })?,
                "MaxAgeSeconds" => map.next_value_seed(Seconds { rule })?,
                "AllowedHeaders" | "AllowedMethods" | "AllowedOrigins" | "ExposeHeaders" => {
                    map.next_value_seed(List { rule, key: &key })?;
                }
                _ => {
                    let expected = match rule_key_meant(&key) {
                        Some((meant, from)) => format!("{meant:?} ({key:?} is {from})"),
                        None => format!("one of the keys {}", rule_keys()),
                    };
                    return Err(problem(
                        format_args!("rule #{rule}: the unknown key {key:?}"),
                        expected,
                    ));
                }
            }
            seen.push(key);
        }
        Ok(())
    }
}

/// A list of strings (`null` means none).
struct List<'k> {
    rule: usize,
    key: &'k str,
}

impl<'de> de::DeserializeSeed<'de> for List<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a list of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Text {
                rule: self.rule,
                key: self.key,
                what: "a list of strings",
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        Err(problem(
            format_args!(
                "rule #{}: {:?} is the string {value:?}",
                self.rule, self.key
            ),
            format_args!("a list, even of one value: {:?}: [{value:?}]", self.key),
        ))
    }

    refuse!('de; map, bool, number);
}

impl List<'_> {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        problem(
            format_args!("rule #{}: {:?} is {found}", self.rule, self.key),
            format_args!("a list of strings: {:?}: [\"...\"]", self.key),
        )
    }
}

/// One string: an `ID` (`null` means none), or an item of a list.
struct Text<'k> {
    rule: usize,
    key: &'k str,
    /// What the member is, for the message.
    what: &'static str,
}

impl<'de> de::DeserializeSeed<'de> for Text<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Text<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.key == "ID" {
            Ok(())
        } else {
            Err(self.wrong("null"))
        }
    }

    refuse!('de; seq, map, bool, number);
}

impl Text<'_> {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        let expected = if self.key == "ID" {
            "a string: \"ID\": \"my-rule\"".to_owned()
        } else {
            format!("{} of strings, each in double quotes", self.what)
        };
        problem(
            format_args!("rule #{}: {} holds {found}", self.rule, self.key),
            expected,
        )
    }
}

/// `MaxAgeSeconds`: a number. Its range is the library's to check, with
/// S3's error.
struct Seconds {
    rule: usize,
}

impl<'de> de::DeserializeSeed<'de> for Seconds {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seconds {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number of seconds")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        Err(problem(
            format_args!("rule #{}: MaxAgeSeconds is the string {value:?}", self.rule),
            format_args!(
                "a number, without quotes: \"MaxAgeSeconds\": {}",
                value.trim()
            ),
        ))
    }

    refuse!('de; seq, map, bool);
}

impl Seconds {
    fn wrong<E: de::Error>(&self, found: &str) -> E {
        problem(
            format_args!("rule #{}: MaxAgeSeconds is {found}", self.rule),
            "a whole number of seconds: \"MaxAgeSeconds\": 3000",
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::diagnose;

    fn at(text: &str) -> (usize, usize, String, String) {
        diagnose(text).unwrap().parts()
    }

    #[test]
    fn a_bare_rule_object_is_named_as_such() {
        let (line, column, found, expected) =
            at("{\"AllowedOrigins\": [\"*\"], \"AllowedMethods\": [\"GET\"]}");
        assert_eq!((line, column), (1, 2), "the key's opening quote");
        assert!(found.contains("a bare rule object"), "{found}");
        assert!(expected.contains("{\"CORSRules\": [{...}]}"), "{expected}");
    }

    #[test]
    fn cloudformation_and_terraform_keys_get_the_s3_name() {
        let doc = "{\"CORSRules\": [\n  {\"AllowedOrigins\": [\"*\"], \"AllowedMethods\": [\"GET\"],\n   \"ExposedHeaders\": [\"ETag\"], \"MaxAge\": 3000}\n]}";
        let (line, column, found, expected) = at(doc);
        assert_eq!((line, column), (3, 4));
        assert_eq!(found, "rule #1: the unknown key \"ExposedHeaders\"");
        assert_eq!(
            expected,
            "\"ExposeHeaders\" (\"ExposedHeaders\" is CloudFormation's name)"
        );
        let (_, _, _, expected) = at("[{\"allowed_origins\": [\"*\"]}]");
        assert!(expected.starts_with("\"AllowedOrigins\""), "{expected}");
        assert!(expected.contains("Terraform"), "{expected}");
        let (_, _, _, expected) = at("[{\"AllowedOrigins\": [\"*\"], \"MaxAge\": 1}]");
        assert!(expected.starts_with("\"MaxAgeSeconds\""), "{expected}");
        let (_, _, found, _) = at("{\"CorsConfiguration\": {\"CorsRules\": []}}");
        assert!(found.contains("CorsConfiguration"), "{found}");
    }

    #[test]
    fn a_byte_order_mark_is_named() {
        let (line, column, found, _) = at("\u{feff}[]");
        assert_eq!((line, column), (1, 1));
        assert!(found.contains("byte-order mark"), "{found}");
    }

    #[test]
    fn wrong_types_say_the_type_expected() {
        let (_, _, found, expected) =
            at("[{\"AllowedOrigins\": \"*\", \"AllowedMethods\": [\"GET\"]}]");
        assert_eq!(found, "rule #1: \"AllowedOrigins\" is the string \"*\"");
        assert_eq!(
            expected,
            "a list, even of one value: \"AllowedOrigins\": [\"*\"]"
        );
        let (_, _, found, _) = at("[{\"AllowedOrigins\": [\"*\"], \"MaxAgeSeconds\": \"3000\"}]");
        assert!(found.contains("MaxAgeSeconds is the string"), "{found}");
        let (_, _, found, _) = at("[{\"AllowedOrigins\": [1]}]");
        assert!(found.contains("holds a number"), "{found}");
        let (_, _, found, _) = at("{\"CORSRules\": {\"AllowedOrigins\": [\"*\"]}}");
        assert!(found.contains("one rule object"), "{found}");
    }

    #[test]
    fn syntax_errors_have_their_position_in_characters() {
        let (line, column, found, expected) =
            at("[\n  {\"ID\": \"é\", \"AllowedOrigins\": [\"*\",]}\n]");
        assert_eq!(line, 2);
        assert_eq!(column, 38, "{found}");
        assert!(found.starts_with("not JSON"), "{found}");
        assert!(expected.contains("comma"), "{expected}");
    }

    #[test]
    fn places_of_rules_and_values() {
        let text = "{\"Other\": [1, {\"a\": \"]\"}], \"CORSRules\": [\n  {\"ID\": \"x\\\"y\", \"AllowedOrigins\": [\"https://a\", \"*\"],\n   \"MaxAgeSeconds\": 30, \"Unknown\": {\"k\": [\"v\"]}},\n  {\"AllowedMethods\": [\"PUT\"]}\n]}";
        let places = super::places(text);
        let at = |rule, member, value| {
            places
                .find(rule, member, value)
                .map(|offset| crate::input::line_column(text, offset))
        };
        assert_eq!(at(1, Some("AllowedOrigin"), Some("*")), Some((2, 50)));
        assert_eq!(at(1, Some("ID"), Some("x\"y")), Some((2, 10)));
        assert_eq!(at(1, Some("MaxAgeSeconds"), Some("30")), Some((3, 21)));
        assert_eq!(at(2, Some("AllowedMethod"), Some("PUT")), Some((4, 23)));
        assert_eq!(at(2, Some("AllowedOrigin"), None), Some((4, 3)), "the rule");
        assert_eq!(at(3, None, None), None);
        let console = super::places("[{\"AllowedOrigins\": [\"*\"]}]");
        assert_eq!(console.find(1, Some("AllowedOrigin"), Some("*")), Some(21));
    }

    #[test]
    fn a_document_the_library_reads_has_no_problem_here() {
        assert!(diagnose("{\"CORSRules\": [{\"ID\": null, \"AllowedOrigins\": [\"*\"], \"AllowedHeaders\": null, \"MaxAgeSeconds\": 5}]}").is_none());
        assert!(diagnose("[]").is_none());
    }
}
