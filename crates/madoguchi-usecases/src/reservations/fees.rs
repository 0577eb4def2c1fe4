//! A booking's fee (受診料・参加費): how a booking settles it, the receivable (調定) assessed
//! for it once per reservation, paying it online while the hold keeps the seat, confirming
//! the hold when the payment succeeds, and cancelling the receivable of a seat that was
//! given up or ran out unpaid.
//!
//! A resident never pays twice for one reservation: the receivable is unique per reservation
//! (`receivables_source`), the payments storage allows one payment in flight per receivable,
//! and a paid receivable refuses another payment (`receivable_already_paid`).
//!
//! Money that arrives after the seat was released (a late provider answer) never takes the
//! seat back: the receivable shows it paid, the reservation stays expired or cancelled, and
//! `reservation.paid_after_release` is audited for finance, who refund it (refunds are
//! requested by staff; the system cannot request one).

use super::manage::confirm_hold_paid;
use super::{BookingRequest, Deps, ReservationStores};
use crate::payments::Gateways;
use crate::payments::checkout::{self, ReturnUrls};
use crate::payments::receivables::{self, AssessInput};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_booking::{Fee, FeeChoice, FeeRefusal, Settlement};
use madoguchi_domain::{Clock, ErrorCode, PaymentId, ReservationId};
use madoguchi_payments::{Method, PaymentStatus, ReceivableStatus};
use madoguchi_storage::{
    Payment, PaymentFilter, RESERVATION_SOURCE, Receivable, Reservation, ReservationStatus,
    Service, Slot, StorageError,
};
use std::sync::Arc;

/// Why a fee receivable was cancelled by the system (stored with the cancellation).
pub const SEAT_RELEASED_REASON: &str =
    "予約の取消し、またはお支払いの期限（仮予約の期限）切れにより座席が解放されたため";

/// How `request` settles the fee of `service` for a seat in `slot`: `None` for a free
/// service. Residents (and API clients) pay online unless they choose otherwise; staff booking
/// for a caller take it at the counter unless they record an exemption.
pub(crate) fn settlement_for(
    service: &Service,
    slot: &Slot,
    request: &BookingRequest,
) -> UseCaseResult<Option<Settlement>> {
    let Some(fee) = &service.rules.fee else {
        return Ok(None);
    };
    let by_staff = request.booked_by.is_some();
    let choice = request.fee.clone().unwrap_or(if by_staff {
        FeeChoice::Counter
    } else {
        FeeChoice::Online
    });
    if by_staff && choice == FeeChoice::Counter {
        // Staff collect at their own counter whatever residents are offered online.
        return Ok(Some(Settlement::Counter));
    }
    let day = madoguchi_domain::tokyo::to_tokyo(slot.starts_at).date();
    fee.settle(&choice, &request.applicant, day)
        .map(Some)
        .map_err(refusal)
}

fn refusal(refused: FeeRefusal) -> UseCaseError {
    match refused {
        FeeRefusal::CounterNotAllowed | FeeRefusal::UnknownExemption => {
            UseCaseError::field("payment", ErrorCode::PaymentMethodNotOffered)
        }
        FeeRefusal::BirthDateMissing => UseCaseError::new(ErrorCode::BirthDateRequired),
        FeeRefusal::TooYoung { .. } => {
            UseCaseError::field("payment", ErrorCode::ExemptionNotEligible)
        }
    }
}

/// What is stored with the reservation (`details.fee`): the settlement and the amount.
pub(crate) fn fee_details(fee: &Fee, settlement: &Settlement) -> serde_json::Value {
    let mut details = serde_json::to_value(settlement).unwrap_or_default();
    details["amount_yen"] = fee.amount_yen.get().into();
    details
}

/// How the reservation's fee was settled when it was booked (`None`: free, or booked from the
/// waiting list, which pays online or at the counter afterwards).
pub fn settlement_of(reservation: &Reservation) -> Option<Settlement> {
    serde_json::from_value(reservation.details.get("fee")?.clone()).ok()
}

