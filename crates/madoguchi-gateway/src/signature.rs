//! The `Stripe-Signature` webhook scheme, used by Stripe and by our sandbox gateway:
//! `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>[,v1=…][,v0=…]`.
//! A delivery is genuine when any `v1` matches and `t` is within the tolerance of now (both
//! directions, so neither a replay of an old delivery nor a forged future one passes).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

/// Stripe's default: five minutes.
pub const TOLERANCE_S: i64 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header")]
    Missing,
    #[error("the Stripe-Signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

fn mac(secret: &str, t: i64, payload: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    Some(mac)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(raw: &str) -> Option<Vec<u8>> {
    if !raw.len().is_multiple_of(2) || !raw.is_ascii() {
        return None;
    }
    (0..raw.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&raw[i..i + 2], 16).ok())
        .collect()
}

/// The header value for `payload` signed at `t` (what the sandbox gateway and the tests send).
pub fn sign(secret: &str, t: i64, payload: &[u8]) -> String {
    let digest = mac(secret, t, payload)
        .map(|m| hex(&m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("t={t},v1={digest}")
}

/// Checks `header` for `payload` against `secret` at `now`. Returns the signed timestamp.
pub fn verify(
    header: &str,
    payload: &[u8],
    secret: &str,
    now: OffsetDateTime,
    tolerance_s: i64,
) -> Result<i64, SignatureError> {
    if header.trim().is_empty() {
        return Err(SignatureError::Missing);
    }
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let age = now.unix_timestamp().saturating_sub(t);
    if age.saturating_abs() > tolerance_s {
        return Err(SignatureError::Stale);
    }
    for candidate in candidates {
        let Some(expected) = unhex(candidate) else {
            continue;
        };
        // `verify_slice` compares in constant time.
        if mac(secret, t, payload).is_some_and(|m| m.verify_slice(&expected).is_ok()) {
            return Ok(t);
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn at(t: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(t).unwrap()
    }

    #[test]
    fn a_signature_made_with_the_secret_is_accepted() {
        let header = sign(SECRET, 1_700_000_000, b"{\"id\":\"evt_1\"}");
        assert_eq!(
            verify(
                &header,
                b"{\"id\":\"evt_1\"}",
                SECRET,
                at(1_700_000_100),
                TOLERANCE_S
            ),
            Ok(1_700_000_000)
        );
    }

    #[test]
    fn the_digest_is_hmac_sha256_of_timestamp_dot_payload_in_hex() {
        // Computed independently with Python:
        // hmac.new(b"whsec_test_secret", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            sign(SECRET, 1_700_000_000, b"{}"),
            "t=1700000000,v1=ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3"
        );
    }

    #[test]
    fn any_matching_v1_among_several_is_enough() {
        let good = sign(SECRET, 1_700_000_000, b"x");
        let digest = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1700000000,v1={},v1={digest},v0=abc", "00".repeat(32));
        assert!(verify(&header, b"x", SECRET, at(1_700_000_000), TOLERANCE_S).is_ok());
    }

    #[test]
    fn a_changed_payload_or_another_secret_is_refused() {
        let header = sign(SECRET, 1_700_000_000, b"x");
        assert_eq!(
            verify(&header, b"y", SECRET, at(1_700_000_000), TOLERANCE_S),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&header, b"x", "whsec_other", at(1_700_000_000), TOLERANCE_S),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn old_and_future_timestamps_are_refused() {
        let header = sign(SECRET, 1_700_000_000, b"x");
        assert_eq!(
            verify(&header, b"x", SECRET, at(1_700_000_301), TOLERANCE_S),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&header, b"x", SECRET, at(1_699_999_000), TOLERANCE_S),
            Err(SignatureError::Stale)
        );
        assert!(verify(&header, b"x", SECRET, at(1_700_000_300), TOLERANCE_S).is_ok());
    }

    #[test]
    fn headers_without_parts_are_malformed_or_missing() {
        assert_eq!(
            verify("", b"x", SECRET, at(0), TOLERANCE_S),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify("v1=abcd", b"x", SECRET, at(0), TOLERANCE_S),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("t=0", b"x", SECRET, at(0), TOLERANCE_S),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("t=0,v1=zz", b"x", SECRET, at(0), TOLERANCE_S),
            Err(SignatureError::Mismatch)
        );
    }
}
