//! A facility booking's life: 仮予約 (provisional, to be paid by a deadline) → paid → 本予約
//! (confirmed) → used (checked in) or a no-show. A provisional booking left unpaid past its
//! deadline expires and frees the unit; the holder may cancel (refunded by the facility's
//! [`RefundRule`]); the city may take the slot for its own use (行政使用: pre-empted, refunded
//! in full, the holder told). A booking whose fee is ¥0 (a 100% 減免) is confirmed at once.
//!
//! [`BookingState::on`] is the one state machine, an exhaustive `match` over state and
//! event; every refusal has its own code.

mod refund;

pub use refund::{REFUND_TIERS_MAX, RefundRule, RefundRuleSpec, RefundTier};

#[cfg(test)]
mod tests;

use crate::bands::Range;
use madoguchi_domain::{Yen, tokyo};
use time::{Date, OffsetDateTime};

/// Why a change of a booking is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// A payment that arrives after the provisional booking's deadline (or once it expired):
    /// the unit may be someone else's; the payment is to be refunded.
    #[error("the payment deadline has passed")]
    ConfirmAfterDeadline,
    /// A payment of another amount than the fee.
    #[error("¥{paid} was paid for a fee of ¥{fee}")]
    PaymentMismatch { fee: i64, paid: i64 },
    /// Expiring a provisional booking whose deadline has not passed.
    #[error("the payment deadline has not passed yet")]
    DeadlineNotPassed,
    /// Checking in before the day of use.
    #[error("check-in opens on the day of use")]
    CheckInBeforeDay,
    /// Checking in once the use has ended.
    #[error("the use has already ended")]
    CheckInAfterEnd,
    /// Checking in a booking that is not paid.
    #[error("the booking is not paid")]
    NotPaid,
    /// Marking a no-show before the use has started.
    #[error("a no-show is marked once the use has started")]
    NoShowBeforeStart,
    /// The holder cancelling once the use has started.
    #[error("the use has started; it can no longer be cancelled")]
    CancelAfterStart,
    /// The city taking a slot whose use has started or ended.
    #[error("the use has started; the slot can no longer be taken")]
    PreEmptAfterStart,
    /// Any other change the state does not allow (paying twice, cancelling an expired booking …).
    #[error("a {state} booking cannot be {event}")]
    NotAllowed {
        state: &'static str,
        event: &'static str,
    },
    /// A refund rule out of order or over 100%.
    #[error("refund tiers go from the most days before to the fewest, at most 100%")]
    RefundRuleInvalid,
}

impl LifecycleError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            LifecycleError::ConfirmAfterDeadline => "booking_confirm_after_deadline",
            LifecycleError::PaymentMismatch { .. } => "booking_payment_mismatch",
            LifecycleError::DeadlineNotPassed => "booking_deadline_not_passed",
            LifecycleError::CheckInBeforeDay => "booking_check_in_before_day",
            LifecycleError::CheckInAfterEnd => "booking_check_in_after_end",
            LifecycleError::NotPaid => "booking_not_paid",
            LifecycleError::NoShowBeforeStart => "booking_no_show_before_start",
            LifecycleError::CancelAfterStart => "booking_cancel_after_start",
            LifecycleError::PreEmptAfterStart => "booking_pre_empt_after_start",
            LifecycleError::NotAllowed { .. } => "booking_transition_not_allowed",
            LifecycleError::RefundRuleInvalid => "refund_rule_invalid",
        }
    }
}

/// Where a booking stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingState {
    /// 仮予約: holds the unit until `pay_by` (included) for `fee`.
    Provisional { pay_by: OffsetDateTime, fee: Yen },
    /// 本予約: paid (`paid` is ¥0 for a fully exempted booking).
    Confirmed { paid: Yen },
    /// Used: checked in on the day.
    CheckedIn { paid: Yen },
    /// Not used, not cancelled (counts against the holder; no refund).
    NoShow { paid: Yen },
    /// Not paid by the deadline; the unit is free again.
    Expired,
    /// Cancelled by the holder; `refund` of what was paid comes back.
    Cancelled { refund: Yen },
    /// Taken by the city (行政使用); all that was paid comes back.
    PreEmpted { refund: Yen },
}