/// The receivable assessed for a reservation's fee, if any.
pub async fn receivable_of<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: ReservationId,
) -> UseCaseResult<Option<Receivable>> {
    match r
        .store
        .receivable_by_source(scope.tenant, RESERVATION_SOURCE, &reservation.to_string())
        .await
    {
        Ok(receivable) => Ok(Some(receivable)),
        Err(StorageError::NotFound) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The reservation's fee receivable, assessed now (by the system, in the slot's office, due
/// on the slot's day) unless it exists. Assessing twice is impossible: the second answers the
/// first (`receivables_source`).
pub async fn ensure_receivable<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
    service: &Service,
    slot: &Slot,
    payer_name: Option<&str>,
) -> UseCaseResult<Receivable> {
    if let Some(found) = receivable_of(r, scope, reservation.id).await? {
        return Ok(found);
    }
    let fee = service
        .rules
        .fee
        .as_ref()
        .ok_or(UseCaseError::new(ErrorCode::NotFound))?;
    let payer_name = match (payer_name, reservation.account_id) {
        (Some(name), _) => name.to_owned(),
        (None, Some(account)) => r
            .store
            .account(scope.tenant, account)
            .await?
            .display_name
            .as_str()
            .to_owned(),
        (None, None) => reservation.details["caller"]["name_kanji"]
            .as_str()
            .unwrap_or("—")
            .to_owned(),
    };
    let day = madoguchi_domain::tokyo::to_tokyo(slot.starts_at).date();
    let description = format!(
        "{} {} 予約番号 {}",
        service.name_ja,
        madoguchi_domain::tokyo::format_tokyo_minutes(slot.starts_at),
        reservation.reference
    );
    let input = AssessInput {
        category: fee.revenue_category.as_str().to_owned(),
        description: description
            .chars()
            .take(receivables::DESCRIPTION_MAX_CHARS)
            .collect(),
        payer_name: payer_name
            .chars()
            .take(receivables::PAYER_NAME_MAX_CHARS)
            .collect(),
        payer_account: reservation.account_id,
        office: Some(slot.office_id),
        amount_yen: fee.amount_yen.get().to_string(),
        due_on: Some(day.max(madoguchi_domain::tokyo::to_tokyo(scope.now()).date())),
        source: Some((RESERVATION_SOURCE.to_owned(), reservation.id.to_string())),
    };
    let system = scope.acting_as(Actor::System);
    match receivables::assess(r.store, &system, None, &input).await {
        Ok(receivable) => Ok(receivable),
        // Assessed meanwhile by another request for the same reservation.
        Err(error) if error.code == ErrorCode::Conflict => {
            receivable_of(r, scope, reservation.id).await?.ok_or(error)
        }
        Err(error) => Err(error),
    }
}

/// Refuses a booking whose fee cannot be assessed (its revenue category is not the city's),
/// before a seat is taken for it.
pub(crate) async fn ensure_assessable<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    fee: &Fee,
) -> UseCaseResult<()> {
    let known = r.store.revenue_categories(scope.tenant).await?;
    if known.iter().any(|c| c.code == fee.revenue_category) {
        Ok(())
    } else {
        Err(UseCaseError {
            internal: Some(format!(
                "the service's revenue category {} is not the city's",
                fee.revenue_category
            )),
            ..UseCaseError::new(ErrorCode::InvalidServiceRules)
        })
    }
}

/// Whether a hold may be confirmed without a payment: a free service, or a fee settled at the
/// counter or exempt; otherwise only once its receivable is paid.
pub(crate) async fn ensure_paid<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
) -> UseCaseResult<()> {
    let service = r
        .store
        .service(scope.tenant, reservation.service_id)
        .await?;
    if service.rules.fee.is_none()
        || matches!(
            settlement_of(reservation),
            Some(Settlement::Counter | Settlement::Exempt { .. })
        )
    {
        return Ok(());
    }
    match receivable_of(r, scope, reservation.id).await? {
        Some(receivable) if is_settled(&receivable) => Ok(()),
        _ => Err(UseCaseError::new(ErrorCode::PaymentRequired)),
    }
}

