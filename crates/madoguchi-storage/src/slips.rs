//! Convenience-store slips (コンビニ収納): a city's settings, the batches slips are issued in,
//! and every slip ever issued, superseded ones included.
//!
//! Architecture invariant: issuing and reissuing run inside the backend's transaction with the
//! city's settings row locked (PostgreSQL `FOR UPDATE`, SQLite `BEGIN IMMEDIATE`): it holds the
//! counter receivable references are drawn from, so two batches never draw the same numbers and
//! two reissues of one slip cannot both pass. Barcodes are built by `madoguchi-konbini` (see
//! [`slip_barcode`]); the database keeps one slip in force per receivable (a partial unique
//! index) and refuses a barcode of the wrong shape. The audit entry is written in the same
//! transaction.

use crate::{NewAuditEntry, StorageError, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{ErrorCode, ReceivableId, TenantId};
use madoguchi_konbini::{CompanyCode, IssueError, Reference, SlipBarcode};
use madoguchi_payments::RevenueCategoryCode;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// The collection agencies whose files we read. DSK first; another agency is another variant
/// and another adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agency {
    Dsk,
}

impl Agency {
    pub fn as_str(self) -> &'static str {
        match self {
            Agency::Dsk => "dsk",
        }
    }

    pub fn parse(raw: &str) -> Option<Agency> {
        match raw {
            "dsk" => Some(Agency::Dsk),
            _ => None,
        }
    }
}

/// A city's convenience-store settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KonbiniSettings {
    /// The company code the barcodes carry: the city's own or its agency's.
    pub company_code: CompanyCode,
    pub agency: Agency,
}

/// A slip as issued. Personal data (the payer's name) is left out of `Debug`.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct IssuedSlip {
    pub id: Uuid,
    pub receivable: ReceivableId,
    /// The receivable's number among the city's slips: the barcode's free field. It stays the
    /// same across reissues.
    pub reference_no: i64,
    pub reissue: u8,
    #[serde(serialize_with = "barcode_digits")]
    pub barcode: SlipBarcode,
    pub amount_yen: i64,
    pub due_on: Date,
    pub batch: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub superseded_at: Option<OffsetDateTime>,
    /// From the receivable, for printing.
    pub category: RevenueCategoryCode,
    pub description: String,
    pub payer_name: String,
}

fn barcode_digits<S: serde::Serializer>(barcode: &SlipBarcode, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(barcode)
}

impl IssuedSlip {
    /// The number residents and clerks quote (納付番号): the reference and the reissue count.
    pub fn slip_number(&self) -> String {
        format!("{:08}-{}", self.reference_no, self.reissue)
    }
}

impl std::fmt::Debug for IssuedSlip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSlip")
            .field("id", &self.id)
            .field("receivable", &self.receivable)
            .field("barcode", &self.barcode.to_string())
            .field("amount_yen", &self.amount_yen)
            .field("due_on", &self.due_on)
            .field("superseded_at", &self.superseded_at)
            .finish_non_exhaustive()
    }
}

/// A billing cycle: a month, `YYYY-MM`. A cycle's receivables are those due in that month.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cycle {
    first_day: Date,
}

impl Cycle {
    /// Parses `YYYY-MM` (years 2000–2099, the barcode's due dates).
    pub fn parse(raw: &str) -> Option<Cycle> {
        let (year, month) = raw.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let year: i32 = year.parse().ok()?;
        let month: u8 = month.parse().ok()?;
        if !(2000..=2099).contains(&year) {
            return None;
        }
        let month = time::Month::try_from(month).ok()?;
        Date::from_calendar_date(year, month, 1)
            .ok()
            .map(|first_day| Cycle { first_day })
    }

    pub fn first_day(self) -> Date {
        self.first_day
    }

    pub fn last_day(self) -> Date {
        let days = self.first_day.month().length(self.first_day.year());
        self.first_day.replace_day(days).unwrap_or(self.first_day)
    }
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}",
            self.first_day.year(),
            u8::from(self.first_day.month())
        )
    }
}

