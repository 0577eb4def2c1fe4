//! The waiting list: residents queue for a full slot, and a seat that comes free (a
//! cancellation, a change, an expired hold or offer) goes to the first in line, booked at once
//! or offered as a hold with a response deadline, as the service says.
//!
//! Promotion books through `reserve` with the entry's own idempotency key, so two nodes (or a
//! request and the sweeper) promoting the same entry book one seat, and capacity stays the
//! database's decision. The sweeper in `app::spawn_maintenance` promotes every slot that has a
//! free seat and someone waiting, so a crash between a cancellation and its promotion delays
//! the promotion by at most one sweep.

use crate::booking::{self, Bookable};
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_booking::{Applicant, Handout};
use madoguchi_domain::{AccountId, ErrorCode, Lang, SlotId};
use madoguchi_storage::{
    NewReservation, NewWaitlistEntry, Refusal, RemoteJoin, ReservationNoticeEvent, StorageError,
    WaitlistPlace, WaitlistStatus, now_utc, waitlist_idempotency_key,
};
use std::sync::Arc;

/// Puts a resident on the waiting list of a full slot, after the same checks as booking
/// (window, eligibility, answers, suspension): whoever waits could have booked.
pub async fn join(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    slot_id: SlotId,
    applicant: &Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
) -> AppResult<WaitlistPlace> {
    let target = booking::bookable(state, ctx, slot_id).await?;
    if target.rules.waitlist.is_none() {
        return Err(AppError::new(ErrorCode::WaitlistUnavailable));
    }
    let now = now_utc();
    booking::admit(&target, applicant, &answers, now)?;
    crate::calendar::ensure_open(state, ctx, &target.slot).await?;
    booking::ensure_not_suspended(state, ctx, account, now).await?;
    let join = booking::remote_join_for(target.service.kind, join)?;
    let new = NewWaitlistEntry {
        slot_id,
        account_id: account,
        details: serde_json::json!({ "answers": answers, "join": join }),
    };
    let place = state
        .storage
        .join_waitlist(ctx.tenant.id, &new, now)
        .await?;
    crate::accounts::audit(
        state,
        ctx,
        madoguchi_storage::ActorKind::Resident,
        Some(account),
        "waitlist.joined",
        Some(place.entry.id.to_string()),
        serde_json::json!({"slot": slot_id.to_string()}),
    )
    .await?;
    Ok(place)
}

/// Withdraws the resident's own waiting entry.
pub async fn withdraw(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    entry: uuid::Uuid,
) -> AppResult<()> {
    let found = state.storage.waitlist_entry(ctx.tenant.id, entry).await?;
    if found.account_id != account {
        return Err(AppError::new(ErrorCode::NotFound));
    }
    let withdrawn = state
        .storage
        .settle_waitlist_entry(
            ctx.tenant.id,
            entry,
            WaitlistStatus::Withdrawn,
            None,
            now_utc(),
        )
        .await?;
    if !withdrawn {
        return Err(AppError::new(ErrorCode::ReservationNotActive));
    }
    Ok(())
}

/// Hands free seats of `slot_id` to the people waiting, first in line first, until the seats
/// or the queue run out. Returns how many were given a seat (booked or offered).
pub async fn promote(state: &AppState, ctx: &Ctx, slot_id: SlotId) -> AppResult<u32> {
    let mut handed_out = 0;
    let target = booking::bookable(state, ctx, slot_id).await;
    let Ok(Bookable {
        slot,
        rules,
        service,
    }) = target
    else {
        // A slot of an inactive service keeps its queue; nobody is booked into it.
        return Ok(0);
    };
    let Some(rule) = rules.waitlist else {
        return Ok(0);
    };
    let limit = booking::limit_for(&rules, &slot);
    for entry in state
        .storage
        .waiting_for_slot(ctx.tenant.id, slot_id)
        .await?
    {
        let now = now_utc();
        let Some(handout) = rule.handout(now, slot.starts_at) else {
            break;
        };
        let suspended = state
            .storage
            .suspension_in_force(ctx.tenant.id, entry.account_id, now)
            .await?
            .is_some();
        if suspended {
            skip(state, ctx, entry.id).await?;
            continue;
        }
        // Where a remote consultation is joined from, as chosen when joining the list.
        let join = serde_json::from_value(entry.details["join"].clone()).unwrap_or(None);
        let remote_join = booking::remote_join_for(service.kind, join)?;
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
        };
        match state.storage.reserve(ctx.tenant.id, &new, now).await {
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
                let notices = crate::notify::notices(event, reservation.status, &slot, now);
                // Whoever settles the entry tells the resident, in the settling transaction:
                // exactly once, even when a promotion that booked the seat crashed before
                // settling and this one replayed.
                let settled = state
                    .storage
                    .settle_waitlist_entry_with_notices(
                        ctx.tenant.id,
                        entry.id,
                        status,
                        Some(reservation.id),
                        now,
                        &notices,
                    )
                    .await?;
                if settled {
                    handed_out += 1;
                    state.jobs.wake();
                }
            }
            Err(StorageError::Refused(Refusal::SlotFull)) => break,
            // This person can no longer book it (the limit was reached meanwhile): the next
            // in line gets the seat.
            Err(StorageError::Refused(_)) => skip(state, ctx, entry.id).await?,
            Err(other) => return Err(other.into()),
        }
    }
    Ok(handed_out)
}

/// Passes over an entry whose resident can no longer take the seat.
async fn skip(state: &AppState, ctx: &Ctx, entry: uuid::Uuid) -> AppResult<()> {
    state
        .storage
        .settle_waitlist_entry(
            ctx.tenant.id,
            entry,
            WaitlistStatus::Skipped,
            None,
            now_utc(),
        )
        .await?;
    Ok(())
}

/// The sweep: promotes every slot (all tenants) with a free seat and someone waiting.
pub async fn promote_due(state: &AppState) -> AppResult<u32> {
    let mut handed_out = 0;
    let due = state.storage.slots_to_promote(now_utc(), 200).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let tenants = state.storage.list_tenants().await?;
    for (tenant_id, slot) in due {
        let Some(tenant) = tenants.iter().find(|t| t.id == tenant_id) else {
            continue;
        };
        let ctx = Ctx {
            tenant: Arc::new(tenant.clone()),
            lang: Lang::Ja,
            client_ip: None,
            path: String::new(),
        };
        handed_out += promote(state, &ctx, slot).await?;
    }
    Ok(handed_out)
}
