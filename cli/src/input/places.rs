//! Where each rule of a document, and each of its values, starts in the
//! text: so that findings and S3's refusals can say `FILE:LINE:COLUMN`.

/// The places of one document's rules, in order.
#[derive(Debug, Default)]
pub(crate) struct Places {
    rules: Vec<RulePlaces>,
}

/// Where one rule starts, and each of its values.
#[derive(Debug)]
struct RulePlaces {
    start: usize,
    /// The member (named as in S3's XML: `AllowedOrigin`), the value as
    /// read, and where it starts.
    values: Vec<(&'static str, String, usize)>,
}

impl Places {
    /// A rule starts at byte `at`.
    pub(super) fn rule_at(&mut self, at: usize) {
        self.rules.push(RulePlaces {
            start: at,
            values: Vec::new(),
        });
    }

    /// A value of the last rule started starts at byte `at`.
    pub(super) fn value_at(&mut self, member: &'static str, value: String, at: usize) {
        if let Some(rule) = self.rules.last_mut() {
            rule.values.push((member, value, at));
        }
    }

    /// Where `value` of `member` in rule `number` (counted from 1) starts:
    /// that value, or else the member's first value, or else the rule.
    pub(crate) fn find(
        &self,
        number: usize,
        member: Option<&str>,
        value: Option<&str>,
    ) -> Option<usize> {
        let rule = self.rules.get(number.checked_sub(1)?)?;
        let of_member = |(name, _, _): &&(&str, String, usize)| Some(*name) == member;
        rule.values
            .iter()
            .filter(of_member)
            .find(|(_, text, _)| Some(text.as_str()) == value)
            .or_else(|| rule.values.iter().find(of_member))
            .map_or(Some(rule.start), |(_, _, at)| Some(*at))
    }
}

/// The member of S3's XML that a JSON key holds (`AllowedOrigins`:
/// `AllowedOrigin`).
pub(super) fn member_of_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "ID" => "ID",
        "AllowedOrigins" => "AllowedOrigin",
        "AllowedMethods" => "AllowedMethod",
        "AllowedHeaders" => "AllowedHeader",
        "ExposeHeaders" => "ExposeHeader",
        "MaxAgeSeconds" => "MaxAgeSeconds",
        _ => return None,
    })
}
