//! The double-entry ledger's accounts and postings. Every change to what is owed or paid
//! produces one [`Posting`]: lines whose debits and credits balance. The database refuses an
//! unbalanced entry too (see the ledger migration); this type makes one impossible to build.

use crate::{Channel, RevenueCategoryCode};
use serde::{Deserialize, Serialize};

/// An account of the ledger.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LedgerAccount {
    /// 未収金: what payers owe, per revenue category.
    Receivable(RevenueCategoryCode),
    /// 歳入: what the city assessed (調定), per revenue category.
    Revenue(RevenueCategoryCode),
    /// Money on its way from a channel to the bank.
    Clearing(Channel),
    Bank,
    ProviderFees,
    /// Approved refunds not yet paid out.
    RefundsPayable,
    /// 仮受金: money that belongs to no receivable yet (overpayments, late payments).
    Suspense,
    /// 不納欠損: amounts the city gave up collecting.
    WriteOffs,
}

impl LedgerAccount {
    /// The stored name: `receivable:water_charge`, `clearing:stripe`, `suspense`.
    pub fn name(&self) -> String {
        match self {
            LedgerAccount::Receivable(c) => format!("receivable:{c}"),
            LedgerAccount::Revenue(c) => format!("revenue:{c}"),
            LedgerAccount::Clearing(ch) => format!("clearing:{}", ch.as_str()),
            LedgerAccount::Bank => "bank".to_owned(),
            LedgerAccount::ProviderFees => "provider_fees".to_owned(),
            LedgerAccount::RefundsPayable => "refunds_payable".to_owned(),
            LedgerAccount::Suspense => "suspense".to_owned(),
            LedgerAccount::WriteOffs => "write_offs".to_owned(),
        }
    }

    pub fn parse(raw: &str) -> Option<LedgerAccount> {
        match raw {
            "bank" => return Some(LedgerAccount::Bank),
            "provider_fees" => return Some(LedgerAccount::ProviderFees),
            "refunds_payable" => return Some(LedgerAccount::RefundsPayable),
            "suspense" => return Some(LedgerAccount::Suspense),
            "write_offs" => return Some(LedgerAccount::WriteOffs),
            _ => {}
        }
        let (kind, rest) = raw.split_once(':')?;
        match kind {
            "receivable" => RevenueCategoryCode::parse(rest)
                .ok()
                .map(LedgerAccount::Receivable),
            "revenue" => RevenueCategoryCode::parse(rest)
                .ok()
                .map(LedgerAccount::Revenue),
            "clearing" => Channel::parse(rest).map(LedgerAccount::Clearing),
            _ => None,
        }
    }
}

impl TryFrom<String> for LedgerAccount {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        LedgerAccount::parse(&raw).ok_or(raw)
    }
}

impl From<LedgerAccount> for String {
    fn from(a: LedgerAccount) -> String {
        a.name()
    }
}

/// One line: a debit (`amount_yen > 0`) or a credit (`amount_yen < 0`) to one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerLine {
    pub account: LedgerAccount,
    pub amount_yen: i64,
}

/// Why a set of lines is not a posting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error("a posting needs at least one debit and one credit")]
    TooFewLines,
    #[error("a posting line of zero yen")]
    ZeroLine,
    #[error("debits and credits differ")]
    Unbalanced,
    #[error("amount out of range")]
    Overflow,
}

/// What a posting records, stored with the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingKind {
    /// 調定: a receivable was issued.
    ReceivableIssued,
    /// 調定取消: a receivable was cancelled before anything was paid.
    ReceivableCancelled,
    /// 不納欠損: what was left of a receivable was written off.
    ReceivableWrittenOff,
    /// 収納: a payment succeeded.
    PaymentReceived,
    /// 収納取消: a payment that never happened was taken back (a store's 速報取消).
    PaymentReversed,
    /// 還付決定: a refund was approved.
    RefundApproved,
    /// 還付: a refund was paid out.
    RefundPaid,
}

impl PostingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PostingKind::ReceivableIssued => "receivable_issued",
            PostingKind::ReceivableCancelled => "receivable_cancelled",
            PostingKind::ReceivableWrittenOff => "receivable_written_off",
            PostingKind::PaymentReceived => "payment_received",
            PostingKind::PaymentReversed => "payment_reversed",
            PostingKind::RefundApproved => "refund_approved",
            PostingKind::RefundPaid => "refund_paid",
        }
    }

    pub fn parse(raw: &str) -> Option<PostingKind> {
        [
            PostingKind::ReceivableIssued,
            PostingKind::ReceivableCancelled,
            PostingKind::ReceivableWrittenOff,
            PostingKind::PaymentReceived,
            PostingKind::PaymentReversed,
            PostingKind::RefundApproved,
            PostingKind::RefundPaid,
        ]
        .into_iter()
        .find(|k| k.as_str() == raw)
    }
}

