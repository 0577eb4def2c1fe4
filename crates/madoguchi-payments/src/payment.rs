//! One payment's state machine.
//!
//! ```text
//! created → requires_action → processing → succeeded
//!    └───────────┴───────────────┴──────→ failed | expired | canceled
//! ```
//! Providers report what happened (a [`PaymentSignal`]); [`PaymentStatus::on_signal`] decides
//! what that means for the stored status. Signals may come late, twice or out of order (a
//! webhook retried an hour later, the recovery job asking at the same time), so the decision
//! also knows whether the signal is newer than the last one applied.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Stored, provider not yet (known to be) asked.
    Created,
    /// The payer must act: 3-D Secure, a wallet redirect, paying a konbini voucher.
    RequiresAction,
    /// The provider is working on it.
    Processing,
    Succeeded,
    Failed,
    /// The payer did not finish in time (a konbini voucher past its date, a hold that ran out).
    Expired,
    Canceled,
}

/// What a provider (or the counter clerk) says happened to a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentSignal {
    RequiresAction,
    Processing,
    Succeeded,
    Failed,
    Expired,
    Canceled,
}

/// What to do with a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalDecision {
    /// Store the new status (and post what it means to the ledger).
    Move(PaymentStatus),
    /// The payment is already there: a duplicate.
    Same,
    /// Older than what was applied, or after a final state: changes nothing.
    Stale,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::Created,
        PaymentStatus::RequiresAction,
        PaymentStatus::Processing,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Created => "created",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Processing => "processing",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Canceled => "canceled",
        }
    }

    pub fn parse(raw: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Money may still arrive: at most one such payment per receivable at a time.
    pub fn is_in_flight(self) -> bool {
        match self {
            PaymentStatus::Created | PaymentStatus::RequiresAction | PaymentStatus::Processing => {
                true
            }
            PaymentStatus::Succeeded
            | PaymentStatus::Failed
            | PaymentStatus::Expired
            | PaymentStatus::Canceled => false,
        }
    }

    /// The status a signal asks for.
    fn target(signal: PaymentSignal) -> PaymentStatus {
        match signal {
            PaymentSignal::RequiresAction => PaymentStatus::RequiresAction,
            PaymentSignal::Processing => PaymentStatus::Processing,
            PaymentSignal::Succeeded => PaymentStatus::Succeeded,
            PaymentSignal::Failed => PaymentStatus::Failed,
            PaymentSignal::Expired => PaymentStatus::Expired,
            PaymentSignal::Canceled => PaymentStatus::Canceled,
        }
    }

    /// Decides what `signal` does to a payment in `self`. `newer` says whether the signal
    /// happened after the last one applied (by the provider's clock).
    ///
    /// - Money received is never ignored: a success applies from any state, even after the
    ///   payment failed, expired or was canceled (the reconciliation then sees an overpayment
    ///   if the receivable was settled another way).
    /// - A success is final: nothing but a refund changes it.
    /// - Expired and canceled are final for anything but a success.
    /// - After a failure the payer may try again on the same provider intent, so a newer
    ///   `requires_action` or `processing` re-opens it.
    pub fn on_signal(self, signal: PaymentSignal, newer: bool) -> SignalDecision {
        let target = Self::target(signal);
        if target == self {
            return SignalDecision::Same;
        }
        match (self, signal) {
            (PaymentStatus::Succeeded, _) => SignalDecision::Stale,
            (_, PaymentSignal::Succeeded) => SignalDecision::Move(target),
            (_, _) if !newer => SignalDecision::Stale,
            (PaymentStatus::Expired | PaymentStatus::Canceled, _) => SignalDecision::Stale,
            (
                PaymentStatus::Created
                | PaymentStatus::RequiresAction
                | PaymentStatus::Processing
                | PaymentStatus::Failed,
                PaymentSignal::RequiresAction
                | PaymentSignal::Processing
                | PaymentSignal::Failed
                | PaymentSignal::Expired
                | PaymentSignal::Canceled,
            ) => SignalDecision::Move(target),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PaymentSignal as Sig;
    use PaymentStatus as St;

    #[test]
    fn the_happy_path_moves_step_by_step() {
        assert_eq!(
            St::Created.on_signal(Sig::RequiresAction, true),
            SignalDecision::Move(St::RequiresAction)
        );
        assert_eq!(
            St::RequiresAction.on_signal(Sig::Processing, true),
            SignalDecision::Move(St::Processing)
        );
        assert_eq!(
            St::Processing.on_signal(Sig::Succeeded, true),
            SignalDecision::Move(St::Succeeded)
        );
    }

    #[test]
    fn a_repeated_signal_is_a_duplicate() {
        for s in St::ALL {
            let sig = match s {
                St::Created => continue,
                St::RequiresAction => Sig::RequiresAction,
                St::Processing => Sig::Processing,
                St::Succeeded => Sig::Succeeded,
                St::Failed => Sig::Failed,
                St::Expired => Sig::Expired,
                St::Canceled => Sig::Canceled,
            };
            assert_eq!(s.on_signal(sig, true), SignalDecision::Same);
            assert_eq!(s.on_signal(sig, false), SignalDecision::Same);
        }
    }

    #[test]
    fn a_success_is_never_undone() {
        for sig in [
            Sig::RequiresAction,
            Sig::Processing,
            Sig::Failed,
            Sig::Expired,
            Sig::Canceled,
        ] {
            assert_eq!(St::Succeeded.on_signal(sig, true), SignalDecision::Stale);
        }
    }

    #[test]
    fn a_late_success_is_recorded_even_after_an_end() {
        for s in [St::Failed, St::Expired, St::Canceled, St::Created] {
            assert_eq!(
                s.on_signal(Sig::Succeeded, false),
                SignalDecision::Move(St::Succeeded)
            );
        }
    }

    #[test]
    fn an_older_signal_changes_nothing() {
        assert_eq!(
            St::Failed.on_signal(Sig::Processing, false),
            SignalDecision::Stale
        );
        assert_eq!(
            St::Processing.on_signal(Sig::RequiresAction, false),
            SignalDecision::Stale
        );
    }

    #[test]
    fn expired_and_canceled_payments_stay_ended() {
        assert_eq!(
            St::Expired.on_signal(Sig::Processing, true),
            SignalDecision::Stale
        );
        assert_eq!(
            St::Canceled.on_signal(Sig::Failed, true),
            SignalDecision::Stale
        );
    }

    #[test]
    fn a_failed_payment_can_be_retried_on_the_same_intent() {
        assert_eq!(
            St::Failed.on_signal(Sig::RequiresAction, true),
            SignalDecision::Move(St::RequiresAction)
        );
    }

    #[test]
    fn only_open_states_are_in_flight() {
        let in_flight: Vec<_> = St::ALL.into_iter().filter(|s| s.is_in_flight()).collect();
        assert_eq!(in_flight, [St::Created, St::RequiresAction, St::Processing]);
    }
}
