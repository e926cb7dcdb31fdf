//! Requirement fingerprints: a short, stable hash of the wording.

use sha2::{Digest, Sha256};

/// First 16 hex digits of SHA-256 over `plain_text`, the requirement's text with Markdown
/// formatting stripped and whitespace collapsed (see [`collapse_whitespace`]). It changes when,
/// and only when, the wording changes.
pub fn fingerprint(plain_text: &str) -> String {
    let digest = Sha256::digest(plain_text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// `text` with every run of whitespace replaced by one space and no leading or trailing space.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
