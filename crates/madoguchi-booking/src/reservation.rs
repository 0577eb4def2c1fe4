//! What a reservation is, as plain values: the kind of service it is for, its status (a small
//! state machine), where a remote consultation is joined from, and the attendance staff record.
//! Storage keeps them as text; every conversion goes through `as_str` and `parse` here.

use madoguchi_domain::OfficeId;
use serde::{Deserialize, Serialize};

/// What kind of service: it decides the pages and whether a join location is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    Consultation,
    RemoteConsultation,
    Checkup,
    Lecture,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Consultation,
        ServiceKind::RemoteConsultation,
        ServiceKind::Checkup,
        ServiceKind::Lecture,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Consultation => "consultation",
            ServiceKind::RemoteConsultation => "remote_consultation",
            ServiceKind::Checkup => "checkup",
            ServiceKind::Lecture => "lecture",
        }
    }

    pub fn parse(raw: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// Waiting for answers or payment until `hold_expires_at`; the seat is kept.
    Held,
    Confirmed,
    Cancelled,
    /// A hold that ran out.
    Expired,
    Attended,
    NoShow,
}

impl ReservationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Confirmed => "confirmed",
            ReservationStatus::Cancelled => "cancelled",
            ReservationStatus::Expired => "expired",
            ReservationStatus::Attended => "attended",
            ReservationStatus::NoShow => "no_show",
        }
    }

    pub fn parse(raw: &str) -> Option<ReservationStatus> {
        [
            ReservationStatus::Held,
            ReservationStatus::Confirmed,
            ReservationStatus::Cancelled,
            ReservationStatus::Expired,
            ReservationStatus::Attended,
            ReservationStatus::NoShow,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Whether the reservation occupies a seat.
    pub fn holds_a_seat(self) -> bool {
        matches!(self, ReservationStatus::Held | ReservationStatus::Confirmed)
    }
}

/// Where a resident joins a remote consultation from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum RemoteJoin {
    /// Their own device at home.
    Home,
    /// The kiosk at a branch office.
    Kiosk { office_id: OfficeId },
}

/// What staff record at the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Attended,
    NoShow,
}

impl Attendance {
    pub fn status(self) -> ReservationStatus {
        match self {
            Attendance::Attended => ReservationStatus::Attended,
            Attendance::NoShow => ReservationStatus::NoShow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_stored_text() {
        for status in [
            ReservationStatus::Held,
            ReservationStatus::Confirmed,
            ReservationStatus::Cancelled,
            ReservationStatus::Expired,
            ReservationStatus::Attended,
            ReservationStatus::NoShow,
        ] {
            assert_eq!(ReservationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ReservationStatus::parse("booked"), None);
    }

    #[test]
    fn every_service_kind_reads_back_from_its_stored_text() {
        for kind in ServiceKind::ALL {
            assert_eq!(ServiceKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn only_held_and_confirmed_reservations_occupy_a_seat_that_can_be_freed() {
        assert!(ReservationStatus::Held.holds_a_seat());
        assert!(ReservationStatus::Confirmed.holds_a_seat());
        assert!(!ReservationStatus::Cancelled.holds_a_seat());
        assert!(!ReservationStatus::Attended.holds_a_seat());
    }

    #[test]
    fn attendance_marks_become_final_statuses() {
        assert_eq!(Attendance::Attended.status(), ReservationStatus::Attended);
        assert_eq!(Attendance::NoShow.status(), ReservationStatus::NoShow);
    }
}
