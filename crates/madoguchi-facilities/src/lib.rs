//! Facility reservations (施設予約): 公民館 rooms, 体育館 courts, 文化センター halls, booked by
//! band or by the hour, priced by a fee table, and allotted a month ahead by a lottery that
//! anyone can check.
//!
//! - `units`: a facility's bookable units, wholes made of parts (booking one blocks the
//!   other), and its equipment.
//! - `bands`: opening hours, time bands or hourly booking, the buffer, and the exact UTC range
//!   a booking occupies (what the database's exclusion constraint compares).
//! - `classes`: 市内在住 / 在勤 / 在学 and 市外, how far ahead each may book, and registered
//!   groups with their approval and their class.
//! - `fees`: the fee table and the fee of one booking, line by line, with 減免 only when staff
//!   approved it.
//! - `lifecycle`: 仮予約 → paid → 本予約 → used or no-show; expiry, cancellation with its
//!   refund, 行政使用.
//! - `lottery`: the monthly lottery: its period and caps, the draw from a committed seed, the
//!   audit record and its verification, moving runners-up up, and first-come release.
//!
//! Architecture invariant: no I/O, no async; decides, never stores. No clock is read and no
//! random number drawn here: instants, dates and the lottery's seed are arguments.

pub mod bands;
pub mod classes;
pub mod fees;
pub mod ids;
pub mod lifecycle;
pub mod lottery;
pub mod units;
pub mod wall;

pub use bands::{
    Band, BandCode, BookingMode, ClosingDays, Occupancy, OfficeDays, OpeningHours, Range,
    TimeError, TimeRequest, TimeRules, TimeRulesSpec, ranges_overlap,
};
pub use classes::{
    ClassError, ClassRule, ClassRules, GroupEvent, GroupStatus, LotteryEntry, Membership, PerClass,
    PriceClass, RegisteredGroup, UserClass,
};
pub use fees::{
    ApprovedExemption, ExemptionRate, ExemptionRequest, ExemptionStatus, FeeBreakdown, FeeError,
    FeeLine, FeeRequest, FeeTable, FeeTableSpec,
};
pub use ids::{ApplicantId, ApplicationId, FacilityBookingId, FacilityId, GroupId, UnitId};
pub use lifecycle::{BookingEvent, BookingState, LifecycleError, RefundRule, Transition, UseTime};
pub use lottery::{
    Application, AuditRecord, LotteryError, LotteryRules, Mismatch, Promotion, Seed, UnitSlot,
    verify,
};
pub use units::{EquipmentSpec, FacilityLayout, LayoutError, LayoutSpec, UnitSpec};
pub use wall::ClockTime;