/// A batch to issue: the first slip of every receivable of `category` due in `cycle` that is
/// outstanding and has no slip yet.
#[derive(Clone, Debug)]
pub struct NewSlipBatch {
    pub id: Uuid,
    pub category: RevenueCategoryCode,
    pub cycle: Cycle,
    pub at: OffsetDateTime,
}

/// A batch as issued.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SlipBatch {
    pub id: Uuid,
    pub category: RevenueCategoryCode,
    pub cycle: String,
    pub slips: i64,
    pub total_yen: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A receivable of the cycle that got no slip, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SkippedReceivable {
    pub receivable: ReceivableId,
    pub outstanding_yen: i64,
    pub reason: ErrorCode,
}

/// What a batch issue did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedBatch {
    pub batch: SlipBatch,
    pub slips: Vec<IssuedSlip>,
    /// Receivables of the cycle left without a slip (¥300,000 or more outstanding).
    pub skipped: Vec<SkippedReceivable>,
}

/// A reissue: the receivable's slip in force is superseded by one with the reissue count one
/// higher, `due_on`, and `amount_yen` (the outstanding amount when `None`).
#[derive(Clone, Debug)]
pub struct SlipReissue {
    pub id: Uuid,
    pub receivable: ReceivableId,
    pub due_on: Date,
    pub amount_yen: Option<i64>,
    pub at: OffsetDateTime,
}

/// The barcode of a slip, or the rule it breaks. Backends call it inside the transaction.
pub fn slip_barcode(
    settings: &KonbiniSettings,
    reference_no: i64,
    reissue: u8,
    due_on: Date,
    amount_yen: i64,
) -> StorageResult<SlipBarcode> {
    let amount = u32::try_from(amount_yen)
        .map_err(|_| StorageError::SlipRule(ErrorCode::SlipAmountTooLarge))?;
    let reference = u64::try_from(reference_no)
        .map(Reference::from_number)
        .map_err(|_| StorageError::Other("negative slip reference".into()))?;
    SlipBarcode::issue(settings.company_code, reference, reissue, due_on, amount).map_err(|error| {
        match error {
            IssueError::AmountTooLarge(_) => StorageError::SlipRule(ErrorCode::SlipAmountTooLarge),
            IssueError::ReissueCount => StorageError::SlipRule(ErrorCode::SlipReissueLimit),
            IssueError::AmountZero => StorageError::SlipRule(ErrorCode::SlipNotReissuable),
            IssueError::DueDateOutOfRange => StorageError::SlipRule(ErrorCode::ValidationFailed),
            IssueError::CompanyCode | IssueError::Reference => {
                StorageError::Other(format!("slip barcode: {error}"))
            }
        }
    })
}

/// A slip a batch will issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedSlip {
    pub receivable: ReceivableId,
    pub amount_yen: i64,
    pub due_on: Date,
}

/// What a batch will issue, decided from the cycle's outstanding receivables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchPlan {
    pub slips: Vec<PlannedSlip>,
    pub skipped: Vec<SkippedReceivable>,
    pub total_yen: i64,
}

/// The batch for `candidates` (receivable, outstanding yen, due date), in their order: a slip
/// for the outstanding amount of each, except those of ¥300,000 or more, which no store takes.
pub fn plan_batch(candidates: &[(ReceivableId, i64, Date)]) -> BatchPlan {
    let mut plan = BatchPlan {
        slips: Vec::with_capacity(candidates.len()),
        skipped: Vec::new(),
        total_yen: 0,
    };
    for &(receivable, outstanding_yen, due_on) in candidates {
        if outstanding_yen >= i64::from(madoguchi_konbini::AMOUNT_LIMIT_YEN) {
            plan.skipped.push(SkippedReceivable {
                receivable,
                outstanding_yen,
                reason: ErrorCode::SlipAmountTooLarge,
            });
        } else if outstanding_yen > 0 {
            plan.total_yen += outstanding_yen;
            plan.slips.push(PlannedSlip {
                receivable,
                amount_yen: outstanding_yen,
                due_on,
            });
        }
    }
    plan
}

