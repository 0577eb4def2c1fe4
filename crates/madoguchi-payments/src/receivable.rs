//! Receivables (調定): an amount a payer owes the city for one revenue category. Its status is
//! never set directly; it follows from what was assessed, what was paid and refunded, and
//! whether it was closed, and each of those changes comes with its ledger posting.

use crate::ledger::{LedgerAccount, LedgerLine, Posting, PostingError, PostingKind};
use crate::{Channel, RevenueCategoryCode};
use madoguchi_domain::ErrorCode;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceivableStatus {
    Open,
    PartlyPaid,
    Paid,
    /// More was paid than assessed; the excess waits in suspense for a refund.
    Overpaid,
    Cancelled,
    /// 不納欠損.
    WrittenOff,
}

impl ReceivableStatus {
    pub const ALL: [ReceivableStatus; 6] = [
        ReceivableStatus::Open,
        ReceivableStatus::PartlyPaid,
        ReceivableStatus::Paid,
        ReceivableStatus::Overpaid,
        ReceivableStatus::Cancelled,
        ReceivableStatus::WrittenOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReceivableStatus::Open => "open",
            ReceivableStatus::PartlyPaid => "partly_paid",
            ReceivableStatus::Paid => "paid",
            ReceivableStatus::Overpaid => "overpaid",
            ReceivableStatus::Cancelled => "cancelled",
            ReceivableStatus::WrittenOff => "written_off",
        }
    }

    pub fn parse(raw: &str) -> Option<ReceivableStatus> {
        ReceivableStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// How a receivable was closed without being paid in full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    Cancelled,
    WrittenOff,
}

/// The amounts of one receivable, from which its status follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivableState {
    pub category: RevenueCategoryCode,
    /// What is assessed now (reduced when a collected amount is refunded).
    pub assessed_yen: i64,
    /// Received, net of refunds.
    pub paid_yen: i64,
    pub closure: Option<Closure>,
}

/// A change to a receivable with what it posts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivableChange {
    pub next: ReceivableState,
    pub posting: Posting,
}

fn posting_error(_: PostingError) -> ErrorCode {
    ErrorCode::AmountOverLimit
}

impl ReceivableState {
    pub fn status(&self) -> ReceivableStatus {
        match self.closure {
            Some(Closure::Cancelled) => ReceivableStatus::Cancelled,
            Some(Closure::WrittenOff) => ReceivableStatus::WrittenOff,
            None if self.paid_yen > self.assessed_yen => ReceivableStatus::Overpaid,
            None if self.paid_yen == 0 => ReceivableStatus::Open,
            None if self.paid_yen < self.assessed_yen => ReceivableStatus::PartlyPaid,
            None => ReceivableStatus::Paid,
        }
    }

    /// What is still owed (zero when closed, paid or overpaid).
    pub fn outstanding_yen(&self) -> i64 {
        if self.closure.is_some() {
            0
        } else {
            (self.assessed_yen - self.paid_yen).max(0)
        }
    }

    /// 調定: a new receivable and its posting (receivable debited, revenue credited).
    pub fn issue(
        category: RevenueCategoryCode,
        amount: crate::PaymentAmount,
    ) -> Result<ReceivableChange, ErrorCode> {
        let posting = Posting::transfer(
            PostingKind::ReceivableIssued,
            LedgerAccount::Receivable(category.clone()),
            LedgerAccount::Revenue(category.clone()),
            amount.get(),
        )
        .map_err(posting_error)?;
        Ok(ReceivableChange {
            next: ReceivableState {
                category,
                assessed_yen: amount.get(),
                paid_yen: 0,
                closure: None,
            },
            posting,
        })
    }

