//! Registered groups (団体登録): a representative, a member count, and a status that staff
//! move on: applied → approved (after checking the representative's identity, naming who
//! approved) → expired a year later (renewable), or rejected, or suspended and reinstated.
//!
//! A group books as 市内在住 when at least half its members live, work or study in the city:
//! exactly, when `city_members × 100 ≥ members × threshold` with a threshold of 50 percent
//! by default ([`CityThreshold`]); otherwise it books as 市外.

use super::{ClassError, UserClass};
use crate::ids::GroupId;
use crate::wall::years_after;
use madoguchi_domain::AccountId;
use serde::{Deserialize, Serialize};
use time::Date;

/// The largest group.
pub const GROUP_MEMBERS_MAX: u32 = 100_000;
/// The longest reason for a rejection or a suspension.
pub const GROUP_REASON_MAX_CHARS: usize = 500;

/// How many members a group has, and how many of them live, work or study in the city.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MembershipData", into = "MembershipData")]
pub struct Membership {
    members: u32,
    city_members: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MembershipData {
    members: u32,
    city_members: u32,
}

impl TryFrom<MembershipData> for Membership {
    type Error = ClassError;
    fn try_from(d: MembershipData) -> Result<Self, ClassError> {
        Membership::new(d.members, d.city_members)
    }
}

impl From<Membership> for MembershipData {
    fn from(m: Membership) -> Self {
        MembershipData {
            members: m.members,
            city_members: m.city_members,
        }
    }
}

impl Membership {
    /// 1 to [`GROUP_MEMBERS_MAX`] members, of whom `city_members` (at most all) are 市内.
    pub fn new(members: u32, city_members: u32) -> Result<Self, ClassError> {
        if (1..=GROUP_MEMBERS_MAX).contains(&members) && city_members <= members {
            Ok(Self {
                members,
                city_members,
            })
        } else {
            Err(ClassError::MembersInvalid)
        }
    }

    pub fn members(&self) -> u32 {
        self.members
    }

    pub fn city_members(&self) -> u32 {
        self.city_members
    }

    /// [`UserClass::Resident`] when the city share reaches the threshold, else
    /// [`UserClass::Outside`].
    pub fn class(&self, threshold: CityThreshold) -> UserClass {
        let city = u64::from(self.city_members) * 100;
        if city >= u64::from(self.members) * u64::from(threshold.0) {
            UserClass::Resident
        } else {
            UserClass::Outside
        }
    }
}

/// The share of city members, in percent, from which a group counts as 市内 (1–100).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct CityThreshold(u8);

impl CityThreshold {
    pub fn new(percent: u8) -> Result<Self, ClassError> {
        if (1..=100).contains(&percent) {
            Ok(Self(percent))
        } else {
            Err(ClassError::ThresholdInvalid)
        }
    }

    pub fn percent(self) -> u8 {
        self.0
    }
}

impl Default for CityThreshold {
    /// At least half the members.
    fn default() -> Self {
        Self(50)
    }
}

impl TryFrom<u8> for CityThreshold {
    type Error = ClassError;
    fn try_from(percent: u8) -> Result<Self, ClassError> {
        CityThreshold::new(percent)
    }
}

impl From<CityThreshold> for u8 {
    fn from(t: CityThreshold) -> u8 {
        t.0
    }
}

/// The document staff saw when checking the representative's identity (本人確認).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityDocument {
    MyNumberCard,
    DriversLicence,
    Passport,
    ResidenceCard,
    HealthInsuranceCard,
    Other,
}

/// A group's approval: who approved, when, on what evidence, and until when it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Approval {
    pub approved_by: AccountId,
    pub approved_on: Date,
    pub identity: IdentityDocument,
    /// The first day the group is no longer approved: a year after approval.
    pub expires_on: Date,
}

/// Where a group stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupStatus {
    /// Waiting for staff to check the representative's identity.
    Applied { applied_on: Date },
    /// May book until `expires_on` (excluded).
    Approved(Approval),
    /// The approval ran out; a renewal approves it again.
    Expired { last: Approval },
    /// Refused, for good (a new application is a new group).
    Rejected { by: AccountId, reason: String },
    /// May not book until reinstated; the approval keeps running meanwhile.
    Suspended {
        approval: Approval,
        by: AccountId,
        on: Date,
        reason: String,
    },
}

