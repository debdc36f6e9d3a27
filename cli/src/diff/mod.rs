//! `s3-cors diff OLD NEW`: the requests two documents answer differently.
//!
//! Both documents are compiled, and the same requests are decided by each
//! with the library's engine ([`engine::decide`]): every origin class of
//! both documents' origin patterns (see [`probe`]), each of S3's five
//! methods, and sets of header names that cover every pair of deciding
//! rules. Two answers are the same when a browser reads them the same:
//! allowed or refused, and each CORS header's value, with the method and
//! header lists of `Access-Control-Allow-Methods`, `-Allow-Headers` and
//! `-Expose-Headers` compared as sets (header names without case). So
//! reordered origins, reordered rules that do not change a winner, and
//! another spelling of a header pattern are no change; a rule that now
//! decides where another did is one, when their answers differ.
//!
//! Changes are grouped by the rule and origin pattern that decided on each
//! side; each group has one example request, made as small as it can be
//! while it still changes the same way.

mod probe;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde::Serialize;
use tower_s3_cors::ConfigError;
use tower_s3_cors::config::CorsConfiguration;
use tower_s3_cors::policy::Policy;

use crate::engine::{self, Decided, Outcome};
use crate::input::{self, LoadError};
use crate::pattern::Pattern;
use crate::report::{self, Format, Output, Status};

/// S3's five methods, the only ones a rule can allow.
const METHODS: [&str; 5] = ["GET", "PUT", "HEAD", "POST", "DELETE"];

/// The most requests one diff decides (each by both documents); past it the
/// search stops and says so. Real documents need a few thousand.
const MAX_REQUESTS: usize = 200_000;

/// Runs `s3-cors diff OLD NEW`: exit status 0 when the documents answer
/// every request alike, 1 when they differ, 2 when one cannot be read or is
/// not a valid document.
pub(crate) fn run(old: &str, new: &str, format: Format) -> Output {
    let (old, new) = match (side(old), side(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(out), _) | (_, Err(out)) => return *out,
    };
    let search = search(&old, &new);
    let status = if search.changes.is_empty() {
        Status::Success
    } else {
        Status::Failure
    };
    let mut out = Output::new(status);
    match format {
        Format::Text => out.stdout = text(&old, &new, &search),
        Format::Json => out.stdout = report::to_json(&Json::new(&old, &new, &search)),
    }
    if !search.complete {
        let _ = writeln!(
            out.stderr,
            "s3-cors: the documents have too many patterns to try every class of request: \
             {MAX_REQUESTS} requests were decided, and others may differ"
        );
    }
    out
}

/// One document, ready to be compared.
struct Side {
    name: String,
    policy: Policy,
    rules: Vec<SideRule>,
}

/// A rule, with its patterns.
struct SideRule {
    id: Option<String>,
    /// The `AllowedOrigin`s as written, and as patterns.
    origin_values: Vec<String>,
    origins: Vec<Pattern>,
    methods: Vec<String>,
    /// The `AllowedHeader`s as written, and as patterns in lower case.
    header_values: Vec<String>,
    headers: Vec<Pattern>,
}

fn side(path: &str) -> Result<Side, Box<Output>> {
    let failure = |err: LoadError| {
        let mut out = Output::new(Status::Error);
        match err {
            LoadError::Read(err) => {
                let _ = writeln!(out.stderr, "s3-cors: {err}");
            }
            LoadError::Invalid { name, error } => {
                out.stderr = report::error_text(&name, &error);
            }
        }
        Box::new(out)
    };
    let doc = input::load(path, true).map_err(failure)?;
    Side::new(doc.name.clone(), &doc.config).map_err(|err| {
        failure(LoadError::Invalid {
            name: doc.name,
            error: Box::new((&err).into()),
        })
    })
}

