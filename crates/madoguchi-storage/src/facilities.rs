//! Facilities (施設) and the bookings of their units, as stored.
//!
//! The database itself refuses two bookings that occupy one unit at overlapping times. A
//! booking writes one `facility_occupancy` row per unit it takes (its unit and that unit's
//! parts: `FacilityLayout::occupied_units`) with the range it occupies, buffer included; on
//! PostgreSQL an exclusion constraint (`facility_unit_taken`: same facility, same unit,
//! overlapping range) refuses the second row, on SQLite a trigger of the same name does, inside
//! the booking's `BEGIN IMMEDIATE` transaction. A booking that stops holding its unit (expired,
//! cancelled, taken for city use) deletes its rows in the transaction that changes its state.

use crate::{NewAuditEntry, StorageError, StorageResult};
use async_trait::async_trait;
use madoguchi_domain::{AccountId, ErrorCode, OfficeId, TenantId};
use madoguchi_facilities::{
    FacilityBookingId, FacilityId, FacilityLayout, FeeTable, Range, RefundRule, TimeRules, UnitId,
    UserClass,
};
use time::{Date, OffsetDateTime};

/// A facility with its units, time rules, fee table and refund rule (each stored as the JSON
/// administrators edit, read back through the same checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facility {
    pub id: FacilityId,
    /// Stable key within the city, e.g. `chuo-kominkan` (1 to 40 of a–z, 0–9, `-`, `_`).
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    /// The office whose closing days (休館日) the facility keeps, if any.
    pub office: Option<OfficeId>,
    pub layout: FacilityLayout,
    pub time_rules: TimeRules,
    pub fee_table: FeeTable,
    pub refund_rule: RefundRule,
}

/// Where a stored booking stands (the pure `BookingState` without its amounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FacilityBookingStatus {
    /// 仮予約: holds the unit until its payment deadline.
    Provisional,
    /// 本予約.
    Confirmed,
    CheckedIn,
    NoShow,
    Expired,
    Cancelled,
    PreEmpted,
}

impl FacilityBookingStatus {
    pub const ALL: [FacilityBookingStatus; 7] = [
        FacilityBookingStatus::Provisional,
        FacilityBookingStatus::Confirmed,
        FacilityBookingStatus::CheckedIn,
        FacilityBookingStatus::NoShow,
        FacilityBookingStatus::Expired,
        FacilityBookingStatus::Cancelled,
        FacilityBookingStatus::PreEmpted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FacilityBookingStatus::Provisional => "provisional",
            FacilityBookingStatus::Confirmed => "confirmed",
            FacilityBookingStatus::CheckedIn => "checked_in",
            FacilityBookingStatus::NoShow => "no_show",
            FacilityBookingStatus::Expired => "expired",
            FacilityBookingStatus::Cancelled => "cancelled",
            FacilityBookingStatus::PreEmpted => "pre_empted",
        }
    }

    pub fn parse(raw: &str) -> Option<FacilityBookingStatus> {
        FacilityBookingStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == raw)
    }

    /// Whether a booking in this status keeps its unit (its occupancy rows exist).
    pub fn holds_unit(self) -> bool {
        match self {
            FacilityBookingStatus::Provisional
            | FacilityBookingStatus::Confirmed
            | FacilityBookingStatus::CheckedIn
            | FacilityBookingStatus::NoShow => true,
            FacilityBookingStatus::Expired
            | FacilityBookingStatus::Cancelled
            | FacilityBookingStatus::PreEmpted => false,
        }
    }
}

/// A booking to store: what the use case decided with `madoguchi-facilities`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFacilityBooking {
    pub id: FacilityBookingId,
    pub facility: FacilityId,
    pub unit: UnitId,
    /// The units the booking takes: `FacilityLayout::occupied_units(unit)` (the unit first or
    /// not, each once).
    pub occupied_units: Vec<UnitId>,
    /// The Tokyo date of use.
    pub date: Date,
    /// The use, extension included.
    pub used: Range,
    /// The use and the buffer after it: what no other booking of these units may overlap.
    pub occupied: Range,
    pub holder: Option<AccountId>,
    pub holder_name: String,
    pub class: UserClass,
    pub fee_yen: i64,
    /// `Provisional` (with `pay_by`) or `Confirmed` (nothing to pay).
    pub status: FacilityBookingStatus,
    pub pay_by: Option<OffsetDateTime>,
    pub at: OffsetDateTime,
}

/// A stored booking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacilityBooking {
    pub id: FacilityBookingId,
    pub facility: FacilityId,
    pub unit: UnitId,
    pub date: Date,
    pub used: Range,
    pub occupied: Range,
    pub holder: Option<AccountId>,
    pub holder_name: String,
    pub class: UserClass,
    pub fee_yen: i64,
    pub status: FacilityBookingStatus,
    pub pay_by: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The error a backend answers when its guard refused an overlapping booking.
