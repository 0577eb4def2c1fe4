//! What one line of an agency's payment data does, decided from what is stored about its slip
//! and its payment: the pure rule the import applies under the receivable's lock.
//!
//! Money a store took is always recorded: a barcode we never issued, an amount that differs
//! from the slip's, or a second payment of one slip is posted (to suspense where no receivable
//! owes it) and flagged as a reconciliation exception, never refused, so the import does not
//! stop and the clearing account matches what the agency will remit.

use crate::dsk::RecordKind;

/// A reconciliation exception a line raises, for finance to resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exception {
    /// A barcode this city never issued (or of another city).
    UnknownBarcode,
    /// Paid an amount other than the slip's.
    AmountMismatch,
    /// The slip, or its receivable, was already paid: a refund candidate.
    DuplicatePayment,
    /// A 速報取消 of a payment we have no 速報 for.
    CancelWithoutSokuho,
    /// A 確報 of a payment whose 速報 was cancelled.
    KakuhoAfterCancel,
}

impl Exception {
    pub fn code(self) -> &'static str {
        match self {
            Exception::UnknownBarcode => "unknown_barcode",
            Exception::AmountMismatch => "amount_mismatch",
            Exception::DuplicatePayment => "duplicate_payment",
            Exception::CancelWithoutSokuho => "cancel_without_sokuho",
            Exception::KakuhoAfterCancel => "kakuho_after_cancel",
        }
    }

    pub fn parse(code: &str) -> Option<Exception> {
        [
            Exception::UnknownBarcode,
            Exception::AmountMismatch,
            Exception::DuplicatePayment,
            Exception::CancelWithoutSokuho,
            Exception::KakuhoAfterCancel,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}

/// The slip a line's barcode names, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlipSeen {
    pub amount_yen: i64,
    /// What its receivable still owes now.
    pub outstanding_yen: i64,
    /// Whether a payment of this slip was already taken (a live 速報 of another store visit).
    pub already_paid_with_slip: bool,
}

/// The 速報 a 確報 or a 取消 refers to (same barcode, time and store), as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SokuhoSeen {
    pub cancelled: bool,
}

/// What to do with a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Post the money against the slip's receivable (beyond what it owes, to suspense).
    Receive {
        exception: Option<Exception>,
        confirmed: bool,
    },
    /// Post the money to suspense: no receivable of ours owes it.
    Suspense {
        exception: Exception,
        confirmed: bool,
    },
    /// Mark the 速報 confirmed; nothing is posted.
    Confirm,
    /// Take the 速報's posting back.
    Reverse,
    /// Post nothing; keep the line as an exception.
    Flag { exception: Exception },
    /// Post nothing: the money was already taken in by the same payment's other line (a 速報
    /// arriving after its 確報).
    Record,
}

