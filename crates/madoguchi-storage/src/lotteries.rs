//! The monthly facility lottery, as stored: a draw opened with its rules, its offered
//! unit-slots and its seed's published commitment; the applications filed while it is open;
//! and, once, the draw's canonical audit record with each application's place and win.
//!
//! Filing and drawing take the draw's lock (PostgreSQL: its row `FOR UPDATE`; SQLite:
//! `BEGIN IMMEDIATE`), so an applicant's cap is counted exactly and the record is stored only
//! when its applications are exactly the stored ones: nothing filed in between is left out of
//! a draw without anyone noticing.

use crate::{NewAuditEntry, StorageError, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_facilities::lottery::Commitment;
use madoguchi_facilities::{Application, AuditRecord, FacilityId, LotteryRules, Seed, UnitSlot};
use time::OffsetDateTime;
use uuid::Uuid;

/// A draw to open. `seed` came from the operating system's random source; only its
/// commitment is shown before the draw.
#[derive(Clone, Debug)]
pub struct NewLottery {
    pub id: Uuid,
    pub facility: FacilityId,
    /// The month of use, `YYYY-MM`.
    pub use_month: String,
    pub rules: LotteryRules,
    pub slots: Vec<UnitSlot>,
    pub seed: Seed,
    pub at: OffsetDateTime,
}

/// A drawn lottery's record: the canonical bytes and their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrawnRecord {
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub at: OffsetDateTime,
}

/// A stored draw (never its seed: that is in the record once drawn).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotteryDraw {
    pub id: Uuid,
    pub facility: FacilityId,
    pub use_month: String,
    pub rules: LotteryRules,
    pub slots: Vec<UnitSlot>,
    pub commitment: Commitment,
    pub opened_at: OffsetDateTime,
    pub drawn: Option<DrawnRecord>,
}

/// A filed application and, after the draw, its place in serving order and its win.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiledApplication {
    pub application: Application,
    pub holder: Option<AccountId>,
    pub filed_at: OffsetDateTime,
    pub served_rank: Option<u32>,
    pub won: Option<UnitSlot>,
}

/// Each application's place and win, from a record (in serving order).
pub fn served_places(record: &AuditRecord) -> Vec<(Uuid, u32, Option<UnitSlot>)> {
    record
        .outcome
        .served
        .iter()
        .enumerate()
        .map(|(rank, served)| {
            (
                served.application.0,
                u32::try_from(rank).unwrap_or(u32::MAX),
                served.won.clone(),
            )
        })
        .collect()
}

/// Whether `record` drew exactly the applications stored (`stored`, any order).
pub fn record_matches(record: &AuditRecord, stored: &[Uuid]) -> bool {
    let mut drawn: Vec<Uuid> = record.applications.iter().map(|a| a.id.0).collect();
    let mut stored = stored.to_vec();
    drawn.sort();
    stored.sort();
    drawn == stored
}

pub fn lottery_rule(code: ErrorCode) -> StorageError {
    StorageError::FacilityRule(code)
}

/// JSON of a stored part of a draw or an application, read back through its checks.
pub fn lottery_json<T: serde::de::DeserializeOwned>(raw: &str, what: &str) -> StorageResult<T> {
    serde_json::from_str(raw)
        .map_err(|e| StorageError::Other(format!("stored lottery {what} invalid: {e}")))
}

pub fn to_json<T: serde::Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value)
        .map_err(|e| StorageError::Other(format!("lottery value does not encode: {e}")))
}

#[async_trait]
pub trait LotteryStore: Send + Sync {
    /// Opens a draw; `lottery_draws_month` (a duplicate) when the facility has one for that
    /// month already, `NotFound` for a facility not of the city.
    async fn open_lottery(
        &self,
        tenant: TenantId,
        new: &NewLottery,
        audit: &NewAuditEntry,
    ) -> StorageResult<LotteryDraw>;

    /// The city's draw, or `NotFound`.
    async fn lottery(&self, tenant: TenantId, id: Uuid) -> StorageResult<LotteryDraw>;

    /// Files an application while the draw is open: `FacilityRule(LotteryDrawn)` after the
    /// draw, `FacilityRule(LotteryOverCap)` when its applicant already filed
    /// `applications_max`; nothing is written then.
    #[allow(clippy::too_many_arguments)]
    async fn file_lottery_application(
        &self,
        tenant: TenantId,
        draw: Uuid,
        application: &Application,
        holder: Option<AccountId>,
        applications_max: u16,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()>;

    /// The draw's applications, by id.
    async fn lottery_applications(
        &self,
        tenant: TenantId,
        draw: Uuid,
    ) -> StorageResult<Vec<FiledApplication>>;

    /// The draw's secret seed, for the draw itself (never shown before it).
    async fn lottery_seed(&self, tenant: TenantId, draw: Uuid) -> StorageResult<Seed>;

    /// Stores the draw's record and each application's place and win, once:
    /// `FacilityRule(LotteryDrawn)` when it was drawn already, `FacilityRule(LotteryInputsChanged)`
    /// when the record's applications are not exactly the stored ones (one was filed since the
    /// inputs were read); nothing is written then.
    async fn record_lottery_draw(
        &self,
        tenant: TenantId,
        draw: Uuid,
        record: &AuditRecord,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<LotteryDraw>;
}
