//! Writing text into XML element content, shared by the document writer and
//! the S3 error bodies (which exist without the `xml` feature).

/// Where XML text goes: a `String` or byte buffer, or a counter that only
/// measures it (to allocate the buffer once, at its exact size).
pub(crate) trait Out {
    /// Appends `text`.
    fn push(&mut self, text: &str);
}

impl Out for String {
    fn push(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Out for Vec<u8> {
    fn push(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

/// Counts bytes.
impl Out for usize {
    fn push(&mut self, text: &str) {
        *self += text.len();
    }
}

/// Whether XML 1.0 can carry `c` in a document at all, raw or as a
/// character reference: its `Char` production allows tab, line feed,
/// carriage return and everything from U+0020 on except U+FFFE and U+FFFF
/// (surrogates cannot be in a Rust string).
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// The first character of `text` that XML 1.0 cannot carry, if any.
pub(crate) fn non_xml_char(text: &str) -> Option<char> {
    text.chars().find(|&c| !is_xml_char(c))
}

/// Appends `text` to `out`, escaped for use as XML element content.
pub(crate) fn escape_into(out: &mut impl Out, text: &str) {
    let mut plain = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            // A bare carriage return would be read back as a line feed.
            b'\r' => "&#13;",
            _ => continue,
        };
        // `at` is an ASCII byte, so both slices end on character boundaries.
        out.push(&text[plain..at]);
        out.push(entity);
        plain = at + 1;
    }
    out.push(&text[plain..]);
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn escapes_markup_characters_and_keeps_the_rest() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\re\"f'g é");
        assert_eq!(out, "a&amp;b&lt;c&gt;d&#13;e\"f'g é");
        let mut length = 0;
        escape_into(&mut length, "a&b<c>d\re\"f'g é");
        assert_eq!(length, out.len());
    }

    #[test]
    fn xml_chars_are_those_of_the_char_production() {
        use super::{is_xml_char, non_xml_char};
        for c in [
            '\t',
            '\n',
            '\r',
            ' ',
            '~',
            '\u{7f}',
            '\u{fffd}',
            '\u{10ffff}',
        ] {
            assert!(is_xml_char(c), "{c:?}");
        }
        for c in [
            '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{fffe}', '\u{ffff}',
        ] {
            assert!(!is_xml_char(c), "{c:?}");
        }
        assert_eq!(non_xml_char("https://a.example"), None);
        assert_eq!(non_xml_char("a\tb\u{1b}c\0"), Some('\u{1b}'));
    }
}
