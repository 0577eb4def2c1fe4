//! The reservation number residents and callers read aloud (予約番号), e.g. `K7QX-3MPA`.
//!
//! Eight characters of Crockford's base 32 (`0-9` and `A-Z` without `I`, `L`, `O` and `U`), so
//! no two characters look or sound alike: 40 random bits, about a million million numbers per
//! city. Shown as two groups of four. Read leniently, as a person types or says it: any case,
//! with or without the hyphen or spaces, full-width characters (`Ｋ７ＱＸ－３ＭＰＡ`) folded,
//! and the look-alikes `O` → `0`, `I`/`L` → `1` taken for the digits they resemble.
//!
//! The id of a reservation stays its UUID (URLs keep it); this is what people see.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Crockford's base-32 alphabet: the digit values 0–31 in order.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A valid reservation number: always eight characters of [`ALPHABET`], stored without the
/// hyphen.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReservationRef([u8; ReservationRef::LEN]);

impl ReservationRef {
    /// Characters in a number, without the hyphen.
    pub const LEN: usize = 8;

    /// The number for 40 random bits (the low 40 of `bits`; the rest are ignored).
    pub fn from_bits(bits: u64) -> Self {
        let mut chars = [b'0'; Self::LEN];
        for (i, c) in chars.iter_mut().enumerate() {
            let shift = 5 * (Self::LEN - 1 - i);
            *c = ALPHABET[((bits >> shift) & 31) as usize];
        }
        Self(chars)
    }

    /// A new random number. Uniqueness within a city is the database's to decide: a booking
    /// that draws a number already used draws again.
    pub fn random() -> Self {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let mut bits = 0u64;
        // The last bytes of a v4 UUID are random (the version and variant bits are earlier).
        for b in &bytes[11..16] {
            bits = (bits << 8) | u64::from(*b);
        }
        Self::from_bits(bits)
    }

    /// Reads a number as a person types it; `None` when it cannot be one.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut chars = [b'0'; Self::LEN];
        let mut n = 0;
        for c in raw.chars() {
            let c = fold_width(c);
            if matches!(c, '-' | ' ' | '\t' | '‐' | '−' | 'ー' | '　') {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || n == Self::LEN {
                return None;
            }
            chars[n] = c as u8;
            n += 1;
        }
        (n == Self::LEN).then_some(Self(chars))
    }

    /// The stored form: eight characters without the hyphen.
    pub fn compact(&self) -> &str {
        // Only ASCII from ALPHABET is ever stored in the array.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// Full-width ASCII (U+FF01–U+FF5E) to its half-width twin, as IMEs type digits and letters.
fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// `K7QX-3MPA`: two groups of four, as it is printed and read aloud.
impl fmt::Display for ReservationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "{}-{}", &s[..4], &s[4..])
    }
}

impl fmt::Debug for ReservationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReservationRef({self})")
    }
}

impl Serialize for ReservationRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Read as leniently as [`ReservationRef::parse`].
impl<'de> Deserialize<'de> for ReservationRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).ok_or_else(|| serde::de::Error::custom("not a reservation number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_eight_characters_shown_as_four_and_four() {
        let r = ReservationRef::from_bits(0);
        assert_eq!(r.to_string(), "0000-0000");
        let r = ReservationRef::from_bits((1 << 40) - 1);
        assert_eq!(r.compact(), "ZZZZZZZZ");
        assert_eq!(r.to_string(), "ZZZZ-ZZZZ");
    }

    #[test]
    fn a_number_never_uses_letters_that_look_like_others() {
        for _ in 0..500 {
            let r = ReservationRef::random();
            assert_eq!(r.compact().len(), 8);
            assert!(!r.compact().contains(['I', 'L', 'O', 'U']), "{r}");
            assert_eq!(ReservationRef::parse(&r.to_string()), Some(r));
        }
    }

    #[test]
    fn random_numbers_differ() {
        let a: std::collections::BTreeSet<_> =
            (0..1000).map(|_| ReservationRef::random()).collect();
        assert!(a.len() > 990, "only {} distinct of 1000", a.len());
    }

    #[test]
    fn a_number_is_read_as_people_type_it() {
        let r = ReservationRef::parse("K7QX-3MPA").expect("canonical");
        assert_eq!(ReservationRef::parse("k7qx3mpa"), Some(r));
        assert_eq!(ReservationRef::parse(" K7QX 3MPA "), Some(r));
        assert_eq!(
            ReservationRef::parse("Ｋ７ＱＸ－３ＭＰＡ"),
            Some(r),
            "full width"
        );
        assert_eq!(ReservationRef::parse("ｋ７ｑｘ　３ｍｐａ"), Some(r));
        assert_eq!(
            ReservationRef::parse("K7QXー3MPA"),
            Some(r),
            "a long-vowel mark"
        );
    }

    #[test]
    fn look_alike_letters_are_read_as_the_digits_they_resemble() {
        let r = ReservationRef::parse("10A0-B1C1").expect("canonical");
        assert_eq!(ReservationRef::parse("IOAO-BLCi"), Some(r));
    }

    #[test]
    fn anything_else_is_not_a_number() {
        for raw in [
            "",
            "K7QX-3MP",
            "K7QX-3MPAB",
            "K7QX-3MP!",
            "K7QU-3MPA",
            "予約番号",
        ] {
            assert_eq!(ReservationRef::parse(raw), None, "{raw}");
        }
    }
}