impl Side {
    /// `config` compiled, with its patterns.
    fn new(name: String, config: &CorsConfiguration) -> Result<Self, ConfigError> {
        Ok(Self {
            policy: engine::compile(config)?,
            rules: config
                .rules
                .iter()
                .map(|r| SideRule {
                    id: r.id.clone(),
                    origins: r.allowed_origins.iter().map(|o| Pattern::new(o)).collect(),
                    origin_values: r.allowed_origins.clone(),
                    methods: r.allowed_methods.clone(),
                    headers: r
                        .allowed_headers
                        .iter()
                        .map(|h| Pattern::folded(h))
                        .collect(),
                    header_values: r.allowed_headers.clone(),
                })
                .collect(),
            name,
        })
    }
}

impl Side {
    /// The rules whose origins and methods admit `origin` and `method`, in
    /// order.
    fn reaching(&self, origin: &str, method: &str) -> Vec<usize> {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                rule.methods.iter().any(|m| m == method)
                    && rule.origins.iter().any(|p| p.matches(origin))
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The index of the first `AllowedOrigin` of rule `number` (counted
    /// from 1) that matches `origin`.
    fn origin_at(&self, number: usize, origin: &str) -> Option<usize> {
        self.rules
            .get(number.checked_sub(1)?)?
            .origins
            .iter()
            .position(|p| p.matches(origin))
    }

    fn id(&self, number: usize) -> Option<&str> {
        self.rules
            .get(number.checked_sub(1)?)
            .and_then(|rule| rule.id.as_deref())
    }
}

/// One request of the search.
#[derive(Clone, Debug)]
struct Probe {
    origin: String,
    method: &'static str,
    /// Header names in lower case, listed in
    /// `Access-Control-Request-Headers`.
    headers: Vec<String>,
}

impl Probe {
    /// Whether a browser sends a preflight for it: a method other than
    /// GET, HEAD and POST, or a header listed.
    fn preflight(&self) -> bool {
        !self.headers.is_empty() || !matches!(self.method, "GET" | "HEAD" | "POST")
    }

    fn decide(&self, side: &Side) -> Option<Decided> {
        engine::decide(
            &side.policy,
            &self.origin,
            self.method,
            self.preflight(),
            &self.headers.join(", "),
        )
    }
}

/// How the answer to a request changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Change {
    AllowedToRefused,
    RefusedToAllowed,
    AnswerChanged,
}

impl Change {
    fn name(self) -> &'static str {
        match self {
            Self::AllowedToRefused => "allowed-to-refused",
            Self::RefusedToAllowed => "refused-to-allowed",
            Self::AnswerChanged => "answer-changed",
        }
    }

    fn text(self) -> &'static str {
        match self {
            Self::AllowedToRefused => "allowed → refused",
            Self::RefusedToAllowed => "refused → allowed",
            Self::AnswerChanged => "answer changed",
        }
    }
}

/// Why the refusing side refuses, from its rule that came closest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Why {
    /// No rule allows the origin.
    Origin,
    /// A rule allows the origin, none with the method.
    Method,
    /// A rule allows the origin and the method, not every header.
    Header,
}

impl Why {
    /// Why `side` refuses `probe`.
    fn of(side: &Side, probe: &Probe) -> Option<Self> {
        let nearest = engine::nearest_refusal(
            &side.policy,
            &probe.origin,
            probe.method,
            probe.preflight(),
            &probe.headers.join(", "),
        )?;
        match nearest {
            Outcome::OriginNotAllowed => Some(Self::Origin),
            Outcome::MethodNotAllowed => Some(Self::Method),
            Outcome::HeaderNotAllowed(_) => Some(Self::Header),
            Outcome::Matched | Outcome::Other(_) => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Origin => "origin",
            Self::Method => "method",
            Self::Header => "header",
        }
    }

    /// Why, in words: on the new side for `allowed → refused`, on the old
    /// side for `refused → allowed`.
    fn text(self, change: Change) -> &'static str {
        match (change, self) {
            (Change::AllowedToRefused, Self::Origin) => "no rule allows the origin now",
            (Change::AllowedToRefused, Self::Method) => {
                "no rule allows the method for this origin now"
            }
            (Change::AllowedToRefused, Self::Header) => "a requested header is not allowed now",
            (_, Self::Origin) => "no rule allowed the origin",
            (_, Self::Method) => "no rule allowed the method for this origin",
            (_, Self::Header) => "a requested header was not allowed",
        }
    }
}