/// A balanced set of lines. Only [`Posting::new`] builds one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Posting {
    kind: PostingKind,
    lines: Vec<LedgerLine>,
}

impl Posting {
    pub fn new(kind: PostingKind, lines: Vec<LedgerLine>) -> Result<Posting, PostingError> {
        let debits = lines.iter().filter(|l| l.amount_yen > 0).count();
        let credits = lines.iter().filter(|l| l.amount_yen < 0).count();
        if lines.iter().any(|l| l.amount_yen == 0) {
            return Err(PostingError::ZeroLine);
        }
        if debits == 0 || credits == 0 {
            return Err(PostingError::TooFewLines);
        }
        let sum = lines
            .iter()
            .try_fold(0_i64, |acc, l| acc.checked_add(l.amount_yen))
            .ok_or(PostingError::Overflow)?;
        if sum != 0 {
            return Err(PostingError::Unbalanced);
        }
        Ok(Posting { kind, lines })
    }

    /// The common case: one account debited and one credited with `yen`.
    pub fn transfer(
        kind: PostingKind,
        debit: LedgerAccount,
        credit: LedgerAccount,
        yen: i64,
    ) -> Result<Posting, PostingError> {
        let negative = yen.checked_neg().ok_or(PostingError::Overflow)?;
        Posting::new(
            kind,
            vec![
                LedgerLine {
                    account: debit,
                    amount_yen: yen,
                },
                LedgerLine {
                    account: credit,
                    amount_yen: negative,
                },
            ],
        )
    }

    pub fn kind(&self) -> PostingKind {
        self.kind
    }

    pub fn lines(&self) -> &[LedgerLine] {
        &self.lines
    }

    /// The total debited (equal to the total credited).
    pub fn total_yen(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.amount_yen > 0)
            .map(|l| l.amount_yen)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> RevenueCategoryCode {
        RevenueCategoryCode::parse("certificate_fee").unwrap()
    }

    #[test]
    fn a_transfer_balances() {
        let p = Posting::transfer(
            PostingKind::PaymentReceived,
            LedgerAccount::Clearing(Channel::Stripe),
            LedgerAccount::Receivable(cat()),
            500,
        )
        .unwrap();
        assert_eq!(p.total_yen(), 500);
        assert_eq!(p.lines().iter().map(|l| l.amount_yen).sum::<i64>(), 0);
    }

    #[test]
    fn unbalanced_empty_and_zero_postings_cannot_be_built() {
        let line = |a, y| LedgerLine {
            account: a,
            amount_yen: y,
        };
        assert_eq!(
            Posting::new(
                PostingKind::RefundPaid,
                vec![
                    line(LedgerAccount::Bank, 100),
                    line(LedgerAccount::Suspense, -99)
                ]
            ),
            Err(PostingError::Unbalanced)
        );
        assert_eq!(
            Posting::new(
                PostingKind::RefundPaid,
                vec![line(LedgerAccount::Bank, 100)]
            ),
            Err(PostingError::TooFewLines)
        );
        assert_eq!(
            Posting::new(
                PostingKind::RefundPaid,
                vec![
                    line(LedgerAccount::Bank, 0),
                    line(LedgerAccount::Suspense, 0)
                ]
            ),
            Err(PostingError::ZeroLine)
        );
        assert_eq!(
            Posting::transfer(
                PostingKind::RefundPaid,
                LedgerAccount::Bank,
                LedgerAccount::Suspense,
                i64::MIN
            ),
            Err(PostingError::Overflow)
        );
    }

    #[test]
    fn account_names_survive_a_round_trip() {
        let all = [
            LedgerAccount::Receivable(cat()),
            LedgerAccount::Revenue(cat()),
            LedgerAccount::Clearing(Channel::CounterQr),
            LedgerAccount::Bank,
            LedgerAccount::ProviderFees,
            LedgerAccount::RefundsPayable,
            LedgerAccount::Suspense,
            LedgerAccount::WriteOffs,
        ];
        for a in all {
            assert_eq!(LedgerAccount::parse(&a.name()), Some(a.clone()), "{a:?}");
        }
        assert_eq!(LedgerAccount::parse("clearing:bitcoin"), None);
        assert_eq!(LedgerAccount::parse("receivable:Bad"), None);
    }
}
