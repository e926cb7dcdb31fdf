//! Requirement fingerprints: a short, stable hash of the wording.

use sha2::{Digest, Sha256};

/// First 16 hex digits of SHA-256 over `plain_text`, the requirement's text with Markdown
/// formatting stripped and whitespace collapsed (see [`collapse_whitespace`]). It changes when,
/// and only when, the wording changes.
pub fn fingerprint(plain_text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(plain_text.as_bytes());
    let mut hex = String::with_capacity(16);
    for byte in &digest[..8] {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// `text` with every run of whitespace replaced by one space and no leading or trailing space.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // ASCII text (nearly every spec) splits by bytes. `split_ascii_whitespace` leaves out the
    // vertical tab, which `char::is_whitespace` (and so `split_whitespace`) counts.
    if text.bytes().all(|b| b.is_ascii() && b != 0x0B) {
        for word in text.split_ascii_whitespace() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        return out;
    }
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_collapses_alike_in_ascii_and_unicode_text() {
        assert_eq!(collapse_whitespace("  a \t b\r\n\x0Bc\x0C "), "a b c");
        assert_eq!(collapse_whitespace("a\u{00A0}\u{2003} b é"), "a b é");
        assert_eq!(collapse_whitespace(" \n "), "");
    }

    #[test]
    fn fingerprint_is_16_hex_digits_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223...
        assert_eq!(fingerprint("abc"), "ba7816bf8f01cfea");
        assert_eq!(fingerprint("x").len(), 16);
    }

    #[test]
    fn collapsing_removes_layout_only() {
        assert_eq!(collapse_whitespace("  a \n\t b  c "), "a b c");
        assert_eq!(
            fingerprint(&collapse_whitespace("a  b")),
            fingerprint(&collapse_whitespace("a\nb"))
        );
        assert_ne!(fingerprint("a b"), fingerprint("a c"));
    }
}
