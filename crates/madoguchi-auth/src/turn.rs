//! Time-limited TURN credentials (the "TURN REST API" convention coturn implements with
//! `use-auth-secret`): the username is `expiry:user`, the password is
//! base64(HMAC-SHA1(shared secret, username)). coturn recomputes the password from the
//! username and refuses it once the expiry (seconds since the epoch) has passed, so the app
//! never stores a TURN password and a leaked one dies by itself.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use time::{Duration, OffsetDateTime};

/// How long a TURN credential lasts by default: long enough for a consultation, short
/// enough that a leaked one is soon useless.
pub const TURN_CREDENTIAL_LIFETIME: Duration = Duration::hours(2);

/// One credential for a TURN server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TurnCredential {
    pub username: String,
    pub password: String,
    pub expires_at: OffsetDateTime,
}

/// A credential for `user` (an opaque id without `:`), valid from `now` for `lifetime`.
pub fn turn_credential(
    secret: &[u8],
    user: &str,
    now: OffsetDateTime,
    lifetime: Duration,
) -> TurnCredential {
    let expires_at = now + lifetime;
    let username = format!("{}:{}", expires_at.unix_timestamp(), user.replace(':', "_"));
    TurnCredential {
        password: turn_password(secret, &username),
        username,
        expires_at,
    }
}

/// The password coturn expects for `username`.
pub fn turn_password(secret: &[u8], username: &str) -> String {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(username.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_password_is_the_base64_hmac_sha1_of_the_username() {
        // Expected value computed independently with Python's hmac and hashlib.
        let credential = turn_credential(
            b"north-wind",
            "kiosk-kita",
            datetime!(2026-12-07 00:30 UTC),
            TURN_CREDENTIAL_LIFETIME,
        );
        assert_eq!(credential.username, "1796610600:kiosk-kita");
        assert_eq!(credential.password, "JQO4xHHr3KBZIOYTfZq8bPx+DJw=");
        assert_eq!(credential.expires_at, datetime!(2026-12-07 02:30 UTC));
    }

    #[test]
    fn a_colon_in_the_user_cannot_forge_another_expiry() {
        let credential = turn_credential(
            b"s",
            "9999999999:x",
            datetime!(2026-12-07 00:00 UTC),
            Duration::minutes(1),
        );
        assert_eq!(credential.username.matches(':').count(), 1);
    }
}
