//! Bearer tokens for API clients: HS256-signed JWTs that name the tenant, the account, what
//! they may do (scopes) and when they expire.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use madoguchi_domain::{AccountId, AccountKind, TenantId};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What an API token allows. Kept coarse; each route names the scope it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApiScope {
    /// Read one's own account.
    #[serde(rename = "account:read")]
    AccountRead,
    /// Read offices, departments and staff (within the caller's role scope).
    #[serde(rename = "org:read")]
    OrgRead,
    /// Change offices, departments, staff and roles (administrators).
    #[serde(rename = "org:write")]
    OrgWrite,
    /// Read the audit log (administrators).
    #[serde(rename = "audit:read")]
    AuditRead,
}

impl ApiScope {
    pub const ALL: [ApiScope; 4] = [
        ApiScope::AccountRead,
        ApiScope::OrgRead,
        ApiScope::OrgWrite,
        ApiScope::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::AccountRead => "account:read",
            ApiScope::OrgRead => "org:read",
            ApiScope::OrgWrite => "org:write",
            ApiScope::AuditRead => "audit:read",
        }
    }

    pub fn parse(raw: &str) -> Option<ApiScope> {
        ApiScope::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// The claims of a Madoguchi API token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClaims {
    /// The account.
    pub sub: AccountId,
    /// The tenant the token is valid for; a token never works for another tenant.
    pub tid: TenantId,
    pub kind: AccountKind,
    pub scopes: Vec<ApiScope>,
    pub iat: i64,
    pub exp: i64,
    /// Unique id, for audit.
    pub jti: Uuid,
}

impl ApiClaims {
    pub fn allows(&self, scope: ApiScope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiTokenError {
    #[error("token could not be signed: {0}")]
    Sign(String),
    #[error("token is invalid or expired")]
    Invalid,
}

/// The signing secret, which redacts itself in `Debug`.
#[derive(Clone)]
pub struct ApiTokenKeys {
    secret: SecretString,
}

impl std::fmt::Debug for ApiTokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiTokenKeys([redacted])")
    }
}

/// The issuer checked on every token, so tokens signed for another system never pass.
const ISSUER: &str = "madoguchi";

#[derive(Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    #[serde(flatten)]
    claims: ApiClaims,
}

impl ApiTokenKeys {
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// Signs a token for `account` valid for `ttl_s` seconds from `now`.
    pub fn issue(
        &self,
        account: AccountId,
        tenant: TenantId,
        kind: AccountKind,
        scopes: Vec<ApiScope>,
        now: OffsetDateTime,
        ttl_s: i64,
    ) -> Result<(String, ApiClaims), ApiTokenError> {
        let claims = ApiClaims {
            sub: account,
            tid: tenant,
            kind,
            scopes,
            iat: now.unix_timestamp(),
            exp: now.unix_timestamp() + ttl_s,
            jti: Uuid::new_v4(),
        };
        let wire = WireClaims {
            iss: ISSUER.to_owned(),
            claims: claims.clone(),
        };
        let token = encode(
            &Header::new(Algorithm::HS256),
            &wire,
            &EncodingKey::from_secret(self.secret.expose_secret().as_bytes()),
        )
        .map_err(|e| ApiTokenError::Sign(e.to_string()))?;
        Ok((token, claims))
    }

    /// Checks signature, algorithm, issuer and expiry (no leeway: an expired token is expired).
    pub fn verify(&self, token: &str) -> Result<ApiClaims, ApiTokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        decode::<WireClaims>(
            token,
            &DecodingKey::from_secret(self.secret.expose_secret().as_bytes()),
            &validation,
        )
        .map(|data| data.claims.claims)
        .map_err(|_| ApiTokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> ApiTokenKeys {
        ApiTokenKeys::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let k = keys("a-long-test-secret-of-32-bytes!!");
        let (token, claims) = k
            .issue(
                AccountId::new(),
                TenantId::new(),
                AccountKind::Staff,
                vec![ApiScope::OrgRead],
                OffsetDateTime::now_utc(),
                600,
            )
            .unwrap();
        assert_eq!(k.verify(&token).unwrap(), claims);
        assert!(claims.allows(ApiScope::OrgRead));
        assert!(!claims.allows(ApiScope::OrgWrite));
    }

    #[test]
    fn an_expired_token_is_refused() {
        let k = keys("a-long-test-secret-of-32-bytes!!");
        let past = OffsetDateTime::now_utc() - time::Duration::hours(2);
        let (token, _) = k
            .issue(
                AccountId::new(),
                TenantId::new(),
                AccountKind::Resident,
                vec![],
                past,
                60,
            )
            .unwrap();
        assert!(matches!(k.verify(&token), Err(ApiTokenError::Invalid)));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let (token, _) = keys("secret-one-secret-one-secret-one")
            .issue(
                AccountId::new(),
                TenantId::new(),
                AccountKind::Resident,
                vec![],
                OffsetDateTime::now_utc(),
                60,
            )
            .unwrap();
        assert!(
            keys("secret-two-secret-two-secret-two")
                .verify(&token)
                .is_err()
        );
    }

    #[test]
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", keys("top-secret-value")).contains("top-secret"));
    }
}
