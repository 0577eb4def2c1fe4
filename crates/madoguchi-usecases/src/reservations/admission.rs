//! Whether a booking may be made: the service's rules (window, eligibility, answers), the
//! city's calendar, a no-show suspension, where a remote consultation is joined from, the
//! personal-limit window, and the fingerprint that tells a retry from a reused key. Capacity and
//! the personal limit themselves are the database's, in `reserve`.

use super::{Deps, ReservationStores};
use crate::{FieldError, Scope, UseCaseError, UseCaseResult};
use madoguchi_booking::admission::{self, Refused};
use madoguchi_booking::{
    AnswerError, AnswerProblem, Applicant, BookingPolicy, Ineligible, ServiceRules, WindowError,
};
use madoguchi_calendar::{ClosedReason, MunicipalCalendar};
use madoguchi_domain::tokyo::JST;
use madoguchi_domain::{AccountId, ErrorCode, SlotId, TenantId};
use madoguchi_storage::{LimitCheck, RemoteJoin, Service, ServiceKind, Slot, SuspensionStore};
use time::OffsetDateTime;

/// The city's booking policy, defaults when it never set one.
pub async fn policy_of<S: SuspensionStore + ?Sized>(
    store: &S,
    tenant: TenantId,
) -> UseCaseResult<BookingPolicy> {
    match store.booking_policy(tenant).await? {
        None => Ok(BookingPolicy::default()),
        Some(json) => serde_json::from_value(json).map_err(UseCaseError::internal),
    }
}

/// A slot with its service (and so its rules), loaded once per flow.
pub struct Bookable {
    pub slot: Slot,
    pub service: Service,
}

/// Loads a slot of an active service with its rules.
pub async fn bookable<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    slot_id: SlotId,
) -> UseCaseResult<Bookable> {
    let slot = r.store.slot(scope.tenant, slot_id).await?;
    // From the node's cache: the seat itself is decided by the database in `reserve`.
    let service = (*r
        .catalogue
        .service(r.store, scope.tenant, slot.service_id)
        .await?)
        .clone();
    if !service.active {
        return Err(UseCaseError::new(ErrorCode::NotFound));
    }
    Ok(Bookable { slot, service })
}

/// Whether `applicant` may take a seat of `target` now (`madoguchi_booking::admission::admit`:
/// the window, eligibility and the answers), with each refusal as its error code.
pub fn admit(
    target: &Bookable,
    applicant: &Applicant,
    answers: &serde_json::Value,
    now: OffsetDateTime,
) -> UseCaseResult<()> {
    let refused = match admission::admit(
        &target.service.rules,
        target.slot.starts_at,
        applicant,
        answers,
        now,
    ) {
        Ok(()) => return Ok(()),
        Err(refused) => refused,
    };
    Err(match refused {
        Refused::Window(WindowError::NotYetOpen { .. }) => {
            UseCaseError::new(ErrorCode::BookingNotOpen)
        }
        Refused::Window(WindowError::Closed { .. }) => UseCaseError::new(ErrorCode::BookingClosed),
        Refused::Ineligible(why) => UseCaseError::new(match why {
            Ineligible::Age { .. } => ErrorCode::IneligibleAge,
            Ineligible::BirthDateMissing => ErrorCode::BirthDateRequired,
            Ineligible::Sex => ErrorCode::IneligibleSex,
            Ineligible::NotResident => ErrorCode::IneligibleNonResident,
        }),
        Refused::Answer(AnswerError::NotAnObject) => {
            UseCaseError::field("answers", ErrorCode::ValidationFailed)
        }
        Refused::Answer(AnswerError::Answers(problems)) => UseCaseError::fields(
            problems
                .into_iter()
                .map(|(id, problem)| {
                    FieldError::new(&format!("answers.{id}"), answer_code(problem))
                })
                .collect(),
        ),
    })
}

