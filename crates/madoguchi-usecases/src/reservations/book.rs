//! Booking a seat, by a resident online or by staff for a caller (phone, counter): the rules
//! first, then one storage call that takes the seat, checks the personal limit and writes the
//! confirmation with its reminder, all in one transaction. A service with a fee is settled
//! here too: paid online, the seat is a hold until the payment confirms it; paid at the
//! counter, it is confirmed at once; either way its receivable is assessed before this
//! returns. An exemption books at once with nothing to pay.

use super::admission::{
    admit, bookable, ensure_not_suspended, ensure_open, limit_for, remote_join_for,
};
use super::notices::notices;
use super::{Deps, ReservationStores, fees};
use crate::{Actor, Scope, UseCaseResult, audit};
use madoguchi_booking::{Applicant, FeeChoice, ProxyCaller, Settlement};
use madoguchi_domain::{AccountId, SlotId};
use madoguchi_storage::{
    NewReservation, Receivable, RemoteJoin, ReservationNoticeEvent, ReservationStatus,
    ReserveOutcome, Slot,
};
use sha2::{Digest, Sha256};

/// A request to book one seat.
pub struct BookingRequest {
    pub slot_id: SlotId,
    /// The resident the seat is for; `None` for a caller without an account.
    pub account_id: Option<AccountId>,
    /// The staff member booking on the caller's behalf (phone, counter).
    pub booked_by: Option<AccountId>,
    pub idempotency_key: Option<String>,
    /// Keep the seat as a hold (answers or payment still to come) instead of confirming.
    pub hold: bool,
    pub applicant: Applicant,
    pub answers: serde_json::Value,
    /// Where a remote consultation is joined from; home when not said.
    pub remote_join: Option<RemoteJoin>,
    /// The caller's details, for a staff booking.
    pub caller: Option<ProxyCaller>,
    /// How the fee of a paid service is settled; not given: online for residents, at the
    /// counter for staff. Ignored for a free service.
    pub fee: Option<FeeChoice>,
}

/// What a booking did.
#[derive(Debug)]
pub struct Booked {
    pub outcome: ReserveOutcome,
    pub slot: Slot,
    /// How the fee was settled, for a service with one.
    pub settlement: Option<Settlement>,
    /// The fee's receivable, when one is owed (online or at the counter).
    pub receivable: Option<Receivable>,
}

