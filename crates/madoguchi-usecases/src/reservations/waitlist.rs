//! The waiting list: residents queue for a full slot, and a seat that comes free (a
//! cancellation, a change, an expired hold or offer) goes to the first in line, booked at once
//! or offered as a hold with a response deadline, as the service says.
//!
//! Promotion books through `reserve` with the entry's own idempotency key, so two nodes (or a
//! request and the sweeper) promoting the same entry book one seat, and capacity stays the
//! database's decision. The sweeper ([`promote_due`]) promotes every slot that has a free seat
//! and someone waiting, so a crash between a cancellation and its promotion delays the
//! promotion by at most one sweep.

use super::admission::{
    Bookable, admit, bookable, ensure_not_suspended, ensure_open, limit_for, remote_join_for,
};
use super::notices::notices;
use super::{Deps, ReservationStores};
use crate::{Actor, Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_booking::{Applicant, Handout};
use madoguchi_domain::{AccountId, Clock, ErrorCode, SlotId};
use madoguchi_storage::{
    NewReservation, NewWaitlistEntry, Refusal, RemoteJoin, ReservationNoticeEvent, StorageError,
    WaitlistPlace, WaitlistStatus, waitlist_idempotency_key,
};
use std::sync::Arc;

/// Puts a resident on the waiting list of a full slot, after the same checks as booking
/// (window, eligibility, answers, suspension): whoever waits could have booked.
pub async fn join<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    account: AccountId,
    slot_id: SlotId,
    applicant: &Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
) -> UseCaseResult<WaitlistPlace> {
    let target = bookable(r, scope, slot_id).await?;
    if target.service.rules.waitlist.is_none() {
        return Err(UseCaseError::new(ErrorCode::WaitlistUnavailable));
    }
    let now = scope.now();
    admit(&target, applicant, &answers, now)?;
    ensure_open(r, scope, &target.slot).await?;
    ensure_not_suspended(r, scope, account, now).await?;
    let join = remote_join_for(target.service.kind, join)?;
    let new = NewWaitlistEntry {
        slot_id,
        account_id: account,
        details: serde_json::json!({ "answers": answers, "join": join }),
    };
    let place = r.store.join_waitlist(scope.tenant, &new, now).await?;
    let details = serde_json::json!({"slot": slot_id.to_string()});
    let target = Some(place.entry.id.to_string());
    let by = scope.acting_as(Actor::Resident(account));
    audit::record(r.store, &by, "waitlist.joined", target, details).await?;
    Ok(place)
}

/// Withdraws the resident's own waiting entry.
pub async fn withdraw<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    account: AccountId,
    entry: uuid::Uuid,
) -> UseCaseResult<()> {
    let found = r.store.waitlist_entry(scope.tenant, entry).await?;
    if found.account_id != account {
        return Err(UseCaseError::new(ErrorCode::NotFound));
    }
    let withdrawn = r
        .store
        .settle_waitlist_entry(
            scope.tenant,
            entry,
            WaitlistStatus::Withdrawn,
            None,
            scope.now(),
        )
        .await?;
    if !withdrawn {
        return Err(UseCaseError::new(ErrorCode::ReservationNotActive));
    }
    let details = serde_json::json!({"slot": found.slot_id.to_string()});
    let by = scope.acting_as(Actor::Resident(account));
    audit::record(
        r.store,
        &by,
        "waitlist.withdrawn",
        Some(entry.to_string()),
        details,
    )
    .await?;
    Ok(())
}