    /// 収納: a payment of `yen` arrived through `channel`. What the receivable still owed
    /// settles it; anything beyond (an overpayment, or money for a closed receivable) goes to
    /// suspense. Money that arrived is always recorded, so this never refuses a real payment.
    pub fn receive(&self, channel: Channel, yen: i64) -> Result<ReceivableChange, ErrorCode> {
        if yen <= 0 {
            return Err(ErrorCode::AmountNotPositive);
        }
        let applied = yen.min(self.outstanding_yen());
        let excess = yen - applied;
        let mut lines = vec![LedgerLine {
            account: LedgerAccount::Clearing(channel),
            amount_yen: yen,
        }];
        if applied > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Receivable(self.category.clone()),
                amount_yen: -applied,
            });
        }
        if excess > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Suspense,
                amount_yen: -excess,
            });
        }
        let posting = Posting::new(PostingKind::PaymentReceived, lines).map_err(posting_error)?;
        let paid_yen = self
            .paid_yen
            .checked_add(yen)
            .ok_or(ErrorCode::AmountOverLimit)?;
        Ok(ReceivableChange {
            next: ReceivableState {
                paid_yen,
                ..self.clone()
            },
            posting,
        })
    }

    /// 収納取消: a payment of `yen` through `channel` turned out never to have happened (a
    /// convenience store's 速報取消: the till cancelled the scan). The inverse of
    /// [`ReceivableState::receive`]: what it settled is owed again and what it put in suspense
    /// comes out, against the clearing account it came through.
    pub fn reverse_payment(
        &self,
        channel: Channel,
        yen: i64,
    ) -> Result<ReceivableChange, ErrorCode> {
        if yen <= 0 {
            return Err(ErrorCode::AmountNotPositive);
        }
        if yen > self.paid_yen {
            return Err(ErrorCode::RefundExceedsPaid);
        }
        let paid_yen = self.paid_yen - yen;
        // What covered the assessment before and after: the difference is owed again.
        let settled_before = self.paid_yen.min(self.assessed_yen);
        let settled_after = paid_yen.min(self.assessed_yen);
        let owed_again = settled_before - settled_after;
        let from_suspense = yen - owed_again;
        let mut lines = Vec::new();
        if owed_again > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Receivable(self.category.clone()),
                amount_yen: owed_again,
            });
        }
        if from_suspense > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Suspense,
                amount_yen: from_suspense,
            });
        }
        lines.push(LedgerLine {
            account: LedgerAccount::Clearing(channel),
            amount_yen: -yen,
        });
        let posting = Posting::new(PostingKind::PaymentReversed, lines).map_err(posting_error)?;
        Ok(ReceivableChange {
            next: ReceivableState {
                paid_yen,
                ..self.clone()
            },
            posting,
        })
    }

    /// 還付決定: `yen` of what was paid will be given back. An overpaid excess comes out of
    /// suspense first; the rest reduces what is assessed (revenue debited), so the receivable
    /// does not become owed again. Refunding everything cancels the receivable.
    pub fn approve_refund(&self, yen: i64) -> Result<ReceivableChange, ErrorCode> {
        if yen <= 0 {
            return Err(ErrorCode::AmountNotPositive);
        }
        if yen > self.paid_yen {
            return Err(ErrorCode::RefundExceedsPaid);
        }
        let excess_held = (self.paid_yen - self.assessed_yen.min(self.paid_yen)).max(0);
        let from_suspense = yen.min(excess_held);
        let from_revenue = yen - from_suspense;
        let mut lines = Vec::new();
        if from_suspense > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Suspense,
                amount_yen: from_suspense,
            });
        }
        if from_revenue > 0 {
            lines.push(LedgerLine {
                account: LedgerAccount::Revenue(self.category.clone()),
                amount_yen: from_revenue,
            });
        }
        lines.push(LedgerLine {
            account: LedgerAccount::RefundsPayable,
            amount_yen: -yen,
        });
        let posting = Posting::new(PostingKind::RefundApproved, lines).map_err(posting_error)?;
        let assessed_yen = self.assessed_yen - from_revenue.min(self.assessed_yen);
        let paid_yen = self.paid_yen - yen;
        let closure = if assessed_yen == 0 && paid_yen == 0 && self.closure.is_none() {
            Some(Closure::Cancelled)
        } else {
            self.closure
        };
        Ok(ReceivableChange {
            next: ReceivableState {
                category: self.category.clone(),
                assessed_yen,
                paid_yen,
                closure,
            },
            posting,
        })
    }

    /// 調定取消: only a receivable nothing was paid on can be cancelled (refund first).
    pub fn cancel(&self) -> Result<ReceivableChange, ErrorCode> {
        self.close(Closure::Cancelled)
    }

    /// 不納欠損: what is still owed is given up.
    pub fn write_off(&self) -> Result<ReceivableChange, ErrorCode> {
        self.close(Closure::WrittenOff)
    }

    fn close(&self, closure: Closure) -> Result<ReceivableChange, ErrorCode> {
        if self.closure.is_some() {
            return Err(ErrorCode::ReceivableClosed);
        }
        let owed = self.outstanding_yen();
        let (kind, debit) = match closure {
            Closure::Cancelled if self.paid_yen > 0 => {
                return Err(ErrorCode::ReceivableHasPayments);
            }
            Closure::Cancelled => (
                PostingKind::ReceivableCancelled,
                LedgerAccount::Revenue(self.category.clone()),
            ),
            Closure::WrittenOff => (PostingKind::ReceivableWrittenOff, LedgerAccount::WriteOffs),
        };
        if owed == 0 {
            return Err(ErrorCode::ReceivableAlreadyPaid);
        }
        let posting = Posting::transfer(
            kind,
            debit,
            LedgerAccount::Receivable(self.category.clone()),
            owed,
        )
        .map_err(posting_error)?;
        Ok(ReceivableChange {
            next: ReceivableState {
                closure: Some(closure),
                ..self.clone()
            },
            posting,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PaymentAmount;
    use std::collections::BTreeMap;

    fn issued(yen: i64) -> ReceivableChange {
        ReceivableState::issue(
            RevenueCategoryCode::parse("checkup_fee").unwrap(),
            PaymentAmount::new(yen).unwrap(),
        )
        .unwrap()
    }

    /// Sums every posting per account, the way a trial balance does.
    fn balances(postings: &[&Posting]) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for p in postings {
            for l in p.lines() {
                *out.entry(l.account.name()).or_insert(0) += l.amount_yen;
            }
        }
        out.retain(|_, v| *v != 0);
        out
    }

    #[test]
    fn a_new_receivable_is_open_and_owes_its_amount() {
        let r = issued(500).next;
        assert_eq!(r.status(), ReceivableStatus::Open);
        assert_eq!(r.outstanding_yen(), 500);
    }

    #[test]
    fn paying_in_part_then_in_full_settles_it_and_clears_the_receivable_account() {
        let i = issued(20_000);
        let a = i.next.receive(Channel::CounterCard, 5_000).unwrap();
        assert_eq!(a.next.status(), ReceivableStatus::PartlyPaid);
        let b = a.next.receive(Channel::Cash, 15_000).unwrap();
        assert_eq!(b.next.status(), ReceivableStatus::Paid);
        let t = balances(&[&i.posting, &a.posting, &b.posting]);
        assert_eq!(t.get("receivable:checkup_fee"), None);
        assert_eq!(t["revenue:checkup_fee"], -20_000);
        assert_eq!(t["clearing:counter_card"], 5_000);
        assert_eq!(t["clearing:cash"], 15_000);
    }

    #[test]
    fn a_reversed_payment_is_owed_again_and_leaves_nothing_in_clearing() {
        let i = issued(3_980);
        let a = i.next.receive(Channel::Konbini, 3_980).unwrap();
        let r = a.next.reverse_payment(Channel::Konbini, 3_980).unwrap();
        assert_eq!(r.next.status(), ReceivableStatus::Open);
        assert_eq!(r.next.outstanding_yen(), 3_980);
        assert_eq!(r.posting.kind(), PostingKind::PaymentReversed);
        let t = balances(&[&i.posting, &a.posting, &r.posting]);
        assert_eq!(t["receivable:checkup_fee"], 3_980);
        assert_eq!(t.get("clearing:konbini"), None);
        assert!(a.next.reverse_payment(Channel::Konbini, 3_981).is_err());
        assert!(a.next.reverse_payment(Channel::Konbini, 0).is_err());
    }

    #[test]
    fn reversing_a_second_payment_takes_it_out_of_suspense_first() {
        let i = issued(500);
        let a = i.next.receive(Channel::Stripe, 500).unwrap();
        let b = a.next.receive(Channel::Konbini, 500).unwrap();
        let r = b.next.reverse_payment(Channel::Konbini, 500).unwrap();
        assert_eq!(r.next.status(), ReceivableStatus::Paid);
        let t = balances(&[&i.posting, &a.posting, &b.posting, &r.posting]);
        assert_eq!(t.get("suspense"), None);
        assert_eq!(t.get("clearing:konbini"), None);
        assert_eq!(t.get("receivable:checkup_fee"), None);
    }

    #[test]
    fn paying_twice_is_an_overpayment_held_in_suspense() {
        let i = issued(500);
        let a = i.next.receive(Channel::Stripe, 500).unwrap();
        let b = a.next.receive(Channel::Konbini, 500).unwrap();
        assert_eq!(b.next.status(), ReceivableStatus::Overpaid);
        let t = balances(&[&i.posting, &a.posting, &b.posting]);
        assert_eq!(t["suspense"], -500);
        // Refunding the excess takes it out of suspense and leaves the fee paid.
        let r = b.next.approve_refund(500).unwrap();
        assert_eq!(r.next.status(), ReceivableStatus::Paid);
        let t = balances(&[&i.posting, &a.posting, &b.posting, &r.posting]);
        assert_eq!(t.get("suspense"), None);
        assert_eq!(t["refunds_payable"], -500);
        assert_eq!(t["revenue:checkup_fee"], -500);
    }

    #[test]
    fn refunding_everything_cancels_it_and_reverses_the_revenue() {
        let i = issued(500);
        let a = i.next.receive(Channel::Stripe, 500).unwrap();
        let r = a.next.approve_refund(500).unwrap();
        assert_eq!(r.next.status(), ReceivableStatus::Cancelled);
        let t = balances(&[&i.posting, &a.posting, &r.posting]);
        assert_eq!(t.get("revenue:checkup_fee"), None);
        assert_eq!(t["refunds_payable"], -500);
        assert_eq!(t["clearing:stripe"], 500);
    }

    #[test]
    fn a_refund_larger_than_what_was_paid_is_refused() {
        let a = issued(500).next.receive(Channel::Stripe, 500).unwrap();
        assert_eq!(
            a.next.approve_refund(501).unwrap_err(),
            ErrorCode::RefundExceedsPaid
        );
        assert_eq!(
            a.next.approve_refund(0).unwrap_err(),
            ErrorCode::AmountNotPositive
        );
    }

    #[test]
    fn money_for_a_cancelled_receivable_goes_to_suspense() {
        let i = issued(500);
        let c = i.next.cancel().unwrap();
        assert_eq!(c.next.status(), ReceivableStatus::Cancelled);
        let late = c.next.receive(Channel::Stripe, 500).unwrap();
        assert_eq!(late.posting.lines()[1].account, LedgerAccount::Suspense);
    }

    #[test]
    fn a_receivable_with_payments_cannot_be_cancelled_but_can_be_written_off() {
        let a = issued(1_000).next.receive(Channel::Cash, 400).unwrap();
        assert_eq!(
            a.next.cancel().unwrap_err(),
            ErrorCode::ReceivableHasPayments
        );
        let w = a.next.write_off().unwrap();
        assert_eq!(w.next.status(), ReceivableStatus::WrittenOff);
        assert_eq!(w.posting.total_yen(), 600);
        assert_eq!(w.next.write_off().unwrap_err(), ErrorCode::ReceivableClosed);
    }
}