/// What a group of changes has in common: the change, why the refusing
/// side refuses, and on each side the rule that decides (counted from 1),
/// or `None` for a refusal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    change: Change,
    why: Option<Why>,
    old: Option<usize>,
    new: Option<usize>,
}

/// One change: its key, the two answers, and on each side the index of the
/// deciding rule's origin pattern that matched.
struct Found {
    key: Key,
    old: Decided,
    new: Decided,
    old_origin: Option<usize>,
    new_origin: Option<usize>,
}

/// The changes of one [`Key`].
#[derive(Debug)]
struct Group {
    key: Key,
    example: Probe,
    old: Decided,
    new: Decided,
    /// How many requests of the search change this way.
    requests: usize,
    methods: BTreeSet<&'static str>,
    /// The CORS headers whose values differ, across the group.
    headers: BTreeSet<String>,
    /// The origin patterns of the deciding rule that matched, on each side
    /// (indexes into the rule's `AllowedOrigin`s).
    old_origins: BTreeSet<usize>,
    new_origins: BTreeSet<usize>,
}

/// What the search found.
struct Search {
    changes: Vec<Group>,
    /// How many requests were decided by both documents.
    requests: usize,
    /// Whether every class of request was tried.
    complete: bool,
}

/// A header value as a browser reads it: lists as sets, names without case.
fn meaning(name: &str, value: &str) -> String {
    let set = |fold: bool| {
        value
            .split(',')
            .map(|item| {
                let item = item.trim();
                if fold {
                    item.to_ascii_lowercase()
                } else {
                    item.to_owned()
                }
            })
            .filter(|item| !item.is_empty())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        "access-control-allow-methods" => set(false),
        "access-control-allow-headers" | "access-control-expose-headers" => set(true),
        _ => value.to_owned(),
    }
}

/// The names of the headers whose meaning differs between two answers.
fn differing(old: &Decided, new: &Decided) -> BTreeSet<String> {
    let map = |d: &Decided| -> BTreeMap<String, String> {
        d.headers
            .iter()
            .map(|(name, value)| (name.clone(), meaning(name, value)))
            .collect()
    };
    let (old, new) = (map(old), map(new));
    old.keys()
        .chain(new.keys())
        .filter(|name| old.get(*name) != new.get(*name))
        .cloned()
        .collect()
}

/// How `probe` changes between the two sides, if it does.
fn compare(probe: &Probe, old: &Side, new: &Side) -> Option<Found> {
    let (a, b) = (probe.decide(old)?, probe.decide(new)?);
    let (change, why) = match (a.rule, b.rule) {
        (Some(_), None) => (Change::AllowedToRefused, Why::of(new, probe)),
        (None, Some(_)) => (Change::RefusedToAllowed, Why::of(old, probe)),
        (None, None) if a.refusal == b.refusal => return None,
        (None, None) => (Change::AnswerChanged, None),
        (Some(_), Some(_)) if differing(&a, &b).is_empty() => return None,
        (Some(_), Some(_)) => (Change::AnswerChanged, None),
    };
    let at = |side: &Side, d: &Decided| d.rule.and_then(|rule| side.origin_at(rule, &probe.origin));
    Some(Found {
        key: Key {
            change,
            why,
            old: a.rule,
            new: b.rule,
        },
        old_origin: at(old, &a),
        new_origin: at(new, &b),
        old: a,
        new: b,
    })
}

