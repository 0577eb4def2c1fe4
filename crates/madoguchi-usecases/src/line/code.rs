//! One-time link codes: what a resident sends to the official account to link it.

use madoguchi_domain::TenantId;
use rand::Rng;
use sha2::{Digest, Sha256};

/// How long a link code works.
pub const LINK_CODE_TTL_MIN: i64 = 30;
/// Characters of a link code: no 0/O or 1/I/L look-alikes, so it can be read off a screen and
/// typed on a phone. 31 symbols, 8 characters: almost 40 bits.
const CODE_ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const CODE_CHARS: usize = 8;

/// A fresh code, shown as two groups of four: `K7QM-3XTP`.
pub fn new_link_code() -> String {
    let mut rng = rand::rng();
    let chars: String = (0..CODE_CHARS)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// The code a resident typed, in its canonical form, or `None` when the text is no code.
/// Full-width letters and digits (a Japanese keyboard), lower case, spaces and hyphens of any
/// width are accepted.
pub fn normalize_code(text: &str) -> Option<String> {
    let mut code = String::with_capacity(CODE_CHARS);
    for c in text.trim().chars() {
        let c = match c {
            // Full-width ASCII (！ to ～) to ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            other => other,
        };
        match c {
            ' ' | '\u{3000}' | '-' | '‐' | '－' | '―' | 'ー' | '−' => continue,
            c if c.is_ascii_alphanumeric() => code.push(c.to_ascii_uppercase()),
            _ => return None,
        }
        if code.len() > CODE_CHARS {
            return None;
        }
    }
    let valid = code.len() == CODE_CHARS && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// What the database keeps of a code: SHA-256 of the tenant and the canonical code.
pub fn code_hash(tenant: TenantId, canonical: &str) -> Vec<u8> {
    Sha256::digest(format!("line-link:{tenant}:{canonical}").as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_code_is_two_groups_of_four_from_the_alphabet() {
        for _ in 0..200 {
            let code = new_link_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert_eq!(normalize_code(&code).map(|c| c.len()), Some(8));
        }
    }

    #[test]
    fn codes_are_read_the_way_residents_type_them() {
        let canonical = Some("K7QM3XTP".to_owned());
        assert_eq!(normalize_code("K7QM-3XTP"), canonical);
        assert_eq!(normalize_code("  k7qm 3xtp "), canonical);
        assert_eq!(
            normalize_code("Ｋ７ＱＭ－３ＸＴＰ"),
            canonical,
            "full width"
        );
        assert_eq!(
            normalize_code("k7qmー3xtp"),
            canonical,
            "a long vowel mark as hyphen"
        );
        assert_eq!(normalize_code("K7QM3XT"), None, "too short");
        assert_eq!(normalize_code("K7QM3XTPQ"), None, "too long");
        assert_eq!(normalize_code("K7QM3XT0"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("こんにちは"), None);
        assert_eq!(normalize_code("予約 K7QM-3XTP"), None, "only the code");
    }

    #[test]
    fn a_code_hash_depends_on_the_tenant() {
        let (a, b) = (TenantId::new(), TenantId::new());
        assert_eq!(code_hash(a, "K7QM3XTP"), code_hash(a, "K7QM3XTP"));
        assert_ne!(code_hash(a, "K7QM3XTP"), code_hash(b, "K7QM3XTP"));
    }
}