/// A reissue as decided: its reissue count and amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedReissue {
    pub reissue: u8,
    pub amount_yen: i64,
}

/// Whether `current` (the slip in force) may be reissued as asked, given its receivable:
/// something must be outstanding, the count stays within 9, and the amount is ¥1 up to what is
/// outstanding (the whole outstanding amount when not given).
pub fn plan_reissue(
    current: &IssuedSlip,
    receivable: &crate::Receivable,
    reissue: &SlipReissue,
) -> StorageResult<PlannedReissue> {
    let outstanding = receivable.outstanding_yen();
    if outstanding <= 0 {
        return Err(StorageError::SlipRule(ErrorCode::SlipNotReissuable));
    }
    if current.reissue >= 9 {
        return Err(StorageError::SlipRule(ErrorCode::SlipReissueLimit));
    }
    let amount_yen = reissue.amount_yen.unwrap_or(outstanding);
    if amount_yen < 1 {
        return Err(StorageError::SlipRule(ErrorCode::ValidationFailed));
    }
    if amount_yen > outstanding {
        return Err(StorageError::SlipRule(ErrorCode::PaymentExceedsOutstanding));
    }
    Ok(PlannedReissue {
        reissue: current.reissue + 1,
        amount_yen,
    })
}

#[async_trait]
pub trait SlipStore: Send + Sync {
    async fn konbini_settings(&self, tenant: TenantId) -> StorageResult<Option<KonbiniSettings>>;
    /// Sets the company code and agency (the reference counter is kept), with `audit`.
    async fn save_konbini_settings(
        &self,
        tenant: TenantId,
        settings: &KonbiniSettings,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()>;

    /// Issues the batch atomically: `SlipRule(slips_not_configured)` without settings,
    /// `SlipRule(slip_nothing_to_issue)` when no receivable of the cycle needs a slip (nothing
    /// is written then). Receivables owing ¥300,000 or more are skipped and reported.
    async fn issue_slips(
        &self,
        tenant: TenantId,
        batch: &NewSlipBatch,
        audit: &NewAuditEntry,
    ) -> StorageResult<IssuedBatch>;

    /// Supersedes the receivable's slip in force with a new one. `SlipRule`:
    /// `slip_not_reissuable` (no slip, or nothing outstanding), `slip_reissue_limit`,
    /// `slip_amount_too_large`.
    async fn reissue_slip(
        &self,
        tenant: TenantId,
        reissue: &SlipReissue,
        audit: &NewAuditEntry,
    ) -> StorageResult<IssuedSlip>;

    /// The slip with this barcode, superseded or not.
    async fn slip_by_barcode(&self, tenant: TenantId, barcode: &str) -> StorageResult<IssuedSlip>;
    /// Every slip of the receivable, first issue first.
    async fn slips_of_receivable(
        &self,
        tenant: TenantId,
        receivable: ReceivableId,
    ) -> StorageResult<Vec<IssuedSlip>>;
    /// The slips of a batch in reference order (the order they were printed).
    async fn slips_of_batch(&self, tenant: TenantId, batch: Uuid)
    -> StorageResult<Vec<IssuedSlip>>;
    async fn slip_batch(&self, tenant: TenantId, batch: Uuid) -> StorageResult<SlipBatch>;
    /// The city's batches, newest first.
    async fn slip_batches(&self, tenant: TenantId, limit: i64) -> StorageResult<Vec<SlipBatch>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn a_cycle_is_a_month_of_the_barcodes_century() {
        let cycle = Cycle::parse("2026-12").unwrap();
        assert_eq!(cycle.first_day(), date!(2026 - 12 - 01));
        assert_eq!(cycle.last_day(), date!(2026 - 12 - 31));
        assert_eq!(cycle.to_string(), "2026-12");
        assert_eq!(
            Cycle::parse("2028-02").unwrap().last_day(),
            date!(2028 - 02 - 29)
        );
        for bad in [
            "2026-13", "2026-00", "1999-12", "2100-01", "2026-1", "26-12", "2026/12", "",
        ] {
            assert_eq!(Cycle::parse(bad), None, "{bad}");
        }
    }
}