fn search(old: &Side, new: &Side) -> Search {
    let values = |member: fn(&SideRule) -> &[String]| -> Vec<&str> {
        old.rules
            .iter()
            .chain(&new.rules)
            .flat_map(|r| member(r).iter().map(String::as_str))
            .collect()
    };
    let origins = probe::origins(&values(|r| &r.origin_values));
    let names = probe::header_names(&values(|r| &r.header_values));
    let admitted = |rule: &SideRule| -> Vec<usize> {
        names
            .iter()
            .enumerate()
            .filter(|(_, name)| rule.headers.iter().any(|p| p.matches(name)))
            .map(|(n, _)| n)
            .collect()
    };

    type Reached = (Vec<usize>, Vec<usize>);
    let mut sets_for: HashMap<Reached, Vec<Vec<usize>>> = HashMap::new();
    let mut changed: HashMap<(Reached, &str), Vec<usize>> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut requests = 0;
    let mut complete = true;
    'search: for origin in &origins {
        for method in METHODS {
            let old_rules = old.reaching(origin, method);
            let new_rules = new.reaching(origin, method);
            if old_rules.is_empty() && new_rules.is_empty() {
                continue; // both refuse every such request, alike
            }
            // Many origins and methods reach the same rules ("*" reaches
            // them all): their header sets are made once. And an origin
            // that reaches the same rules as one tried before, for the same
            // method, gets the same answers from both sides (an answer
            // depends on the origin only through the rules it reaches, and
            // echoes it alike on both): only the sets that changed then are
            // tried again, for this origin's own example and patterns.
            let reached = (old_rules, new_rules);
            let known = changed.get(&(reached.clone(), method)).cloned();
            let sets =
                sets_for
                    .entry(reached.clone())
                    .or_insert_with_key(|(old_rules, new_rules)| {
                        let of = |side: &Side, rules: &[usize]| -> Vec<Vec<usize>> {
                            rules
                                .iter()
                                .filter_map(|&r| side.rules.get(r))
                                .map(&admitted)
                                .collect()
                        };
                        probe::header_sets(&of(old, old_rules), &of(new, new_rules))
                    });
            let tried: Vec<usize> = known.unwrap_or_else(|| (0..sets.len()).collect());
            let mut changed_here = Vec::new();
            for at in tried {
                let Some(set) = sets.get(at) else {
                    continue;
                };
                if requests >= MAX_REQUESTS {
                    complete = false;
                    break 'search;
                }
                requests += 1;
                let probe = Probe {
                    origin: origin.clone(),
                    method,
                    headers: set.iter().filter_map(|&n| names.get(n).cloned()).collect(),
                };
                let Some(found) = compare(&probe, old, new) else {
                    continue;
                };
                changed_here.push(at);
                let headers = differing(&found.old, &found.new);
                let group = match groups.iter_mut().position(|g| g.key == found.key) {
                    Some(index) => groups.get_mut(index),
                    None => {
                        groups.push(Group {
                            key: found.key,
                            example: probe,
                            old: found.old,
                            new: found.new,
                            requests: 0,
                            methods: BTreeSet::new(),
                            headers: BTreeSet::new(),
                            old_origins: BTreeSet::new(),
                            new_origins: BTreeSet::new(),
                        });
                        groups.last_mut()
                    }
                };
                if let Some(group) = group {
                    group.requests += 1;
                    group.methods.insert(method);
                    group.headers.extend(headers);
                    group.old_origins.extend(found.old_origin);
                    group.new_origins.extend(found.new_origin);
                }
            }
            changed.entry((reached, method)).or_insert(changed_here);
        }
    }
    for group in &mut groups {
        shrink(group, old, new);
    }
    Search {
        changes: groups,
        requests,
        complete,
    }
}

/// Removes header names from the group's example while it still changes
/// the same way, so the example shows only what matters.
fn shrink(group: &mut Group, old: &Side, new: &Side) {
    let mut at = 0;
    while at < group.example.headers.len() {
        let mut smaller = group.example.clone();
        smaller.headers.remove(at);
        match compare(&smaller, old, new) {
            Some(found) if found.key == group.key => {
                group.example = smaller;
                group.old = found.old;
                group.new = found.new;
            }
            _ => at += 1,
        }
    }
}

impl Side {
    /// Rule `number` (counted from 1), its `ID`, and its origin patterns at
    /// `origins`.
    fn at(&self, number: usize, origins: &BTreeSet<usize>) -> Option<(Option<&str>, Vec<&str>)> {
        let rule = self.rules.get(number.checked_sub(1)?)?;
        let patterns = origins
            .iter()
            .filter_map(|&at| rule.origin_values.get(at).map(String::as_str))
            .collect();
        Some((rule.id.as_deref(), patterns))
    }
}

