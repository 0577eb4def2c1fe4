//! Booking a seat, by a resident online or by staff for a caller (phone, counter): the rules
//! first, then one storage call that takes the seat, checks the personal limit and writes the
//! confirmation with its reminder, all in one transaction.

use super::admission::{
    admit, bookable, ensure_not_suspended, ensure_open, limit_for, remote_join_for,
};
use super::notices::notices;
use super::{Deps, ReservationStores};
use crate::{Actor, Scope, UseCaseResult, audit};
use madoguchi_booking::{Applicant, ProxyCaller};
use madoguchi_domain::{AccountId, SlotId};
use madoguchi_storage::{
    NewReservation, RemoteJoin, ReservationNoticeEvent, ReservationStatus, ReserveOutcome, Slot,
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
}

/// The fingerprint of what a booking request asks for: the SHA-256 (hex) of a canonical JSON
/// encoding (keys sorted) of the slot, the answers, the join location, the hold flag, the
/// caller's details and who books for whom. A request that reuses an idempotency key with
/// another fingerprint is refused instead of replayed.
pub fn request_fingerprint(request: &BookingRequest) -> String {
    let asked = serde_json::json!({
        "slot": request.slot_id.0,
        "account": request.account_id.map(|a| a.0),
        "booked_by": request.booked_by.map(|a| a.0),
        "answers": request.answers,
        "join": request.remote_join,
        "hold": request.hold,
        "caller": request.caller.as_ref().map(ProxyCaller::to_json),
    });
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

/// Books a seat after checking the window, eligibility and required answers; the personal limit
/// and the capacity are decided by the database in the same transaction as the insert, and so
/// is the confirmation (with its reminder) for a resident with an account.
pub async fn book<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    request: BookingRequest,
) -> UseCaseResult<(ReserveOutcome, Slot)> {
    let target = bookable(r, scope, request.slot_id).await?;
    let now = scope.now();
    admit(&target, &request.applicant, &request.answers, now)?;
    ensure_open(r, scope, &target.slot).await?;
    if let (Some(account), None) = (request.account_id, request.booked_by) {
        ensure_not_suspended(r, scope, account, now).await?;
    }
    let remote_join = remote_join_for(target.service.kind, request.remote_join)?;
    let fingerprint = request_fingerprint(&request);
    // A hold is told when it is confirmed; a caller without an account is not told at all.
    let notices = match (request.account_id, request.hold) {
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
    let new = NewReservation {
        slot_id: target.slot.id,
        account_id: request.account_id,
        idempotency_key: request.idempotency_key,
        hold_until: request
            .hold
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
    let slot = request.slot_id.to_string();
    let audit = match (request.booked_by, request.account_id) {
        (Some(staff), account) => audit::entry(
            &scope.acting_as(Actor::Staff(staff)),
            "reservation.proxy_booked",
            None,
            serde_json::json!({
                "account_matched": account.is_some(),
                "slot": slot,
                "hold": request.hold,
            }),
        ),
        (None, account) => audit::entry(
            &account.map_or_else(|| scope.clone(), |a| scope.acting_as(Actor::Resident(a))),
            "reservation.booked",
            None,
            serde_json::json!({"slot": slot, "hold": request.hold}),
        ),
    };
    let outcome = r
        .store
        .reserve_audited(scope.tenant, &new, now, Some(&audit))
        .await?;
    if let ReserveOutcome::Created(_) = &outcome {
        r.jobs.wake();
    }
    Ok((outcome, target.slot))
}
