//! Escaping text for XML element content, shared by the document writer and
//! the S3 error bodies (which exist without the `xml` feature).

/// Appends `text` to `out`, escaped for use as XML element content.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(pos) = rest.find(['&', '<', '>', '\r']) {
        let (plain, tail) = rest.split_at(pos);
        out.push_str(plain);
        let mut chars = tail.chars();
        out.push_str(match chars.next() {
            Some('&') => "&amp;",
            Some('<') => "&lt;",
            Some('>') => "&gt;",
            _ => "&#13;",
        });
        rest = chars.as_str();
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn escapes_markup_characters_and_keeps_the_rest() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\re\"f'g é");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&#13;e\"f'g é");
    }
}