/// The error code of one wrong answer, given at its field `answers.<id>`.
pub fn answer_code(problem: AnswerProblem) -> ErrorCode {
    match problem {
        AnswerProblem::UnknownQuestion => ErrorCode::UnknownQuestion,
        AnswerProblem::Required => ErrorCode::AnswerRequired,
        AnswerProblem::NotText => ErrorCode::AnswerNotText,
        AnswerProblem::TooLong => ErrorCode::TextTooLong,
        AnswerProblem::NotYesNo => ErrorCode::AnswerNotYesNo,
        AnswerProblem::UnknownOption => ErrorCode::AnswerUnknownOption,
        AnswerProblem::NotInteger => ErrorCode::AnswerNotInteger,
        AnswerProblem::NotADate => ErrorCode::AnswerNotDate,
        AnswerProblem::OutOfRange => ErrorCode::AnswerOutOfRange,
    }
}

/// Refuses online booking by a resident whose booking is suspended (no-shows). Staff booking
/// for them by phone is not affected: the suspension is of online booking.
pub async fn ensure_not_suspended<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    account: AccountId,
    now: OffsetDateTime,
) -> UseCaseResult<()> {
    match r
        .store
        .suspension_in_force(scope.tenant, account, now)
        .await?
    {
        Some(_) => Err(UseCaseError::new(ErrorCode::BookingSuspended)),
        None => Ok(()),
    }
}

/// Where a booking of a service of `kind` is joined from
/// (`madoguchi_booking::admission::remote_join_for`); a join location for any other service
/// is refused on the `join` field.
pub fn remote_join_for(
    kind: ServiceKind,
    join: Option<RemoteJoin>,
) -> UseCaseResult<Option<RemoteJoin>> {
    admission::remote_join_for(kind, join)
        .map_err(|_| UseCaseError::field("join", ErrorCode::ValidationFailed))
}

/// The personal-limit check the database makes for a booking in `slot`, if the service has a
/// limit (`madoguchi_booking::admission::limit_window`).
pub fn limit_for(rules: &ServiceRules, slot: &Slot) -> Option<LimitCheck> {
    admission::limit_window(rules, slot.starts_at).map(|window| LimitCheck {
        max: i64::from(window.max),
        from: window.from,
        until: window.until,
    })
}

/// Whether a reason closes a day for the slots on it. A weekend does not: the office's usual
/// days off are when no slots are made, so a slot on a Saturday is an opening an administrator
/// made on purpose (a Saturday class at a 公民館, a 休日開庁). A holiday, the year-end closure
/// and the office's own closing days close the day even for slots made before they were set.
fn closes_slots(reason: &ClosedReason) -> bool {
    !matches!(reason, ClosedReason::Weekend { .. })
}

/// Refuses a slot whose Tokyo date is closed for its office (`booking_day_closed`). A year the
/// calendar does not know (after 2099 without an import) cannot be judged and is not refused.
pub async fn ensure_open<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    slot: &Slot,
) -> UseCaseResult<()> {
    let calendar = r.catalogue.calendar(r.store, scope.tenant).await?;
    if slot_is_closed(&calendar, slot) {
        Err(UseCaseError::new(ErrorCode::BookingDayClosed))
    } else {
        Ok(())
    }
}

/// Whether the calendar closes the Tokyo date of `slot` at its office (pages mark such slots
/// instead of offering them).
pub fn slot_is_closed(calendar: &MunicipalCalendar, slot: &Slot) -> bool {
    let date = slot.starts_at.to_offset(JST).date();
    calendar
        .closed_reasons(slot.office_id, date)
        .is_ok_and(|reasons| reasons.iter().any(closes_slots))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_weekend_does_not_close_a_slot_but_a_holiday_does() {
        assert!(!closes_slots(&ClosedReason::Weekend {
            weekday: time::Weekday::Saturday
        }));
        assert!(closes_slots(&ClosedReason::YearEndClosure));
    }
}