/// Hands free seats of `slot_id` to the people waiting, first in line first, until the seats
/// or the queue run out. Returns how many were given a seat (booked or offered).
pub async fn promote<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    slot_id: SlotId,
) -> UseCaseResult<u32> {
    let mut handed_out = 0;
    let target = bookable(r, scope, slot_id).await;
    let Ok(Bookable { slot, service }) = target else {
        // A slot of an inactive service keeps its queue; nobody is booked into it.
        return Ok(0);
    };
    let Some(rule) = service.rules.waitlist else {
        return Ok(0);
    };
    let limit = limit_for(&service.rules, &slot);
    for entry in r.store.waiting_for_slot(scope.tenant, slot_id).await? {
        let now = scope.now();
        let Some(handout) = rule.handout(now, slot.starts_at) else {
            break;
        };
        let suspended = r
            .store
            .suspension_in_force(scope.tenant, entry.account_id, now)
            .await?
            .is_some();
        if suspended {
            skip(r, scope, entry.id).await?;
            continue;
        }
        // Where a remote consultation is joined from, as chosen when joining the list.
        let join = serde_json::from_value(entry.details["join"].clone()).unwrap_or(None);
        let remote_join = remote_join_for(service.kind, join)?;
        let new = NewReservation {
            slot_id,
            account_id: Some(entry.account_id),
            idempotency_key: Some(waitlist_idempotency_key(entry.id)),
            hold_until: match handout {
                Handout::Confirmed => None,
                Handout::HeldUntil(until) => Some(until),
            },
            details: entry.details.clone(),
            limit,
            booked_by: None,
            remote_join,
            // Keyed by the entry, not by a request; the notice is written when it is settled.
            fingerprint: None,
            notices: Vec::new(),
            reference: None,
        };
        match r.store.reserve(scope.tenant, &new, now).await {
            Ok(outcome) => {
                let reservation = outcome.reservation().clone();
                let status = match handout {
                    Handout::Confirmed => WaitlistStatus::Promoted,
                    Handout::HeldUntil(_) => WaitlistStatus::Offered,
                };
                let event = match handout {
                    Handout::Confirmed => ReservationNoticeEvent::WaitlistPromoted,
                    Handout::HeldUntil(_) => ReservationNoticeEvent::WaitlistOffer,
                };
                let notices = notices(event, reservation.status, &slot, now);
                // Whoever settles the entry tells the resident, in the settling transaction:
                // exactly once, even when a promotion that booked the seat crashed before
                // settling and this one replayed.
                let settled = r
                    .store
                    .settle_waitlist_entry_with_notices(
                        scope.tenant,
                        entry.id,
                        status,
                        Some(reservation.id),
                        now,
                        &notices,
                    )
                    .await?;
                if settled {
                    handed_out += 1;
                    r.jobs.wake();
                    // Booked by the waiting list, on the resident's behalf: the system acts.
                    let action = match handout {
                        Handout::Confirmed => "reservation.waitlist_promoted",
                        Handout::HeldUntil(_) => "reservation.waitlist_offered",
                    };
                    let details = serde_json::json!({
                        "slot": slot_id.to_string(),
                        "entry": entry.id.to_string(),
                        "account": entry.account_id.to_string(),
                    });
                    let target = Some(reservation.id.to_string());
                    let system = scope.acting_as(Actor::System);
                    audit::record(r.store, &system, action, target, details).await?;
                    // A paid service's fee is owed from the waiting list too: paid online from
                    // the reservation's page (an offer is confirmed by paying) or at the
                    // counter. Assessed again on the next payment attempt should this fail.
                    if service.rules.fee.is_some()
                        && let Err(error) = super::fees::ensure_receivable(
                            r,
                            scope,
                            &reservation,
                            &service,
                            &slot,
                            None,
                        )
                        .await
                    {
                        tracing::warn!(reservation = %reservation.id, code = %error.code, "fee not assessed yet");
                    }
                }
            }
            Err(StorageError::Refused(Refusal::SlotFull)) => break,
            // This person can no longer book it (the limit was reached meanwhile): the next
            // in line gets the seat.
            Err(StorageError::Refused(_)) => skip(r, scope, entry.id).await?,
            Err(other) => return Err(other.into()),
        }
    }
    Ok(handed_out)
}

/// Passes over an entry whose resident can no longer take the seat.
async fn skip<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    scope: &Scope,
    entry: uuid::Uuid,
) -> UseCaseResult<()> {
    let skipped = r
        .store
        .settle_waitlist_entry(
            scope.tenant,
            entry,
            WaitlistStatus::Skipped,
            None,
            scope.now(),
        )
        .await?;
    if skipped {
        audit::record(
            r.store,
            &scope.acting_as(Actor::System),
            "waitlist.skipped",
            Some(entry.to_string()),
            serde_json::json!({}),
        )
        .await?;
    }
    Ok(())
}

/// The sweep: promotes every slot (all tenants) with a free seat and someone waiting.
/// `clock` is the sweeper's; each slot is promoted in its own city's scope, acting as the
/// system.
pub async fn promote_due<S: ReservationStores + ?Sized>(
    r: &Deps<'_, S>,
    clock: Arc<dyn Clock>,
) -> UseCaseResult<u32> {
    let mut handed_out = 0;
    let due = r.store.slots_to_promote(clock.now(), 200).await?;
    for (tenant, slot) in due {
        let scope = Scope::new(tenant, Actor::System, clock.clone());
        handed_out += promote(r, &scope, slot).await?;
    }
    Ok(handed_out)
}
