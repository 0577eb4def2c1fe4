//! What a join grant claims: the room, the role and the identity of one participant, for at
//! most ten minutes. The server signs grants (as JWTs) and the signalling checks them on every
//! (re)connection; here are the rules both sides apply to the claims themselves.

use crate::room::ParticipantRole;
use madoguchi_domain::{RoomId, TenantId};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// The longest a grant may be valid: a reconnecting participant is issued a fresh one.
pub const GRANT_MAX_LIFETIME: Duration = Duration::minutes(10);

/// Clock difference tolerated between the node that issued a grant and the one checking it.
pub const CLOCK_LEEWAY: Duration = Duration::seconds(30);

/// The claims of a join grant. `identity` is opaque to the media server (an account or a
/// kiosk device, as the server names them): 1–64 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantClaims {
    /// The city the room belongs to: a media node serving several cities reads the room there.
    pub tenant: TenantId,
    pub room: RoomId,
    pub role: ParticipantRole,
    pub identity: String,
    /// Issued at, seconds since the epoch (JWT `iat`).
    pub iat: i64,
    /// Expires at, seconds since the epoch (JWT `exp`).
    pub exp: i64,
}

/// Why a grant's claims are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantProblem {
    #[error("the grant names another room")]
    WrongRoom,
    #[error("the grant has expired")]
    Expired,
    #[error("the grant is not valid yet")]
    NotYetValid,
    #[error("the grant is valid for longer than ten minutes")]
    TooLong,
    #[error("the grant's identity is not 1–64 visible ASCII characters")]
    BadIdentity,
}

impl GrantClaims {
    /// Claims for `identity` in `tenant`'s `room` as `role`, valid from `now` for `lifetime`
    /// (at most [`GRANT_MAX_LIFETIME`]).
    pub fn new(
        tenant: TenantId,
        room: RoomId,
        role: ParticipantRole,
        identity: &str,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<GrantClaims, GrantProblem> {
        if lifetime <= Duration::ZERO || lifetime > GRANT_MAX_LIFETIME {
            return Err(GrantProblem::TooLong);
        }
        let claims = GrantClaims {
            tenant,
            room,
            role,
            identity: identity.to_owned(),
            iat: now.unix_timestamp(),
            exp: (now + lifetime).unix_timestamp(),
        };
        claims.check_shape()?;
        Ok(claims)
    }

    fn check_shape(&self) -> Result<(), GrantProblem> {
        let identity_ok = (1..=64).contains(&self.identity.len())
            && self.identity.bytes().all(|b| b.is_ascii_graphic());
        if !identity_ok {
            return Err(GrantProblem::BadIdentity);
        }
        if self.exp <= self.iat || self.exp - self.iat > GRANT_MAX_LIFETIME.whole_seconds() {
            return Err(GrantProblem::TooLong);
        }
        Ok(())
    }

    /// Checks claims whose signature was verified: for `room`, valid at `now`.
    pub fn check(&self, room: RoomId, now: OffsetDateTime) -> Result<(), GrantProblem> {
        self.check_shape()?;
        if self.room != room {
            return Err(GrantProblem::WrongRoom);
        }
        let now = now.unix_timestamp();
        if now >= self.exp.saturating_add(CLOCK_LEEWAY.whole_seconds()) {
            return Err(GrantProblem::Expired);
        }
        if now < self.iat.saturating_sub(CLOCK_LEEWAY.whole_seconds()) {
            return Err(GrantProblem::NotYetValid);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-07 01:00 UTC);

    fn grant(room: RoomId) -> GrantClaims {
        GrantClaims::new(
            TenantId::new(),
            room,
            ParticipantRole::Resident,
            "acct:1",
            NOW,
            Duration::minutes(10),
        )
        .unwrap()
    }

    #[test]
    fn a_grant_is_good_for_its_room_for_ten_minutes() {
        let room = RoomId::new();
        let claims = grant(room);
        assert_eq!(claims.check(room, NOW), Ok(()));
        assert_eq!(claims.check(room, NOW + Duration::minutes(10)), Ok(()));
        assert_eq!(
            claims.check(room, NOW + Duration::minutes(11)),
            Err(GrantProblem::Expired)
        );
    }

    #[test]
    fn a_grant_for_another_room_is_refused() {
        let claims = grant(RoomId::new());
        assert_eq!(
            claims.check(RoomId::new(), NOW),
            Err(GrantProblem::WrongRoom)
        );
    }

    #[test]
    fn no_grant_lives_longer_than_ten_minutes() {
        let room = RoomId::new();
        for lifetime in [Duration::minutes(11), Duration::ZERO, Duration::seconds(-5)] {
            assert_eq!(
                GrantClaims::new(
                    TenantId::new(),
                    room,
                    ParticipantRole::Specialist,
                    "a",
                    NOW,
                    lifetime
                ),
                Err(GrantProblem::TooLong)
            );
        }
        let mut stretched = grant(room);
        stretched.exp += 3600;
        assert_eq!(stretched.check(room, NOW), Err(GrantProblem::TooLong));
    }

    #[test]
    fn a_grant_from_the_future_is_refused_beyond_the_clock_leeway() {
        let room = RoomId::new();
        let claims = grant(room);
        assert_eq!(claims.check(room, NOW - Duration::seconds(20)), Ok(()));
        assert_eq!(
            claims.check(room, NOW - Duration::minutes(2)),
            Err(GrantProblem::NotYetValid)
        );
    }

    #[test]
    fn identities_are_short_visible_ascii() {
        let room = RoomId::new();
        for bad in ["", " ", "a b", "名前", &"x".repeat(65), "a\u{0}"] {
            assert_eq!(
                GrantClaims::new(
                    TenantId::new(),
                    room,
                    ParticipantRole::Resident,
                    bad,
                    NOW,
                    Duration::minutes(1)
                ),
                Err(GrantProblem::BadIdentity),
                "{bad:?}"
            );
        }
    }
}
