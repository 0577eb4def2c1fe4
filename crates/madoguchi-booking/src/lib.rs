//! Reservation rules of Madoguchi, with no I/O: when a booking window opens and closes, when a
//! resident may still cancel, who is eligible (age at a reference date, sex, residency), how
//! per-resident limits are counted, which slots a weekly pattern produces, and how a booking's
//! fee is settled (online, at the counter, or exempt).
//!
//! Architecture invariant: this crate decides; it never stores. Capacity is not checked here:
//! the database refuses a booking beyond capacity (see the storage crates), because a check
//! made here could race.

pub mod admission;
pub mod caller;
pub mod eligibility;
pub mod fee;
pub mod pattern;
pub mod policy;
pub mod reservation;
pub mod rules;
pub mod service_rules;
pub mod waitlist;

pub use admission::{JoinNotAsked, LimitWindow, REASON_MAX_CHARS, Refused};
pub use caller::{CallerError, ProxyCaller};
pub use eligibility::{AgeReference, Applicant, Eligibility, Ineligible, Sex, age_on};
pub use fee::{Exemption, ExemptionRule, Fee, FeeChoice, FeeRefusal, Settlement};
pub use pattern::{CAPACITY_MAX, SlotSpec, WeeklyPattern, capacity_is_valid, slots_for_range};
pub use policy::{BookingPolicy, NoShowPolicy, SuspensionDecision};
pub use reservation::{Attendance, RemoteJoin, ReservationStatus, ServiceKind};
pub use rules::{BookingWindow, CancellationRule, LimitPeriod, PersonalLimit, WindowError};
pub use service_rules::{
    AnswerError, AnswerProblem, ChoiceOption, Question, QuestionKind, RulesError, ServiceRules,
    parse_ymd,
};
pub use waitlist::{Handout, WaitlistRule};
