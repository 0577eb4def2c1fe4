//! Every transition of a booking, allowed and refused.

use super::refund::thirty_and_seven;
use super::*;
use time::macros::{date, datetime};

/// 2026-08-01 13:00–17:00 JST (04:00–08:00 UTC).
fn afternoon() -> UseTime {
    UseTime {
        date: date!(2026 - 08 - 01),
        used: Range::new(
            datetime!(2026-08-01 04:00 UTC),
            datetime!(2026-08-01 08:00 UTC),
        )
        .unwrap(),
    }
}

const PAY_BY: OffsetDateTime = datetime!(2026-07-10 14:59:59 UTC);

fn provisional() -> BookingState {
    BookingState::new(Yen(6_000), PAY_BY)
}

fn confirmed() -> BookingState {
    BookingState::Confirmed { paid: Yen(6_000) }
}

fn on(state: BookingState, event: BookingEvent) -> Result<Transition, LifecycleError> {
    state.on(event, &afternoon(), &thirty_and_seven())
}

#[test]
fn a_provisional_booking_paid_in_time_is_confirmed() {
    let t = on(
        provisional(),
        BookingEvent::Paid {
            at: datetime!(2026-07-09 03:00 UTC),
            amount: Yen(6_000),
        },
    )
    .unwrap();
    assert_eq!(t.state, confirmed());
    assert!(!t.frees_unit);
    assert_eq!(t.refund, Yen(0));
}

#[test]
fn a_payment_after_the_deadline_or_of_another_amount_confirms_nothing() {
    let late = BookingEvent::Paid {
        at: datetime!(2026-07-10 15:00 UTC),
        amount: Yen(6_000),
    };
    assert_eq!(
        on(provisional(), late).unwrap_err().code(),
        "booking_confirm_after_deadline"
    );
    assert_eq!(
        on(BookingState::Expired, late),
        Err(LifecycleError::ConfirmAfterDeadline)
    );
    assert_eq!(
        on(
            provisional(),
            BookingEvent::Paid {
                at: datetime!(2026-07-09 03:00 UTC),
                amount: Yen(5_000)
            }
        ),
        Err(LifecycleError::PaymentMismatch {
            fee: 6_000,
            paid: 5_000
        })
    );
}

#[test]
fn a_fee_of_zero_is_confirmed_at_once() {
    assert_eq!(
        BookingState::new(Yen(0), PAY_BY),
        BookingState::Confirmed { paid: Yen(0) }
    );
}

#[test]
fn an_unpaid_booking_expires_after_its_deadline_and_frees_the_unit() {
    let early = on(provisional(), BookingEvent::DeadlinePassed { at: PAY_BY });
    assert_eq!(early, Err(LifecycleError::DeadlineNotPassed));
    let t = on(
        provisional(),
        BookingEvent::DeadlinePassed {
            at: datetime!(2026-07-10 15:00 UTC),
        },
    )
    .unwrap();
    assert_eq!(t.state, BookingState::Expired);
    assert!(t.frees_unit);
}

#[test]
fn the_holder_cancelling_is_refunded_by_the_days_left() {
    // 2026-07-02 10:00 JST is 30 days before 08-01: all back.
    let early = on(
        confirmed(),
        BookingEvent::CancelledByHolder {
            at: datetime!(2026-07-02 01:00 UTC),
        },
    )
    .unwrap();
    assert_eq!(early.refund, Yen(6_000));
    assert!(early.frees_unit);
    // 2026-07-02 23:30 UTC is already 07-03 in Tokyo: 29 days before, half back.
    let half = on(
        confirmed(),
        BookingEvent::CancelledByHolder {
            at: datetime!(2026-07-02 23:30 UTC),
        },
    )
    .unwrap();
    assert_eq!(half.state, BookingState::Cancelled { refund: Yen(3_000) });
    // The week before: nothing back.
    let late = on(
        confirmed(),
        BookingEvent::CancelledByHolder {
            at: datetime!(2026-07-30 01:00 UTC),
        },
    )
    .unwrap();
    assert_eq!(late.refund, Yen(0));
    assert_eq!(
        on(
            confirmed(),
            BookingEvent::CancelledByHolder {
                at: datetime!(2026-08-01 04:00 UTC)
            }
        )
        .unwrap_err()
        .code(),
        "booking_cancel_after_start"
    );
}

#[test]
fn the_city_taking_the_slot_refunds_everything_and_tells_the_holder() {
    let t = on(
        confirmed(),
        BookingEvent::PreEmpted {
            at: datetime!(2026-07-31 01:00 UTC),
        },
    )
    .unwrap();
    assert_eq!(t.state, BookingState::PreEmpted { refund: Yen(6_000) });
    assert_eq!(t.refund, Yen(6_000));
    assert!(t.tell_holder && t.frees_unit);
}

#[test]
fn check_in_is_for_the_day_of_use_and_a_no_show_once_the_use_started() {
    assert_eq!(
        on(
            confirmed(),
            BookingEvent::CheckedIn {
                at: datetime!(2026-07-31 14:59 UTC)
            }
        ),
        Err(LifecycleError::CheckInBeforeDay)
    );
    // 09:00 JST on the day: early, but the day of use.
    let t = on(
        confirmed(),
        BookingEvent::CheckedIn {
            at: datetime!(2026-08-01 00:00 UTC),
        },
    )
    .unwrap();
    assert_eq!(t.state, BookingState::CheckedIn { paid: Yen(6_000) });
    assert_eq!(
        on(
            confirmed(),
            BookingEvent::CheckedIn {
                at: datetime!(2026-08-01 08:00 UTC)
            }
        ),
        Err(LifecycleError::CheckInAfterEnd)
    );
    assert_eq!(
        on(
            provisional(),
            BookingEvent::CheckedIn {
                at: datetime!(2026-08-01 04:00 UTC)
            }
        ),
        Err(LifecycleError::NotPaid)
    );
    assert_eq!(
        on(
            confirmed(),
            BookingEvent::NoShow {
                at: datetime!(2026-08-01 03:59 UTC)
            }
        ),
        Err(LifecycleError::NoShowBeforeStart)
    );
    let no_show = on(
        confirmed(),
        BookingEvent::NoShow {
            at: datetime!(2026-08-01 04:30 UTC),
        },
    )
    .unwrap();
    assert!(!no_show.frees_unit);
}

#[test]
fn an_ended_booking_accepts_nothing_more() {
    let at = datetime!(2026-07-20 00:00 UTC);
    for state in [
        BookingState::Expired,
        BookingState::Cancelled { refund: Yen(0) },
        BookingState::PreEmpted { refund: Yen(0) },
        BookingState::CheckedIn { paid: Yen(1) },
    ] {
        let got = on(state, BookingEvent::CancelledByHolder { at }).unwrap_err();
        assert_eq!(got.code(), "booking_transition_not_allowed");
    }
    assert_eq!(
        on(
            confirmed(),
            BookingEvent::Paid {
                at,
                amount: Yen(6_000)
            }
        ),
        Err(LifecycleError::NotAllowed {
            state: "confirmed",
            event: "paid"
        })
    );
}