/// Paid in full and not closed.
fn is_settled(receivable: &Receivable) -> bool {
    matches!(
        receivable.status,
        ReceivableStatus::Paid | ReceivableStatus::Overpaid
    )
}

/// Starts paying a reservation's fee online with `method`, or continues the payment already
/// under way. A hold pays before it expires (`pay_by` is the hold's end, so the provider's
/// page closes with it); a confirmed reservation whose fee is still open (paid at the counter
/// or booked from the waiting list) may pay online instead. Refused once paid.
pub async fn start_payment<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    gateways: &dyn Gateways,
    scope: &Scope,
    reservation: &Reservation,
    method: Method,
    urls: impl Fn(PaymentId) -> ReturnUrls,
) -> UseCaseResult<Payment> {
    let now = scope.now();
    let pay_by = match reservation.status {
        ReservationStatus::Held => match reservation.hold_expires_at {
            Some(until) if until > now => Some(until),
            _ => return Err(UseCaseError::new(ErrorCode::HoldExpired)),
        },
        ReservationStatus::Confirmed => None,
        _ => return Err(UseCaseError::new(ErrorCode::ReservationNotActive)),
    };
    if matches!(settlement_of(reservation), Some(Settlement::Exempt { .. })) {
        return Err(UseCaseError::new(ErrorCode::ReceivableClosed));
    }
    let service = r
        .store
        .service(scope.tenant, reservation.service_id)
        .await?;
    let slot = r.store.slot(scope.tenant, reservation.slot_id).await?;
    let receivable = ensure_receivable(r, scope, reservation, &service, &slot, None).await?;
    if is_settled(&receivable) {
        return Err(UseCaseError::new(ErrorCode::ReceivableAlreadyPaid));
    }
    checkout::start(
        r.store,
        gateways,
        scope,
        receivable.id,
        method,
        urls,
        pay_by,
        None,
    )
    .await
}

/// What a succeeded payment did to the reservation it paid for.
#[derive(Clone, Debug, PartialEq)]
pub enum FeePaid {
    /// Not a reservation's fee (or not succeeded): nothing to do here.
    NotAFee,
    /// The hold was confirmed now.
    Confirmed(Box<Reservation>),
    /// Confirmed before (a repeated report), or never a hold.
    AlreadyConfirmed,
    /// Only part of the fee is paid: the hold waits for the rest, or runs out.
    PartlyPaid,
    /// The seat was released before the money arrived: the seat is not taken back, the
    /// receivable shows the money, finance refunds it.
    PaidAfterRelease,
}