/// What staff do to a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    /// First approval, after checking the representative's identity.
    Approve {
        by: AccountId,
        on: Date,
        identity: IdentityDocument,
    },
    Reject {
        by: AccountId,
        reason: String,
    },
    /// A renewal: while approved, a year on from the current expiry; once expired, a year
    /// from the renewal.
    Renew {
        by: AccountId,
        on: Date,
        identity: IdentityDocument,
    },
    Suspend {
        by: AccountId,
        on: Date,
        reason: String,
    },
    Reinstate {
        by: AccountId,
        on: Date,
    },
}

impl GroupEvent {
    pub fn code(&self) -> &'static str {
        match self {
            GroupEvent::Approve { .. } => "approved",
            GroupEvent::Reject { .. } => "rejected",
            GroupEvent::Renew { .. } => "renewed",
            GroupEvent::Suspend { .. } => "suspended",
            GroupEvent::Reinstate { .. } => "reinstated",
        }
    }
}

fn reason_ok(reason: &str) -> Result<String, ClassError> {
    match madoguchi_domain::text::bounded_text(reason, GROUP_REASON_MAX_CHARS) {
        Ok(Some(text)) => Ok(text.to_owned()),
        _ => Err(ClassError::ReasonRequired),
    }
}

fn approval(by: AccountId, on: Date, identity: IdentityDocument, from: Date) -> Approval {
    Approval {
        approved_by: by,
        approved_on: on,
        identity,
        expires_on: years_after(from, 1).unwrap_or(Date::MAX),
    }
}

impl GroupStatus {
    /// `applied`, `approved`, `expired`, `rejected` or `suspended`.
    pub fn code(&self) -> &'static str {
        match self {
            GroupStatus::Applied { .. } => "applied",
            GroupStatus::Approved(_) => "approved",
            GroupStatus::Expired { .. } => "expired",
            GroupStatus::Rejected { .. } => "rejected",
            GroupStatus::Suspended { .. } => "suspended",
        }
    }

    /// The status as it stands on `today`: an approval past its expiry is expired.
    pub fn effective_on(&self, today: Date) -> GroupStatus {
        match self {
            GroupStatus::Approved(a) if today >= a.expires_on => GroupStatus::Expired { last: *a },
            other => other.clone(),
        }
    }

    /// Whether the group may book on `today`.
    pub fn may_book(&self, today: Date) -> bool {
        matches!(self.effective_on(today), GroupStatus::Approved(_))
    }

    /// The status after `event`, done on `today`.
    pub fn on(&self, event: GroupEvent, today: Date) -> Result<GroupStatus, ClassError> {
        use GroupEvent as E;
        use GroupStatus as S;
        let current = self.effective_on(today);
        let refused = |from: &S, event: &E| ClassError::TransitionNotAllowed {
            from: from.code(),
            event: event.code(),
        };
        match (&current, event) {
            (S::Applied { .. }, E::Approve { by, on, identity }) => {
                Ok(S::Approved(approval(by, on, identity, on)))
            }
            (S::Applied { .. }, E::Reject { by, reason }) => Ok(S::Rejected {
                by,
                reason: reason_ok(&reason)?,
            }),
            (S::Approved(a), E::Renew { by, on, identity }) => {
                Ok(S::Approved(approval(by, on, identity, a.expires_on)))
            }
            (S::Expired { .. }, E::Renew { by, on, identity }) => {
                Ok(S::Approved(approval(by, on, identity, on)))
            }
            (S::Approved(a), E::Suspend { by, on, reason }) => Ok(S::Suspended {
                approval: *a,
                by,
                on,
                reason: reason_ok(&reason)?,
            }),
            (S::Suspended { approval, .. }, E::Reinstate { .. }) => {
                Ok(S::Approved(*approval).effective_on(today))
            }
            (S::Applied { .. }, e @ (E::Renew { .. } | E::Suspend { .. } | E::Reinstate { .. }))
            // Rejecting an approved or suspended group would erase its approval: suspend it.
            | (S::Approved(_), e @ (E::Approve { .. } | E::Reject { .. } | E::Reinstate { .. }))
            | (
                S::Expired { .. },
                e @ (E::Approve { .. } | E::Reject { .. } | E::Suspend { .. } | E::Reinstate { .. }),
            )
            | (
                S::Rejected { .. },
                e @ (E::Approve { .. }
                | E::Reject { .. }
                | E::Renew { .. }
                | E::Suspend { .. }
                | E::Reinstate { .. }),
            )
            | (
                S::Suspended { .. },
                e @ (E::Approve { .. } | E::Reject { .. } | E::Renew { .. } | E::Suspend { .. }),
            ) => Err(refused(&current, &e)),
        }
    }
}

/// A registered group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredGroup {
    pub id: GroupId,
    /// The representative's account (代表者); their name and address stay with the account.
    pub representative: AccountId,
    pub membership: Membership,
    pub status: GroupStatus,
}