/// How many origin patterns a group names in text before "and N more".
const NAMED_ORIGINS: usize = 3;

/// `rule #2 (ID "app"), AllowedOrigin "https://*.example.com"`, or `no rule`.
fn decider_text(side: &Side, number: Option<usize>, origins: &BTreeSet<usize>) -> String {
    let Some((number, (id, patterns))) =
        number.and_then(|number| Some((number, side.at(number, origins)?)))
    else {
        return "no rule".to_owned();
    };
    let mut named: Vec<String> = patterns
        .iter()
        .take(NAMED_ORIGINS)
        .map(|p| format!("{p:?}"))
        .collect();
    if patterns.len() > NAMED_ORIGINS {
        named.push(format!("{} more", patterns.len() - NAMED_ORIGINS));
    }
    format!(
        "{}, AllowedOrigin {}",
        report::rule_label(number, id),
        named.join(", ")
    )
}

fn request_text(probe: &Probe) -> String {
    let mut out = if probe.preflight() {
        format!(
            "preflight OPTIONS, Origin: {}, Access-Control-Request-Method: {}",
            probe.origin, probe.method
        )
    } else {
        format!("{} request, Origin: {}", probe.method, probe.origin)
    };
    if !probe.headers.is_empty() {
        let _ = write!(
            out,
            ", Access-Control-Request-Headers: {}",
            probe.headers.join(", ")
        );
    }
    if !crate::lint::browser_may_send(&probe.origin) {
        out.push_str(" (an Origin no browser sends)");
    }
    out
}

fn answer_text(
    out: &mut String,
    label: &str,
    side: &Side,
    decided: &Decided,
    only: Option<&BTreeSet<String>>,
) {
    match decided.rule {
        None => {
            let _ = writeln!(
                out,
                "     {label}: refused ({})",
                decided.refusal.as_deref().unwrap_or("no CORS rule matched")
            );
        }
        Some(rule) => {
            let _ = writeln!(
                out,
                "     {label}: allowed by {}",
                report::rule_label(rule, side.id(rule))
            );
            for (name, value) in &decided.headers {
                if only.is_none_or(|only| only.contains(name)) {
                    let _ = writeln!(out, "       {name}: {value}");
                }
            }
            if let Some(only) = only {
                for name in only {
                    if !decided.headers.iter().any(|(n, _)| n == name) {
                        let _ = writeln!(out, "       {name}: (not sent)");
                    }
                }
            }
        }
    }
}

fn text(old: &Side, new: &Side, search: &Search) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "--- {}\n+++ {}", old.name, new.name);
    for (n, group) in search.changes.iter().enumerate() {
        let why = group
            .key
            .why
            .map(|why| format!(" ({})", why.text(group.key.change)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. {}{why}: {} → {}",
            n + 1,
            group.key.change.text(),
            decider_text(old, group.key.old, &group.old_origins),
            decider_text(new, group.key.new, &group.new_origins)
        );
        let _ = writeln!(out, "   e.g. {}", request_text(&group.example));
        let only = (group.key.change == Change::AnswerChanged).then_some(&group.headers);
        answer_text(&mut out, "old", old, &group.old, only);
        answer_text(&mut out, "new", new, &group.new, only);
        let methods: Vec<&str> = group.methods.iter().copied().collect();
        let _ = writeln!(
            out,
            "   {} of the requests decided change{} this way ({})",
            group.requests,
            if group.requests == 1 { "s" } else { "" },
            methods.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "{} → {}: {} ({} requests decided by both{})",
        old.name,
        new.name,
        match search.changes.len() {
            0 => "equivalent: every request gets the same answer".to_owned(),
            1 => "1 change".to_owned(),
            n => format!("{n} changes"),
        },
        search.requests,
        if search.complete {
            ""
        } else {
            ", search cut short"
        }
    );
    out
}

/// `--format json`.
#[derive(Serialize)]
struct Json<'a> {
    old: &'a str,
    new: &'a str,
    /// Every request compared got the same answer from both.
    equivalent: bool,
    /// Every class of request was tried (false only for documents with too
    /// many patterns).
    complete: bool,
    /// How many requests both documents decided (a request an earlier one
    /// shows to be answered alike is not decided again).
    requests: usize,
    changes: Vec<ChangeJson<'a>>,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    /// `allowed-to-refused`, `refused-to-allowed` or `answer-changed`.
    change: &'static str,
    /// For a request now (or formerly) refused, what the refusing side's
    /// closest rule did not allow: `origin`, `method` or `header`.
    why: Option<&'static str>,
    /// The rule and origin pattern that decided before, or `null`.
    old: Option<DeciderJson<'a>>,
    /// The rule and origin pattern that decides now, or `null`.
    new: Option<DeciderJson<'a>>,
    /// The methods of the requests that change this way.
    methods: Vec<&'static str>,
    /// How many requests of the search change this way.
    requests: usize,
    /// The CORS headers whose values differ (for `answer-changed`).
    headers: Vec<&'a str>,
    example: ExampleJson<'a>,
    old_answer: AnswerJson<'a>,
    new_answer: AnswerJson<'a>,
}

