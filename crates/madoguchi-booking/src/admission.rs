//! Whether a booking may be made, as plain rules: the booking window, eligibility and the
//! answers; where a remote consultation is joined from; which stretch of time a personal limit
//! counts; the reason staff must give; and when attendance may be marked. The use cases ask
//! these and turn a refusal into an error code; capacity and the personal limit themselves are
//! the database's, decided in the booking's own transaction.

use crate::reservation::{RemoteJoin, ServiceKind};
use crate::service_rules::AnswerError;
use crate::{Applicant, Ineligible, ServiceRules, WindowError};
use madoguchi_domain::ErrorCode;
use madoguchi_domain::tokyo::{JST, start_of_tokyo_day};
use time::OffsetDateTime;

/// Why a booking is refused before the database is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    Window(WindowError),
    Ineligible(Ineligible),
    /// Every answer that is wrong, required ones left out included.
    Answer(AnswerError),
}

/// Whether `applicant` may take a seat of a session starting at `starts_at` now: the booking
/// window first (a retry that straddles the closing instant is told "closed", and the booking
/// its first attempt made is in the resident's list), then eligibility on the session's Tokyo
/// date, then the answers.
pub fn admit(
    rules: &ServiceRules,
    starts_at: OffsetDateTime,
    applicant: &Applicant,
    answers: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), Refused> {
    rules
        .window
        .check(now, starts_at)
        .map_err(Refused::Window)?;
    let session_date = starts_at.to_offset(JST).date();
    rules
        .eligibility
        .check(applicant, session_date)
        .map_err(Refused::Ineligible)?;
    rules.check_answers(answers).map_err(Refused::Answer)
}

/// Where a booking of a service of `kind` is joined from: a remote consultation from home
/// unless a kiosk was chosen; any other service takes no join location (`Err`).
pub fn remote_join_for(
    kind: ServiceKind,
    join: Option<RemoteJoin>,
) -> Result<Option<RemoteJoin>, JoinNotAsked> {
    match (kind, join) {
        (ServiceKind::RemoteConsultation, join) => Ok(Some(join.unwrap_or(RemoteJoin::Home))),
        (_, None) => Ok(None),
        (_, Some(_)) => Err(JoinNotAsked),
    }
}

/// A join location was given for a service that is not a remote consultation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinNotAsked;

/// The bookings a personal limit counts: at most `max` in `[from, until)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitWindow {
    pub max: u32,
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
}

/// The personal limit that applies to a session starting at `starts_at`, if the service has
/// one: the fiscal year, calendar year or rolling days around the session's Tokyo date, from
/// the start of its first Tokyo day to the start of the day after its last.
pub fn limit_window(rules: &ServiceRules, starts_at: OffsetDateTime) -> Option<LimitWindow> {
    let session_date = starts_at.to_offset(JST).date();
    rules.limit.map(|limit| {
        let (first, last) = limit.period_for(session_date);
        LimitWindow {
            max: u32::from(limit.max),
            from: start_of_tokyo_day(first),
            until: start_of_tokyo_day(last.next_day().unwrap_or(last)),
        }
    })
}

/// The longest reason staff give for a cancellation, a change or lifting a suspension: it is
/// shown to the resident and kept on the reservation, so a few sentences, not a document.
pub const REASON_MAX_CHARS: usize = 500;

/// The reason given for a change, trimmed: at most [`REASON_MAX_CHARS`] characters and no
/// control characters; staff must give one, residents may.
pub fn reason_given(raw: Option<&str>, by_staff: bool) -> Result<Option<&str>, ErrorCode> {
    let reason = match raw {
        None => None,
        Some(raw) => madoguchi_domain::text::bounded_text(raw, REASON_MAX_CHARS)?,
    };
    if by_staff && reason.is_none() {
        return Err(ErrorCode::ValidationFailed);
    }
    Ok(reason)
}

/// Attendance is marked on the session's Tokyo day or after it, never ahead of it.
pub fn attendance_may_be_marked(starts_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    starts_at.to_offset(JST).date() <= now.to_offset(JST).date()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn attendance_waits_for_the_sessions_tokyo_day() {
        // 09:00 Tokyo on 1 April is 00:00 UTC; the evening before in Tokyo is still 31 March.
        let session = datetime!(2027-04-01 00:00 UTC);
        assert!(!attendance_may_be_marked(
            session,
            datetime!(2027-03-31 14:59 UTC)
        ));
        assert!(attendance_may_be_marked(
            session,
            datetime!(2027-03-31 15:00 UTC)
        ));
        assert!(attendance_may_be_marked(
            session,
            datetime!(2027-04-08 00:00 UTC)
        ));
    }

    #[test]
    fn staff_must_give_a_reason_and_residents_may() {
        assert_eq!(reason_given(None, true), Err(ErrorCode::ValidationFailed));
        assert_eq!(
            reason_given(Some("   "), true),
            Err(ErrorCode::ValidationFailed)
        );
        assert_eq!(reason_given(Some(" 体調不良 "), true), Ok(Some("体調不良")));
        assert_eq!(reason_given(None, false), Ok(None));
        assert_eq!(
            reason_given(Some(&"長".repeat(REASON_MAX_CHARS + 1)), false),
            Err(ErrorCode::TextTooLong)
        );
    }

    #[test]
    fn only_a_remote_consultation_is_joined_from_somewhere() {
        assert_eq!(
            remote_join_for(ServiceKind::RemoteConsultation, None),
            Ok(Some(RemoteJoin::Home))
        );
        assert_eq!(remote_join_for(ServiceKind::Checkup, None), Ok(None));
        assert_eq!(
            remote_join_for(ServiceKind::Checkup, Some(RemoteJoin::Home)),
            Err(JoinNotAsked)
        );
    }
}