pub fn unit_taken() -> StorageError {
    StorageError::FacilityRule(ErrorCode::FacilityUnitTaken)
}

/// Whether `error` is the overlap guard's refusal (PostgreSQL's exclusion constraint, or the
/// SQLite trigger's `RAISE` with the same name).
pub fn is_unit_taken(error: &StorageError) -> bool {
    match error {
        StorageError::Constraint { constraint } | StorageError::Other(constraint) => {
            constraint.contains("facility_unit_taken")
        }
        _ => false,
    }
}

#[async_trait]
pub trait FacilityStore: Send + Sync {
    /// Adds the facility, or replaces the one with its id (its name, units and rules);
    /// `facilities_code` when another facility of the city has its code.
    async fn save_facility(
        &self,
        tenant: TenantId,
        facility: &Facility,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<()>;

    /// The city's facility, or `NotFound`.
    async fn facility(&self, tenant: TenantId, id: FacilityId) -> StorageResult<Facility>;

    /// The city's facilities by code.
    async fn facilities(&self, tenant: TenantId) -> StorageResult<Vec<Facility>>;

    /// Stores the booking and the units it occupies in one transaction, or refuses it with
    /// `FacilityRule(FacilityUnitTaken)` when one of those units is already occupied at an
    /// overlapping time; nothing is written then.
    async fn book_facility(
        &self,
        tenant: TenantId,
        new: &NewFacilityBooking,
        audit: &NewAuditEntry,
    ) -> StorageResult<FacilityBooking>;

    /// The city's booking, or `NotFound`.
    async fn facility_booking(
        &self,
        tenant: TenantId,
        id: FacilityBookingId,
    ) -> StorageResult<FacilityBooking>;

    /// The facility's bookings that hold a unit at some time in `window`, by start.
    async fn facility_bookings(
        &self,
        tenant: TenantId,
        facility: FacilityId,
        window: Range,
    ) -> StorageResult<Vec<FacilityBooking>>;

    /// Moves a booking that holds its unit to `to` (expired, cancelled or taken for city use)
    /// and frees the unit, in one transaction; `FacilityRule(FacilityBookingNotHolding)` when
    /// it no longer holds it (nothing is written), `Other` for a `to` that still holds.
    async fn release_facility_booking(
        &self,
        tenant: TenantId,
        id: FacilityBookingId,
        to: FacilityBookingStatus,
        at: OffsetDateTime,
        audit: &NewAuditEntry,
    ) -> StorageResult<FacilityBooking>;
}

/// A facility's rules as the JSON both backends store: layout, time rules, fee table and
/// refund rule, in that order.
pub fn facility_rules_json(facility: &Facility) -> StorageResult<[String; 4]> {
    let json = |value: serde_json::Result<String>| {
        value.map_err(|e| StorageError::Other(format!("facility rules do not encode: {e}")))
    };
    Ok([
        json(serde_json::to_string(&facility.layout))?,
        json(serde_json::to_string(&facility.time_rules))?,
        json(serde_json::to_string(&facility.fee_table))?,
        json(serde_json::to_string(&facility.refund_rule))?,
    ])
}

/// The stored columns of a facility, read back through the rules' own checks.
pub struct FacilityColumns {
    pub id: uuid::Uuid,
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    pub office: Option<uuid::Uuid>,
    pub layout: String,
    pub time_rules: String,
    pub fee_table: String,
    pub refund_rule: String,
}

impl FacilityColumns {
    pub fn decode(self) -> StorageResult<Facility> {
        fn rules<T: serde::de::DeserializeOwned>(raw: &str, what: &str) -> StorageResult<T> {
            serde_json::from_str(raw)
                .map_err(|e| StorageError::Other(format!("stored facility {what} invalid: {e}")))
        }
        Ok(Facility {
            id: FacilityId(self.id),
            code: self.code,
            name_ja: self.name_ja,
            name_en: self.name_en,
            office: self.office.map(OfficeId),
            layout: rules(&self.layout, "layout")?,
            time_rules: rules(&self.time_rules, "time rules")?,
            fee_table: rules(&self.fee_table, "fee table")?,
            refund_rule: rules(&self.refund_rule, "refund rule")?,
        })
    }
}

/// A stored booking's range columns read back; a range that is empty is corrupt.
pub fn stored_range(start: OffsetDateTime, end: OffsetDateTime) -> StorageResult<Range> {
    Range::new(start, end)
        .ok_or_else(|| StorageError::Other("stored booking range is empty".into()))
}