/// Decides what a line of `kind` for `amount_yen` does, given its slip (`None`: a barcode we
/// never issued) and the 速報 of the same payment (`None`: none stored).
pub fn decide(
    kind: RecordKind,
    amount_yen: i64,
    slip: Option<SlipSeen>,
    sokuho: Option<SokuhoSeen>,
) -> Action {
    let receive = |confirmed: bool| match slip {
        None => Action::Suspense {
            exception: Exception::UnknownBarcode,
            confirmed,
        },
        Some(slip) => Action::Receive {
            exception: if slip.already_paid_with_slip
                || slip.outstanding_yen < amount_yen.min(slip.amount_yen)
            {
                Some(Exception::DuplicatePayment)
            } else if amount_yen != slip.amount_yen {
                Some(Exception::AmountMismatch)
            } else {
                None
            },
            confirmed,
        },
    };
    match (kind, sokuho) {
        // A 速報 line is applied once by its identity; a stored line of the same payment that
        // took the money in is its 確報, read first (files out of order): nothing more to post.
        (RecordKind::Sokuho, None) => receive(false),
        (RecordKind::Sokuho, Some(_)) => Action::Record,
        (RecordKind::Kakuho, Some(SokuhoSeen { cancelled: false })) => Action::Confirm,
        (RecordKind::Kakuho, Some(SokuhoSeen { cancelled: true })) => Action::Flag {
            exception: Exception::KakuhoAfterCancel,
        },
        // The 速報 never reached us (a file missed): the 確報 takes the money in.
        (RecordKind::Kakuho, None) => receive(true),
        (RecordKind::SokuhoCancel, Some(SokuhoSeen { cancelled: false })) => Action::Reverse,
        (RecordKind::SokuhoCancel, Some(SokuhoSeen { cancelled: true }) | None) => Action::Flag {
            exception: Exception::CancelWithoutSokuho,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLIP: SlipSeen = SlipSeen {
        amount_yen: 3_980,
        outstanding_yen: 3_980,
        already_paid_with_slip: false,
    };

    #[test]
    fn a_sokuho_of_an_owed_slip_is_received_without_exception() {
        assert_eq!(
            decide(RecordKind::Sokuho, 3_980, Some(SLIP), None),
            Action::Receive {
                exception: None,
                confirmed: false
            }
        );
    }

    #[test]
    fn money_for_a_barcode_we_never_issued_goes_to_suspense() {
        assert_eq!(
            decide(RecordKind::Sokuho, 1_000, None, None),
            Action::Suspense {
                exception: Exception::UnknownBarcode,
                confirmed: false
            }
        );
    }

    #[test]
    fn a_different_amount_or_a_second_payment_is_received_and_flagged() {
        assert_eq!(
            decide(RecordKind::Sokuho, 3_000, Some(SLIP), None),
            Action::Receive {
                exception: Some(Exception::AmountMismatch),
                confirmed: false
            }
        );
        let paid_by_card = SlipSeen {
            outstanding_yen: 0,
            ..SLIP
        };
        let second_visit = SlipSeen {
            already_paid_with_slip: true,
            ..SLIP
        };
        for slip in [paid_by_card, second_visit] {
            assert_eq!(
                decide(RecordKind::Sokuho, 3_980, Some(slip), None),
                Action::Receive {
                    exception: Some(Exception::DuplicatePayment),
                    confirmed: false
                }
            );
        }
    }

    #[test]
    fn a_kakuho_confirms_its_sokuho_or_takes_the_money_in_when_it_is_missing() {
        let live = Some(SokuhoSeen { cancelled: false });
        let cancelled = Some(SokuhoSeen { cancelled: true });
        assert_eq!(
            decide(RecordKind::Kakuho, 3_980, Some(SLIP), live),
            Action::Confirm
        );
        assert_eq!(
            decide(RecordKind::Kakuho, 3_980, Some(SLIP), None),
            Action::Receive {
                exception: None,
                confirmed: true
            }
        );
        assert_eq!(
            decide(RecordKind::Kakuho, 3_980, Some(SLIP), cancelled),
            Action::Flag {
                exception: Exception::KakuhoAfterCancel
            }
        );
    }

    #[test]
    fn a_cancel_reverses_its_live_sokuho_and_is_flagged_otherwise() {
        assert_eq!(
            decide(
                RecordKind::SokuhoCancel,
                3_980,
                Some(SLIP),
                Some(SokuhoSeen { cancelled: false })
            ),
            Action::Reverse
        );
        for sokuho in [None, Some(SokuhoSeen { cancelled: true })] {
            assert_eq!(
                decide(RecordKind::SokuhoCancel, 3_980, Some(SLIP), sokuho),
                Action::Flag {
                    exception: Exception::CancelWithoutSokuho
                }
            );
        }
    }

    #[test]
    fn a_sokuho_after_its_kakuho_posts_nothing_more() {
        assert_eq!(
            decide(
                RecordKind::Sokuho,
                3_980,
                Some(SLIP),
                Some(SokuhoSeen { cancelled: false })
            ),
            Action::Record
        );
    }

    #[test]
    fn exception_codes_round_trip() {
        for e in [
            Exception::UnknownBarcode,
            Exception::AmountMismatch,
            Exception::DuplicatePayment,
            Exception::CancelWithoutSokuho,
            Exception::KakuhoAfterCancel,
        ] {
            assert_eq!(Exception::parse(e.code()), Some(e));
        }
    }
}