/// Called where a payment's success is applied (a webhook, the recovery job): confirms the
/// hold the payment was for. Idempotent: a second call finds it confirmed. `newly`: this call
/// reports the success for the first time (a redelivery does not audit a late payment again).
pub async fn payment_succeeded<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    payment: PaymentId,
    newly: bool,
) -> UseCaseResult<FeePaid> {
    let payment = r.store.payment(scope.tenant, payment).await?;
    if payment.status != PaymentStatus::Succeeded {
        return Ok(FeePaid::NotAFee);
    }
    let receivable = r.store.receivable(scope.tenant, payment.receivable).await?;
    let reservation_id = match &receivable.source {
        Some((kind, id)) if kind == RESERVATION_SOURCE => match uuid::Uuid::parse_str(id) {
            Ok(id) => ReservationId(id),
            Err(_) => return Ok(FeePaid::NotAFee),
        },
        _ => return Ok(FeePaid::NotAFee),
    };
    let reservation = r.store.reservation(scope.tenant, reservation_id).await?;
    let now = scope.now();
    match reservation.status {
        ReservationStatus::Confirmed | ReservationStatus::Attended | ReservationStatus::NoShow => {
            return Ok(FeePaid::AlreadyConfirmed);
        }
        // A hold is stale at the instant it expires, before the sweep marks it expired.
        ReservationStatus::Held if reservation.hold_expires_at.is_some_and(|t| t > now) => {
            if !is_settled(&receivable) {
                return Ok(FeePaid::PartlyPaid);
            }
            match confirm_hold_paid(r, scope, &reservation).await {
                Ok(confirmed) => return Ok(FeePaid::Confirmed(Box::new(confirmed))),
                // Ran out between the read and the confirmation: released after all.
                Err(error) if error.code == ErrorCode::HoldExpired => {}
                Err(error) => return Err(error),
            }
        }
        ReservationStatus::Held | ReservationStatus::Cancelled | ReservationStatus::Expired => {}
    }
    if newly {
        audit::record(
            r.store,
            &scope.acting_as(Actor::System),
            "reservation.paid_after_release",
            Some(reservation.id.to_string()),
            serde_json::json!({
                "receivable": receivable.id.to_string(),
                "payment": payment.id.to_string(),
                "amount_yen": payment.amount_yen,
            }),
        )
        .await?;
        tracing::warn!(
            reservation = %reservation.id,
            payment = %payment.id,
            "a fee was paid after its seat was released: a refund candidate for finance"
        );
    }
    Ok(FeePaid::PaidAfterRelease)
}

/// Cancels the fee receivable of one reservation that no longer holds a seat, if nothing was
/// paid and no payment is under way (the sweep retries the others). Returns whether it did.
pub async fn release_fee<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    reservation: &Reservation,
) -> UseCaseResult<bool> {
    let Some(receivable) = receivable_of(r, scope, reservation.id).await? else {
        return Ok(false);
    };
    if receivable.status != ReceivableStatus::Open || receivable.paid_yen > 0 {
        return Ok(false);
    }
    let in_flight = r
        .store
        .list_payments(
            scope.tenant,
            &PaymentFilter {
                receivable: Some(receivable.id),
                limit: 20,
                ..PaymentFilter::default()
            },
        )
        .await?
        .iter()
        .any(|p| p.status.is_in_flight());
    if in_flight {
        return Ok(false);
    }
    cancel_receivable(r, scope, &receivable, reservation.id).await
}

async fn cancel_receivable<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    receivable: &Receivable,
    reservation: ReservationId,
) -> UseCaseResult<bool> {
    let system = scope.acting_as(Actor::System);
    let entry = audit::entry(
        &system,
        "receivable.cancelled",
        Some(receivable.id.to_string()),
        serde_json::json!({"reservation": reservation.to_string()}),
    );
    match r
        .store
        .close_receivable(
            scope.tenant,
            receivable.id,
            false,
            SEAT_RELEASED_REASON,
            scope.now(),
            &entry,
        )
        .await
    {
        Ok(_) => Ok(true),
        // Paid or closed meanwhile: nothing to cancel.
        Err(StorageError::PaymentRule(_)) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// The sweep: cancels the receivables of every city's fees whose seat was released (a hold
/// that ran out unpaid, a cancelled reservation) with nothing paid and no payment in flight.
/// Returns how many it cancelled.
pub async fn release_unpaid<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    clock: Arc<dyn Clock>,
    limit: i64,
) -> UseCaseResult<u64> {
    let mut cancelled = 0;
    for released in r.store.released_fees(clock.now(), limit).await? {
        let scope = Scope::new(released.tenant, Actor::System, clock.clone());
        let receivable = r
            .store
            .receivable(released.tenant, released.receivable)
            .await?;
        if cancel_receivable(r, &scope, &receivable, released.reservation).await? {
            cancelled += 1;
        }
    }
    Ok(cancelled)
}