/// What happens to a booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingEvent {
    /// The payment of `amount` succeeded at `at`.
    Paid { at: OffsetDateTime, amount: Yen },
    /// The payment deadline job, at `at`.
    DeadlinePassed { at: OffsetDateTime },
    /// The holder cancels at `at`.
    CancelledByHolder { at: OffsetDateTime },
    /// The city takes the slot at `at` (staff give the reason; the use case audits it).
    PreEmpted { at: OffsetDateTime },
    /// Staff check the holder in at `at`.
    CheckedIn { at: OffsetDateTime },
    /// Staff mark a no-show at `at`.
    NoShow { at: OffsetDateTime },
}

impl BookingEvent {
    pub fn code(&self) -> &'static str {
        match self {
            BookingEvent::Paid { .. } => "paid",
            BookingEvent::DeadlinePassed { .. } => "expired",
            BookingEvent::CancelledByHolder { .. } => "cancelled",
            BookingEvent::PreEmpted { .. } => "pre_empted",
            BookingEvent::CheckedIn { .. } => "checked_in",
            BookingEvent::NoShow { .. } => "marked_no_show",
        }
    }
}

/// When the booking is used: its Tokyo date and the range of use (not the buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UseTime {
    pub date: Date,
    pub used: Range,
}

/// The outcome of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub state: BookingState,
    /// Money to give back now (¥0 when none).
    pub refund: Yen,
    /// Whether the unit is free again for others.
    pub frees_unit: bool,
    /// Whether the holder is to be told (the city took their slot).
    pub tell_holder: bool,
}

impl Transition {
    fn to(state: BookingState) -> Self {
        Transition {
            state,
            refund: Yen::ZERO,
            frees_unit: !state.holds_unit(),
            tell_holder: false,
        }
    }
}

impl BookingState {
    /// A new booking for `fee`: confirmed at once when the fee is ¥0, otherwise provisional
    /// until `pay_by`.
    pub fn new(fee: Yen, pay_by: OffsetDateTime) -> Self {
        if fee.0 <= 0 {
            BookingState::Confirmed { paid: Yen::ZERO }
        } else {
            BookingState::Provisional { pay_by, fee }
        }
    }