impl RegisteredGroup {
    /// The class the group books as (see the module documentation).
    pub fn class(&self, threshold: CityThreshold) -> UserClass {
        self.membership.class(threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use uuid::Uuid;

    const STAFF: AccountId = AccountId(Uuid::from_u128(1));

    fn approved_on(day: Date) -> GroupStatus {
        GroupStatus::Applied {
            applied_on: date!(2026 - 03 - 25),
        }
        .on(
            GroupEvent::Approve {
                by: STAFF,
                on: day,
                identity: IdentityDocument::MyNumberCard,
            },
            day,
        )
        .unwrap()
    }

    #[test]
    fn a_group_is_city_when_at_least_half_its_members_are() {
        let half = Membership::new(10, 5).unwrap();
        let under = Membership::new(11, 5).unwrap();
        assert_eq!(half.class(CityThreshold::default()), UserClass::Resident);
        assert_eq!(under.class(CityThreshold::default()), UserClass::Outside);
        let two_thirds = CityThreshold::new(67).unwrap();
        assert_eq!(
            Membership::new(3, 2).unwrap().class(two_thirds),
            UserClass::Outside
        );
        assert_eq!(Membership::new(0, 0), Err(ClassError::MembersInvalid));
        assert_eq!(Membership::new(5, 6), Err(ClassError::MembersInvalid));
        assert_eq!(CityThreshold::new(0), Err(ClassError::ThresholdInvalid));
    }

    #[test]
    fn an_approval_lasts_a_year_and_then_the_group_is_expired() {
        let status = approved_on(date!(2026 - 04 - 01));
        assert!(status.may_book(date!(2027 - 03 - 31)));
        assert!(!status.may_book(date!(2027 - 04 - 01)));
        assert_eq!(status.effective_on(date!(2027 - 04 - 01)).code(), "expired");
    }

    #[test]
    fn a_renewal_runs_on_from_the_expiry_or_from_the_day_once_expired() {
        let status = approved_on(date!(2026 - 04 - 01));
        let renew = |on| GroupEvent::Renew {
            by: STAFF,
            on,
            identity: IdentityDocument::DriversLicence,
        };
        let early = status
            .on(renew(date!(2027 - 03 - 01)), date!(2027 - 03 - 01))
            .unwrap();
        assert!(early.may_book(date!(2028 - 03 - 31)));
        assert!(!early.may_book(date!(2028 - 04 - 01)));
        let late = status
            .on(renew(date!(2027 - 06 - 10)), date!(2027 - 06 - 10))
            .unwrap();
        assert!(late.may_book(date!(2028 - 06 - 09)));
        assert!(!late.may_book(date!(2028 - 06 - 10)));
    }

    #[test]
    fn a_suspended_group_may_not_book_until_reinstated() {
        let day = date!(2026 - 05 - 01);
        let suspended = approved_on(date!(2026 - 04 - 01))
            .on(
                GroupEvent::Suspend {
                    by: STAFF,
                    on: day,
                    reason: "利用規則違反".into(),
                },
                day,
            )
            .unwrap();
        assert!(!suspended.may_book(day));
        let back = suspended
            .on(GroupEvent::Reinstate { by: STAFF, on: day }, day)
            .unwrap();
        assert!(back.may_book(day));
        assert_eq!(
            approved_on(day)
                .on(
                    GroupEvent::Suspend {
                        by: STAFF,
                        on: day,
                        reason: "  ".into()
                    },
                    day
                )
                .unwrap_err()
                .code(),
            "group_reason_required"
        );
    }

    #[test]
    fn illegal_changes_are_refused_with_the_state_and_the_event() {
        let day = date!(2026 - 04 - 01);
        let rejected = GroupStatus::Applied { applied_on: day }
            .on(
                GroupEvent::Reject {
                    by: STAFF,
                    reason: "本人確認書類の不備".into(),
                },
                day,
            )
            .unwrap();
        let approve = GroupEvent::Approve {
            by: STAFF,
            on: day,
            identity: IdentityDocument::Passport,
        };
        assert_eq!(
            rejected.on(approve.clone(), day),
            Err(ClassError::TransitionNotAllowed {
                from: "rejected",
                event: "approved"
            })
        );
        assert_eq!(
            approved_on(day)
                .on(
                    GroupEvent::Reject {
                        by: STAFF,
                        reason: "x".into()
                    },
                    day
                )
                .unwrap_err()
                .code(),
            "group_transition_not_allowed"
        );
        assert!(approved_on(day).on(approve, day).is_err());
    }
}
