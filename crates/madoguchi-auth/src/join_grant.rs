//! Join grants of the remote counter as HS256 JWTs: the server signs [`GrantClaims`] for one
//! participant, and the signalling verifies the signature before it checks the claims against
//! the room and the clock ([`GrantClaims::check`]). Grants carry their own issuer and audience,
//! so an API token is never accepted as a grant, nor a grant as an API token.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use madoguchi_counter::GrantClaims;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "madoguchi";
const AUDIENCE: &str = "madoguchi-counter";

/// Why a grant token is refused before its claims are even read.
#[derive(Debug, thiserror::Error)]
pub enum JoinGrantError {
    #[error("grant could not be signed: {0}")]
    Sign(String),
    #[error("grant is forged, mangled or not a grant")]
    Invalid,
}

#[derive(Serialize, Deserialize)]
struct WireGrant {
    iss: String,
    aud: String,
    #[serde(flatten)]
    claims: GrantClaims,
}

/// The signing secret of join grants, which redacts itself in `Debug`.
#[derive(Clone)]
pub struct JoinGrantKeys {
    secret: SecretString,
}

impl std::fmt::Debug for JoinGrantKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinGrantKeys([redacted])")
    }
}

impl JoinGrantKeys {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// Signs `claims` (already checked by [`GrantClaims::new`]).
    pub fn sign(&self, claims: &GrantClaims) -> Result<String, JoinGrantError> {
        let wire = WireGrant {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            claims: claims.clone(),
        };
        encode(
            &Header::new(Algorithm::HS256),
            &wire,
            &EncodingKey::from_secret(self.secret.expose_secret().as_bytes()),
        )
        .map_err(|e| JoinGrantError::Sign(e.to_string()))
    }

    /// Checks the signature, algorithm, issuer and audience and returns the claims. Time and
    /// room are checked by [`GrantClaims::check`] with the caller's clock.
    pub fn verify(&self, token: &str) -> Result<GrantClaims, JoinGrantError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["iss", "aud", "exp"]);
        decode::<WireGrant>(
            token,
            &DecodingKey::from_secret(self.secret.expose_secret().as_bytes()),
            &validation,
        )
        .map(|data| data.claims.claims)
        .map_err(|_| JoinGrantError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_token::ApiTokenKeys;
    use madoguchi_counter::{GrantProblem, ParticipantRole};
    use madoguchi_domain::{AccountId, AccountKind, RoomId, TenantId};
    use time::{Duration, OffsetDateTime};

    const SECRET: &str = "a-long-test-secret-of-32-bytes!!";

    fn keys(secret: &str) -> JoinGrantKeys {
        JoinGrantKeys::new(SecretString::from(secret.to_owned()))
    }

    /// The city every test grant is for.
    const CITY: TenantId = TenantId(uuid::Uuid::from_u128(7));

    fn claims(room: RoomId, now: OffsetDateTime) -> GrantClaims {
        GrantClaims::new(
            CITY,
            room,
            ParticipantRole::Resident,
            "acct:42",
            now,
            Duration::minutes(10),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_grant_verifies_and_its_claims_are_checked_against_the_room() {
        let now = OffsetDateTime::now_utc();
        let room = RoomId::new();
        let token = keys(SECRET).sign(&claims(room, now)).unwrap();
        let read = keys(SECRET).verify(&token).unwrap();
        assert_eq!(read, claims(room, now));
        assert_eq!(read.check(room, now), Ok(()));
        assert_eq!(read.check(RoomId::new(), now), Err(GrantProblem::WrongRoom));
        assert_eq!(
            read.check(room, now + Duration::minutes(11)),
            Err(GrantProblem::Expired)
        );
    }

    #[test]
    fn a_forged_or_mangled_grant_is_refused() {
        let now = OffsetDateTime::now_utc();
        let token = keys("another-secret-another-secret-!!")
            .sign(&claims(RoomId::new(), now))
            .unwrap();
        assert!(keys(SECRET).verify(&token).is_err());
        assert!(keys(SECRET).verify("not.a.jwt").is_err());
        assert!(keys(SECRET).verify("").is_err());
    }

    #[test]
    fn an_api_token_is_not_a_grant_and_a_grant_is_not_an_api_token() {
        let now = OffsetDateTime::now_utc();
        let api = ApiTokenKeys::new(SecretString::from(SECRET.to_owned()));
        let (token, _) = api
            .issue(
                AccountId::new(),
                TenantId::new(),
                AccountKind::Resident,
                vec![],
                now,
                600,
            )
            .unwrap();
        assert!(keys(SECRET).verify(&token).is_err());
        let grant = keys(SECRET).sign(&claims(RoomId::new(), now)).unwrap();
        assert!(api.verify(&grant).is_err());
    }
}