    /// `provisional`, `confirmed`, `checked_in`, `no_show`, `expired`, `cancelled` or
    /// `pre_empted`, as stored.
    pub fn code(&self) -> &'static str {
        match self {
            BookingState::Provisional { .. } => "provisional",
            BookingState::Confirmed { .. } => "confirmed",
            BookingState::CheckedIn { .. } => "checked_in",
            BookingState::NoShow { .. } => "no_show",
            BookingState::Expired => "expired",
            BookingState::Cancelled { .. } => "cancelled",
            BookingState::PreEmpted { .. } => "pre_empted",
        }
    }

    /// Whether the booking keeps its occupied range in the database (the exclusion
    /// constraint counts only these rows).
    pub fn holds_unit(&self) -> bool {
        match self {
            BookingState::Provisional { .. }
            | BookingState::Confirmed { .. }
            | BookingState::CheckedIn { .. }
            | BookingState::NoShow { .. } => true,
            BookingState::Expired
            | BookingState::Cancelled { .. }
            | BookingState::PreEmpted { .. } => false,
        }
    }

    /// The state after `event`, for a booking used at `use_time`, refunded by `refunds`.
    pub fn on(
        self,
        event: BookingEvent,
        use_time: &UseTime,
        refunds: &RefundRule,
    ) -> Result<Transition, LifecycleError> {
        use BookingEvent as E;
        use BookingState as S;
        let started = |at: OffsetDateTime| at >= use_time.used.start();
        let refused = LifecycleError::NotAllowed {
            state: self.code(),
            event: event.code(),
        };
        match (self, event) {
            (S::Provisional { pay_by, fee }, E::Paid { at, amount }) => {
                if at > pay_by {
                    Err(LifecycleError::ConfirmAfterDeadline)
                } else if amount != fee {
                    Err(LifecycleError::PaymentMismatch {
                        fee: fee.0,
                        paid: amount.0,
                    })
                } else {
                    Ok(Transition::to(S::Confirmed { paid: amount }))
                }
            }
            (S::Expired, E::Paid { .. }) => Err(LifecycleError::ConfirmAfterDeadline),
            (S::Provisional { pay_by, .. }, E::DeadlinePassed { at }) => {
                if at > pay_by {
                    Ok(Transition::to(S::Expired))
                } else {
                    Err(LifecycleError::DeadlineNotPassed)
                }
            }
            (S::Provisional { .. }, E::CancelledByHolder { at }) if started(at) => {
                Err(LifecycleError::CancelAfterStart)
            }
            (S::Provisional { .. }, E::CancelledByHolder { .. }) => {
                Ok(Transition::to(S::Cancelled { refund: Yen::ZERO }))
            }
            (S::Confirmed { .. }, E::CancelledByHolder { at }) if started(at) => {
                Err(LifecycleError::CancelAfterStart)
            }
            (S::Confirmed { paid }, E::CancelledByHolder { at }) => {
                let refund = refunds.refund_for(paid, tokyo::to_tokyo(at).date(), use_time.date);
                Ok(Transition {
                    refund,
                    ..Transition::to(S::Cancelled { refund })
                })
            }
            (S::Provisional { .. } | S::Confirmed { .. }, E::PreEmpted { at }) if started(at) => {
                Err(LifecycleError::PreEmptAfterStart)
            }
            (S::Provisional { .. }, E::PreEmpted { .. }) => Ok(Transition {
                tell_holder: true,
                ..Transition::to(S::PreEmpted { refund: Yen::ZERO })
            }),
            (S::Confirmed { paid }, E::PreEmpted { .. }) => Ok(Transition {
                refund: paid,
                tell_holder: true,
                ..Transition::to(S::PreEmpted { refund: paid })
            }),
            (S::Confirmed { paid }, E::CheckedIn { at }) => {
                if tokyo::to_tokyo(at).date() < use_time.date {
                    Err(LifecycleError::CheckInBeforeDay)
                } else if at >= use_time.used.end() {
                    Err(LifecycleError::CheckInAfterEnd)
                } else {
                    Ok(Transition::to(S::CheckedIn { paid }))
                }
            }
            (S::Provisional { .. }, E::CheckedIn { .. }) => Err(LifecycleError::NotPaid),
            (S::Confirmed { paid }, E::NoShow { at }) => {
                if started(at) {
                    Ok(Transition::to(S::NoShow { paid }))
                } else {
                    Err(LifecycleError::NoShowBeforeStart)
                }
            }
            (S::Provisional { .. }, E::NoShow { .. })
            | (S::Confirmed { .. }, E::Paid { .. } | E::DeadlinePassed { .. })
            | (
                S::CheckedIn { .. } | S::NoShow { .. },
                E::Paid { .. }
                | E::DeadlinePassed { .. }
                | E::CancelledByHolder { .. }
                | E::PreEmpted { .. }
                | E::CheckedIn { .. }
                | E::NoShow { .. },
            )
            | (
                S::Expired,
                E::DeadlinePassed { .. }
                | E::CancelledByHolder { .. }
                | E::PreEmpted { .. }
                | E::CheckedIn { .. }
                | E::NoShow { .. },
            )
            | (
                S::Cancelled { .. } | S::PreEmpted { .. },
                E::Paid { .. }
                | E::DeadlinePassed { .. }
                | E::CancelledByHolder { .. }
                | E::PreEmpted { .. }
                | E::CheckedIn { .. }
                | E::NoShow { .. },
            ) => Err(refused),
        }
    }
}