#[derive(Serialize)]
struct DeciderJson<'a> {
    /// Counted from 1.
    rule: usize,
    id: Option<&'a str>,
    /// The rule's origin patterns that matched the changed requests.
    origins: Vec<&'a str>,
}

#[derive(Serialize)]
struct ExampleJson<'a> {
    preflight: bool,
    origin: &'a str,
    method: &'a str,
    /// The names listed in `Access-Control-Request-Headers`.
    request_headers: &'a [String],
}

#[derive(Serialize)]
struct AnswerJson<'a> {
    allowed: bool,
    /// The rule that decides, counted from 1, or `null`.
    rule: Option<usize>,
    id: Option<&'a str>,
    /// Why the request is refused, or `null`.
    refusal: Option<&'a str>,
    /// The CORS headers of the answer.
    headers: Vec<HeaderJson<'a>>,
}

#[derive(Serialize)]
struct HeaderJson<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> AnswerJson<'a> {
    fn new(side: &'a Side, decided: &'a Decided) -> Self {
        Self {
            allowed: decided.rule.is_some(),
            rule: decided.rule,
            id: decided.rule.and_then(|rule| side.id(rule)),
            refusal: decided.refusal.as_deref(),
            headers: decided
                .headers
                .iter()
                .map(|(name, value)| HeaderJson { name, value })
                .collect(),
        }
    }
}

