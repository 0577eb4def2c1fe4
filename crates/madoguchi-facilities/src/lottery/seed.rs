//! The draw's only randomness: a 32-byte seed, its published commitment `SHA-256(seed)`, and
//! each application's ticket `SHA-256(seed ‖ application id)`. All three are written as 64
//! lowercase hexadecimal digits.

use crate::ids::ApplicationId;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};
use sha2::{Digest, Sha256};
use std::fmt;

fn to_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(64);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// 64 hexadecimal digits (either case) as 32 bytes.
fn from_hex(raw: &str) -> Option<[u8; 32]> {
    let digits = raw.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let value = |d: u8| {
        char::from(d)
            .to_digit(16)
            .and_then(|v| u8::try_from(v).ok())
    };
    let mut out = [0u8; 32];
    for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *slot = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

macro_rules! hex_bytes {
    ($name:ident) => {
        impl $name {
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            pub fn to_hex(&self) -> String {
                to_hex(&self.0)
            }

            /// Reads 64 hexadecimal digits.
            pub fn from_hex(raw: &str) -> Option<Self> {
                from_hex(raw).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::from_hex(&raw).ok_or_else(|| D::Error::custom("expected 64 hex digits"))
            }
        }
    };
}

/// The draw's secret until the draw: 32 bytes from the operating system's random source
/// (drawn by the caller; this crate reads nothing). Its `Debug` shows nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Seed([u8; 32]);
hex_bytes!(Seed);

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Seed([redacted])")
    }
}

impl Seed {
    /// `SHA-256(seed)`, published before the application period closes.
    pub fn commitment(&self) -> Commitment {
        Commitment(Sha256::digest(self.0).into())
    }

    /// An application's ticket: `SHA-256(seed ‖ id)`, the 32 seed bytes followed by the 16
    /// bytes of the application's UUID in RFC 4122 order (48 bytes hashed).
    pub fn ticket(&self, application: ApplicationId) -> Ticket {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(application.as_bytes());
        Ticket(hasher.finalize().into())
    }
}

/// `SHA-256(seed)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Commitment([u8; 32]);
hex_bytes!(Commitment);

/// An application's place within its tier: lower tickets are served first, compared byte by
/// byte (as a 256-bit big-endian number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket([u8; 32]);
hex_bytes!(Ticket);

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn the_commitment_and_tickets_are_plain_sha_256_a_third_party_can_recompute() {
        // SHA-256 of 32 zero bytes, a published test vector.
        let zero = Seed::from_bytes([0; 32]);
        assert_eq!(
            zero.commitment().to_hex(),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        // The ticket hashes the seed then the UUID's 16 bytes, in that order.
        let id = ApplicationId(Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        let mut joined = vec![0u8; 32];
        joined.extend_from_slice(&0x0123_4567_89ab_cdef_0123_4567_89ab_cdef_u128.to_be_bytes());
        let expected: [u8; 32] = Sha256::digest(&joined).into();
        assert_eq!(zero.ticket(id).as_bytes(), &expected);
    }

    #[test]
    fn hex_reads_back_and_the_seed_never_prints() {
        let seed = Seed::from_bytes([0xab; 32]);
        assert_eq!(Seed::from_hex(&seed.to_hex()), Some(seed));
        assert_eq!(Seed::from_hex(&"AB".repeat(32)), Some(seed));
        assert_eq!(Seed::from_hex("abc"), None);
        assert_eq!(Seed::from_hex(&"zz".repeat(32)), None);
        assert_eq!(format!("{seed:?}"), "Seed([redacted])");
    }
}