/// The fingerprint of what a booking request asks for: the SHA-256 (hex) of a canonical JSON
/// encoding (keys sorted) of the slot, the answers, the join location, the hold flag, the
/// caller's details and who books for whom. A request that reuses an idempotency key with
/// another fingerprint is refused instead of replayed.
pub fn request_fingerprint(request: &BookingRequest) -> String {
    let mut asked = serde_json::json!({
        "slot": request.slot_id.0,
        "account": request.account_id.map(|a| a.0),
        "booked_by": request.booked_by.map(|a| a.0),
        "answers": request.answers,
        "join": request.remote_join,
        "hold": request.hold,
        "caller": request.caller.as_ref().map(ProxyCaller::to_json),
    });
    // Only when given, so the fingerprints of requests made before fees existed stay the same.
    if let Some(fee) = &request.fee {
        asked["fee"] = serde_json::to_value(fee).unwrap_or_default();
    }
    let mut canonical = String::new();
    write_canonical(&asked, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys in sorted order at every level, whatever order they arrived in.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Books a seat after checking the window, eligibility, required answers and how the fee (if
/// any) is settled; the personal limit and the capacity are decided by the database in the
/// same transaction as the insert, and so is the confirmation (with its reminder) for a
/// resident with an account. A fee paid online makes the seat a hold for the service's
/// `hold_minutes`; the caller then sends the resident to pay (`fees::start_payment`).
pub async fn book<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    request: BookingRequest,
) -> UseCaseResult<Booked> {
    let target = bookable(r, scope, request.slot_id).await?;
    let now = scope.now();
    admit(&target, &request.applicant, &request.answers, now)?;
    let settlement = fees::settlement_for(&target.service, &target.slot, &request)?;
    if let (Some(fee), Some(settlement)) = (&target.service.rules.fee, &settlement)
        && settlement.is_charged()
    {
        fees::ensure_assessable(r, scope, fee).await?;
    }
    ensure_open(r, scope, &target.slot).await?;
    if let (Some(account), None) = (request.account_id, request.booked_by) {
        ensure_not_suspended(r, scope, account, now).await?;
    }
    let remote_join = remote_join_for(target.service.kind, request.remote_join)?;
    let fingerprint = request_fingerprint(&request);
    // Paying online keeps the seat as a hold until the payment succeeds.
    let hold = request.hold || settlement == Some(Settlement::Online);
    // A hold is told when it is confirmed; a caller without an account is not told at all.
    let notices = match (request.account_id, hold) {
        (Some(_), false) => notices(
            ReservationNoticeEvent::Confirmed,
            ReservationStatus::Confirmed,
            &target.slot,
            now,
        ),
        _ => Vec::new(),
    };
    let mut details = serde_json::json!({ "answers": request.answers });
    if let Some(caller) = &request.caller {
        details["caller"] = caller.to_json();
    }
    if let (Some(fee), Some(settlement)) = (&target.service.rules.fee, &settlement) {
        details["fee"] = fees::fee_details(fee, settlement);
    }
    let new = NewReservation {
        slot_id: target.slot.id,
        account_id: request.account_id,
        idempotency_key: request.idempotency_key,
        hold_until: hold
            .then(|| now + time::Duration::minutes(i64::from(target.service.rules.hold_minutes))),
        details,
        limit: limit_for(&target.service.rules, &target.slot),
        booked_by: request.booked_by,
        remote_join,
        fingerprint: Some(fingerprint),
        notices,
        reference: None,
    };
    // Every booking is audited, whoever made it and however (page, API, hold), in the
    // booking's own transaction; a replayed request booked nothing new and records nothing.
    // An exemption is recorded with its code (the reason), never with the applicant's data.
    let slot = request.slot_id.to_string();
    let mut audit_details = match (request.booked_by, request.account_id) {
        (Some(_), account) => serde_json::json!({
            "account_matched": account.is_some(),
            "slot": slot,
            "hold": hold,
        }),
        (None, _) => serde_json::json!({"slot": slot, "hold": hold}),
    };
    if let Some(settlement) = &settlement {
        audit_details["fee"] = settlement.as_str().into();
        if let Settlement::Exempt {
            exemption,
            staff_check,
        } = settlement
        {
            audit_details["exemption"] = exemption.as_str().into();
            audit_details["staff_check"] = (*staff_check).into();
        }
    }
    let audit = match (request.booked_by, request.account_id) {
        (Some(staff), _) => audit::entry(
            &scope.acting_as(Actor::Staff(staff)),
            "reservation.proxy_booked",
            None,
            audit_details,
        ),
        (None, account) => audit::entry(
            &account.map_or_else(|| scope.clone(), |a| scope.acting_as(Actor::Resident(a))),
            "reservation.booked",
            None,
            audit_details,
        ),
    };
    let outcome = r
        .store
        .reserve_audited(scope.tenant, &new, now, Some(&audit))
        .await?;
    if let ReserveOutcome::Created(_) = &outcome {
        r.jobs.wake();
    }
    // The fee is assessed once per reservation; a replay finds the receivable it assessed (or
    // assesses it now, when the first request stopped between the seat and the receivable).
    let receivable = match &settlement {
        Some(settlement) if settlement.is_charged() => {
            let caller_name = request.caller.as_ref().map(|c| c.name_kanji.as_str());
            Some(
                fees::ensure_receivable(
                    r,
                    scope,
                    outcome.reservation(),
                    &target.service,
                    &target.slot,
                    caller_name,
                )
                .await?,
            )
        }
        _ => None,
    };
    Ok(Booked {
        outcome,
        slot: target.slot,
        settlement,
        receivable,
    })
}
