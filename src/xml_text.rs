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
}