impl<'a> Json<'a> {
    fn new(old: &'a Side, new: &'a Side, search: &'a Search) -> Self {
        let decider = |side: &'a Side, number: Option<usize>, origins: &BTreeSet<usize>| {
            let number = number?;
            side.at(number, origins).map(|(id, origins)| DeciderJson {
                rule: number,
                id,
                origins,
            })
        };
        Self {
            old: &old.name,
            new: &new.name,
            equivalent: search.changes.is_empty(),
            complete: search.complete,
            requests: search.requests,
            changes: search
                .changes
                .iter()
                .map(|g| ChangeJson {
                    change: g.key.change.name(),
                    why: g.key.why.map(Why::name),
                    old: decider(old, g.key.old, &g.old_origins),
                    new: decider(new, g.key.new, &g.new_origins),
                    methods: g.methods.iter().copied().collect(),
                    requests: g.requests,
                    headers: g.headers.iter().map(String::as_str).collect(),
                    example: ExampleJson {
                        preflight: g.example.preflight(),
                        origin: &g.example.origin,
                        method: g.example.method,
                        request_headers: &g.example.headers,
                    },
                    old_answer: AnswerJson::new(old, &g.old),
                    new_answer: AnswerJson::new(new, &g.new),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tower_s3_cors::config::{CorsConfiguration, CorsRule};

    use super::{Change, METHODS, Probe, Side, Why, compare, search};
    use crate::testing::Numbers;

    fn side(rules: Vec<CorsRule>) -> Side {
        let config = rules
            .into_iter()
            .fold(CorsConfiguration::new(), CorsConfiguration::rule);
        Side::new("doc".to_owned(), &config).unwrap()
    }

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        CorsRule::new()
            .allowed_origins(origins.iter().copied())
            .allowed_methods(methods.iter().copied())
            .allowed_headers(headers.iter().copied())
    }

    /// The changes found between `old` and `new`: (change, why) of each
    /// group, in order.
    fn changes(old: &Side, new: &Side) -> Vec<(Change, Option<Why>)> {
        let found = search(old, new);
        assert!(found.complete);
        found
            .changes
            .iter()
            .map(|g| (g.key.change, g.key.why))
            .collect()
    }

    #[test]
    fn equivalent_documents_have_no_change() {
        let old = side(vec![
            rule(
                &["https://a.example", "https://*.b.example"],
                &["GET", "PUT"],
                &["Content-Type", "x-amz-*"],
            ),
            rule(&["https://c.example"], &["GET"], &[]),
        ]);
        // Origins reordered, header patterns in another case, methods
        // reordered, disjoint rules reordered, IDs added.
        let new = side(vec![
            rule(&["https://c.example"], &["GET"], &[]).id("c"),
            rule(
                &["https://*.b.example", "https://a.example"],
                &["PUT", "GET"],
                &["X-AMZ-*", "content-type"],
            )
            .id("ab"),
        ]);
        assert_eq!(changes(&old, &new), []);
    }

    #[test]
    fn a_narrowed_origin_is_a_refusal_for_the_origins_left_out() {
        let old = side(vec![rule(&["https://*.example.com"], &["GET"], &[])]);
        let new = side(vec![rule(&["https://app.example.com"], &["GET"], &[])]);
        let found = search(&old, &new);
        let [group] = found.changes.as_slice() else {
            panic!("{:?}", found.changes)
        };
        assert_eq!(group.key.change, Change::AllowedToRefused);
        assert_eq!(group.key.why, Some(Why::Origin));
        assert_ne!(group.example.origin, "https://app.example.com");
        assert!(group.example.origin.ends_with(".example.com"));
    }

    #[test]
    fn a_removed_method_is_refused_and_changes_allow_methods() {
        let old = side(vec![rule(&["https://a.example"], &["GET", "DELETE"], &[])]);
        let new = side(vec![rule(&["https://a.example"], &["GET"], &[])]);
        assert_eq!(
            changes(&old, &new),
            [
                (Change::AnswerChanged, None),
                (Change::AllowedToRefused, Some(Why::Method))
            ]
        );
        let found = search(&old, &new);
        assert_eq!(found.changes[1].example.method, "DELETE");
        assert!(found.changes[1].example.preflight());
        assert_eq!(
            found.changes[0].headers.iter().collect::<Vec<_>>(),
            ["access-control-allow-methods"]
        );
    }

    #[test]
    fn a_header_pattern_change_shows_a_header_it_no_longer_admits() {
        let old = side(vec![rule(&["https://a.example"], &["PUT"], &["x-amz-*"])]);
        let new = side(vec![rule(
            &["https://a.example"],
            &["PUT"],
            &["x-amz-date"],
        )]);
        let found = search(&old, &new);
        let [group] = found.changes.as_slice() else {
            panic!("{:?}", found.changes)
        };
        assert_eq!(group.key.why, Some(Why::Header));
        let [header] = group.example.headers.as_slice() else {
            panic!("{:?}", group.example)
        };
        assert!(
            header.starts_with("x-amz-") && header != "x-amz-date",
            "{header}"
        );
    }

    #[test]
    fn reordered_rules_that_change_the_winner_are_a_change() {
        let public = rule(&["*"], &["GET"], &[]);
        let app = rule(&["https://app.example.com"], &["GET", "PUT"], &[]).expose_header("ETag");
        let old = side(vec![app.clone(), public.clone()]);
        let new = side(vec![public, app]);
        let found = search(&old, &new);
        let [group] = found.changes.as_slice() else {
            panic!("{:?}", found.changes)
        };
        assert_eq!(group.key.change, Change::AnswerChanged);
        assert_eq!(group.key.old, Some(1));
        assert_eq!(group.key.new, Some(1));
        assert_eq!(group.example.origin, "https://app.example.com");
        assert_eq!(group.example.method, "GET");
        assert!(group.headers.contains("access-control-allow-origin"));
    }

    /// Documents for the search: one to four rules of [`Numbers::rule`],
    /// some exposing `ETag`.
    trait Documents {
        fn rules(&mut self) -> Vec<CorsRule>;
        fn mutate(&mut self, rules: Vec<CorsRule>) -> Vec<CorsRule>;
    }

    impl Documents for Numbers {
        fn rules(&mut self) -> Vec<CorsRule> {
            (0..=self.below(3))
                .map(|_| {
                    let rule = self.rule();
                    if self.below(3) == 0 {
                        rule.expose_header("ETag")
                    } else {
                        rule
                    }
                })
                .collect()
        }

        /// `rules` changed a little: two rules swapped, a rule's origins
        /// reversed, its header patterns upper-cased, a method or an origin
        /// dropped, a rule added. Many such changes change nothing.
        fn mutate(&mut self, mut rules: Vec<CorsRule>) -> Vec<CorsRule> {
            let at = self.below(rules.len());
            match self.below(6) {
                0 => {
                    let other = self.below(rules.len());
                    rules.swap(at, other);
                }
                1 => rules[at].allowed_origins.reverse(),
                2 => {
                    for header in &mut rules[at].allowed_headers {
                        *header = header.to_ascii_uppercase();
                    }
                }
                3 if rules[at].allowed_methods.len() > 1 => {
                    rules[at].allowed_methods.pop();
                }
                4 if rules[at].allowed_origins.len() > 1 => {
                    rules[at].allowed_origins.remove(0);
                }
                _ => {
                    let extra = Numbers::rule(self);
                    rules.insert(at, extra);
                }
            }
            rules
        }
    }

    fn compiled(rules: Vec<CorsRule>) -> Option<Side> {
        let config = rules
            .into_iter()
            .fold(CorsConfiguration::new(), CorsConfiguration::rule);
        Side::new("doc".to_owned(), &config).ok()
    }

    /// Completeness against brute force: whenever some request of a small
    /// universe (origins, every method, every set of a few header names)
    /// gets different answers, the search reports a change; every example
    /// it reports does change. Half the pairs are a document and a small
    /// change of it, so that many are equivalent, or nearly.
    #[test]
    fn the_search_finds_every_difference_brute_force_finds() {
        let origins = [
            "a", "b", "aa", "ab", "ba", "bb", "aab", "abb", "bab", "null",
        ];
        let names = ["x", "y", "xy", "yx", "z"];
        let mut numbers = Numbers(24);
        let (mut differing, mut equivalent, mut pairs) = (0, 0, 0);
        while pairs < 160 {
            let old_rules = numbers.rules();
            let new_rules = if pairs % 2 == 0 {
                numbers.mutate(old_rules.clone())
            } else {
                numbers.rules()
            };
            let (Some(old), Some(new)) = (compiled(old_rules), compiled(new_rules)) else {
                continue;
            };
            pairs += 1;
            let found = search(&old, &new);
            for group in &found.changes {
                assert!(compare(&group.example, &old, &new).is_some());
            }
            let brute = origins.iter().any(|origin| {
                METHODS.iter().any(|method| {
                    (0..1 << names.len()).any(|bits: usize| {
                        let probe = Probe {
                            origin: (*origin).to_owned(),
                            method,
                            headers: names
                                .iter()
                                .enumerate()
                                .filter(|(i, _)| bits & (1 << i) != 0)
                                .map(|(_, n)| (*n).to_owned())
                                .collect(),
                        };
                        compare(&probe, &old, &new).is_some()
                    })
                })
            });
            if brute {
                differing += 1;
                assert!(
                    !found.changes.is_empty(),
                    "brute force finds a difference the search misses"
                );
            } else if found.changes.is_empty() {
                equivalent += 1;
            }
        }
        assert!(
            differing > 50 && equivalent > 10,
            "{differing} differing, {equivalent} equivalent pairs"
        );
    }
}
