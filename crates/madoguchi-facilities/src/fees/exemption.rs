//! 減免: a fee reduced by 100%, 50% or 30%, for a reason staff accept. The fee engine takes
//! only an [`ApprovedExemption`], whose one constructor needs a staff member other than the
//! one who asked and a reason, so an exemption nobody approved cannot be applied.

use super::FeeError;
use madoguchi_domain::AccountId;
use serde::{Deserialize, Serialize};

/// The longest reason for an exemption.
pub const EXEMPTION_REASON_MAX_CHARS: usize = 500;

/// How much of the fee is waived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionRate {
    /// 全額免除.
    Full,
    /// 5割減免.
    Half,
    /// 3割減免.
    ThreeTenths,
}

impl ExemptionRate {
    /// The share waived, in percent.
    pub fn percent(self) -> i64 {
        match self {
            ExemptionRate::Full => 100,
            ExemptionRate::Half => 50,
            ExemptionRate::ThreeTenths => 30,
        }
    }
}

/// An exemption asked for (at the booking, or by staff for a group), not yet decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExemptionRequest {
    pub rate: ExemptionRate,
    pub requested_by: AccountId,
    /// Why (障害者団体の活動, 市の共催事業 …), shown to the approver.
    pub reason: String,
}

/// An exemption approved by staff: the only kind the fee engine applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ExemptionRecord", into = "ExemptionRecord")]
pub struct ApprovedExemption {
    rate: ExemptionRate,
    requested_by: AccountId,
    approved_by: AccountId,
    reason: String,
}

/// How an approved exemption is stored; read back through the same checks.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExemptionRecord {
    rate: ExemptionRate,
    requested_by: AccountId,
    approved_by: AccountId,
    reason: String,
}

impl TryFrom<ExemptionRecord> for ApprovedExemption {
    type Error = FeeError;
    fn try_from(r: ExemptionRecord) -> Result<Self, FeeError> {
        let request = ExemptionRequest {
            rate: r.rate,
            requested_by: r.requested_by,
            reason: r.reason,
        };
        ApprovedExemption::approve(&request, r.approved_by)
    }
}

impl From<ApprovedExemption> for ExemptionRecord {
    fn from(e: ApprovedExemption) -> Self {
        ExemptionRecord {
            rate: e.rate,
            requested_by: e.requested_by,
            approved_by: e.approved_by,
            reason: e.reason,
        }
    }
}

impl ApprovedExemption {
    /// Staff `approved_by` approves `request`. Refused without a reason (or with one longer
    /// than [`EXEMPTION_REASON_MAX_CHARS`]) and when the approver is who asked. Whether
    /// `approved_by` may approve exemptions at all is the use case's check (`StaffAccess`).
    pub fn approve(request: &ExemptionRequest, approved_by: AccountId) -> Result<Self, FeeError> {
        if approved_by == request.requested_by {
            return Err(FeeError::ExemptionSelfApproval);
        }
        let reason =
            match madoguchi_domain::text::bounded_text(&request.reason, EXEMPTION_REASON_MAX_CHARS)
            {
                Ok(Some(text)) => text.to_owned(),
                _ => return Err(FeeError::ExemptionReasonRequired),
            };
        Ok(Self {
            rate: request.rate,
            requested_by: request.requested_by,
            approved_by,
            reason,
        })
    }

    pub fn rate(&self) -> ExemptionRate {
        self.rate
    }

    pub fn approved_by(&self) -> AccountId {
        self.approved_by
    }

    pub fn requested_by(&self) -> AccountId {
        self.requested_by
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Where a booking's exemption stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExemptionStatus {
    Requested { request: ExemptionRequest },
    Approved { exemption: ApprovedExemption },
    Refused { refused_by: AccountId },
}

impl ExemptionStatus {
    /// The approved exemption, or `exemption_not_approved` while it is asked or refused.
    pub fn approved(&self) -> Result<&ApprovedExemption, FeeError> {
        match self {
            ExemptionStatus::Approved { exemption } => Ok(exemption),
            ExemptionStatus::Requested { .. } | ExemptionStatus::Refused { .. } => {
                Err(FeeError::ExemptionNotApproved)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const RESIDENT: AccountId = AccountId(Uuid::from_u128(10));
    const STAFF: AccountId = AccountId(Uuid::from_u128(20));

    fn asked(reason: &str) -> ExemptionRequest {
        ExemptionRequest {
            rate: ExemptionRate::Half,
            requested_by: RESIDENT,
            reason: reason.into(),
        }
    }

    #[test]
    fn an_exemption_applies_only_once_another_person_approved_it_with_a_reason() {
        let status = ExemptionStatus::Requested {
            request: asked("障害者団体の定例活動"),
        };
        assert_eq!(status.approved(), Err(FeeError::ExemptionNotApproved));
        let approved = ApprovedExemption::approve(&asked("障害者団体の定例活動"), STAFF).unwrap();
        assert_eq!(approved.rate().percent(), 50);
        assert_eq!(approved.approved_by(), STAFF);
        let status = ExemptionStatus::Approved {
            exemption: approved.clone(),
        };
        assert_eq!(status.approved(), Ok(&approved));
        assert_eq!(
            ExemptionStatus::Refused { refused_by: STAFF }
                .approved()
                .unwrap_err()
                .code(),
            "exemption_not_approved"
        );
    }

    #[test]
    fn approving_ones_own_request_or_without_a_reason_is_refused() {
        assert_eq!(
            ApprovedExemption::approve(&asked("理由"), RESIDENT),
            Err(FeeError::ExemptionSelfApproval)
        );
        assert_eq!(
            ApprovedExemption::approve(&asked(" \u{200B} "), STAFF),
            Err(FeeError::ExemptionReasonRequired)
        );
    }

    #[test]
    fn a_stored_exemption_is_read_back_through_the_same_checks() {
        let approved = ApprovedExemption::approve(&asked("市の共催事業"), STAFF).unwrap();
        let json = serde_json::to_value(&approved).unwrap();
        let back: ApprovedExemption = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, approved);
        let mut forged = json;
        forged["approved_by"] = serde_json::json!(RESIDENT);
        assert!(serde_json::from_value::<ApprovedExemption>(forged).is_err());
    }
}
