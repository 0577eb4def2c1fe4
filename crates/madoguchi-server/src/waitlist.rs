//! The waiting list as the pages and the API call it; the rules are the use cases in
//! `madoguchi_usecases::reservations::waitlist`.

use crate::http::Ctx;
use crate::http::error::AppResult;
use crate::state::AppState;
use madoguchi_booking::Applicant;
use madoguchi_domain::{AccountId, SlotId};
use madoguchi_storage::{RemoteJoin, WaitlistPlace};
use madoguchi_usecases::Actor;
use madoguchi_usecases::reservations::waitlist as uc;

pub async fn join(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    slot_id: SlotId,
    applicant: &Applicant,
    answers: serde_json::Value,
    join: Option<RemoteJoin>,
) -> AppResult<WaitlistPlace> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(account));
    let r = state.reservations();
    Ok(uc::join(&r, &scope, account, slot_id, applicant, answers, join).await?)
}

pub async fn withdraw(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    entry: uuid::Uuid,
) -> AppResult<()> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(account));
    Ok(uc::withdraw(&state.reservations(), &scope, account, entry).await?)
}

pub async fn promote(state: &AppState, ctx: &Ctx, slot_id: SlotId) -> AppResult<u32> {
    let scope = state.scope(ctx.tenant.id, Actor::System);
    Ok(uc::promote(&state.reservations(), &scope, slot_id).await?)
}

/// The sweep: promotes every slot (all tenants) with a free seat and someone waiting.
pub async fn promote_due(state: &AppState) -> AppResult<u32> {
    Ok(uc::promote_due(&state.reservations(), state.clock.clone()).await?)
}
