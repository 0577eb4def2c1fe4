//! Refunds (還付): requested by staff (or a resident where the city allows), approved by a
//! finance user who is not the requester, then paid out through the payment's provider.
//!
//! ```text
//! requested → approved → processing → succeeded
//!     └→ rejected              └→ failed → processing (retried)
//! ```

use madoguchi_domain::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    Requested,
    Approved,
    Rejected,
    Processing,
    Succeeded,
    Failed,
}

/// A step of a refund's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundDecision {
    Approve,
    Reject,
    /// The provider was asked to pay it out.
    Start,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub const ALL: [RefundStatus; 6] = [
        RefundStatus::Requested,
        RefundStatus::Approved,
        RefundStatus::Rejected,
        RefundStatus::Processing,
        RefundStatus::Succeeded,
        RefundStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Requested => "requested",
            RefundStatus::Approved => "approved",
            RefundStatus::Rejected => "rejected",
            RefundStatus::Processing => "processing",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<RefundStatus> {
        RefundStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Counts against what may still be refunded of a payment.
    pub fn holds_amount(self) -> bool {
        match self {
            RefundStatus::Requested
            | RefundStatus::Approved
            | RefundStatus::Processing
            | RefundStatus::Succeeded
            | RefundStatus::Failed => true,
            RefundStatus::Rejected => false,
        }
    }

    /// The next status, or why the step is not allowed. `same_person` says whether the one
    /// deciding is the one who requested it: nobody approves their own refund.
    pub fn step(
        self,
        decision: RefundDecision,
        same_person: bool,
    ) -> Result<RefundStatus, ErrorCode> {
        match (self, decision) {
            (RefundStatus::Requested, RefundDecision::Approve) if same_person => {
                Err(ErrorCode::RefundSelfApproval)
            }
            (RefundStatus::Requested, RefundDecision::Approve) => Ok(RefundStatus::Approved),
            (RefundStatus::Requested, RefundDecision::Reject) => Ok(RefundStatus::Rejected),
            (RefundStatus::Approved | RefundStatus::Failed, RefundDecision::Start) => {
                Ok(RefundStatus::Processing)
            }
            (RefundStatus::Processing, RefundDecision::Succeeded) => Ok(RefundStatus::Succeeded),
            (RefundStatus::Processing, RefundDecision::Failed) => Ok(RefundStatus::Failed),
            (
                RefundStatus::Requested
                | RefundStatus::Approved
                | RefundStatus::Rejected
                | RefundStatus::Processing
                | RefundStatus::Succeeded
                | RefundStatus::Failed,
                _,
            ) => Err(ErrorCode::RefundNotPending),
        }
    }
}

/// May `requested_yen` be refunded of a payment of `paid_yen` of which `held_yen` is already
/// asked for by other refunds?
pub fn check_refund_amount(
    paid_yen: i64,
    held_yen: i64,
    requested_yen: i64,
) -> Result<(), ErrorCode> {
    if requested_yen <= 0 {
        return Err(ErrorCode::AmountNotPositive);
    }
    match held_yen.checked_add(requested_yen) {
        Some(total) if total <= paid_yen => Ok(()),
        _ => Err(ErrorCode::RefundExceedsPaid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requester_cannot_approve_their_own_refund() {
        assert_eq!(
            RefundStatus::Requested.step(RefundDecision::Approve, true),
            Err(ErrorCode::RefundSelfApproval)
        );
        assert_eq!(
            RefundStatus::Requested.step(RefundDecision::Approve, false),
            Ok(RefundStatus::Approved)
        );
    }

    #[test]
    fn a_refund_is_paid_only_after_approval() {
        assert_eq!(
            RefundStatus::Requested.step(RefundDecision::Start, false),
            Err(ErrorCode::RefundNotPending)
        );
        assert_eq!(
            RefundStatus::Approved.step(RefundDecision::Start, false),
            Ok(RefundStatus::Processing)
        );
        assert_eq!(
            RefundStatus::Failed.step(RefundDecision::Start, false),
            Ok(RefundStatus::Processing)
        );
    }

    #[test]
    fn a_decided_refund_cannot_be_decided_again() {
        for s in [
            RefundStatus::Approved,
            RefundStatus::Rejected,
            RefundStatus::Succeeded,
        ] {
            assert_eq!(
                s.step(RefundDecision::Approve, false),
                Err(ErrorCode::RefundNotPending)
            );
        }
    }

    #[test]
    fn refunds_together_never_exceed_the_payment() {
        assert!(check_refund_amount(500, 0, 500).is_ok());
        assert_eq!(
            check_refund_amount(500, 200, 301),
            Err(ErrorCode::RefundExceedsPaid)
        );
        assert_eq!(
            check_refund_amount(500, 0, 0),
            Err(ErrorCode::AmountNotPositive)
        );
        assert_eq!(
            check_refund_amount(500, i64::MAX, 1),
            Err(ErrorCode::RefundExceedsPaid)
        );
    }
}
