//! Telling residents about their reservations: the facts of a reservation, one
//! `notify.reservation` job per channel (so a retry never repeats another channel), a reminder
//! scheduled the day before, and the handler that delivers them. LINE jobs are delivered
//! through the tenant's own official account ([`crate::line::deliver_notice`]).

use crate::accounts::tenant_base_url;
use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use async_trait::async_trait;
use madoguchi_jobs::{JobError, JobHandler};
use madoguchi_notify::{
    Bilingual, FanOut, NOTIFY_RESERVATION, NotifyError, NotifyReservation, Recipient,
    ReservationEvent, ReservationFacts,
};
use madoguchi_storage::{Job, NewJob, Reservation, Storage, now_utc};
use std::sync::Arc;

/// Attempts per notice: transient mail or LINE outages are retried with backoff for hours.
const NOTICE_ATTEMPTS: i64 = 8;

/// Queues the notice of `event` for the resident of `reservation` (none for proxy bookings of
/// callers without an account). A confirmation also schedules the reminder for the day before.
pub async fn reservation_event(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    event: ReservationEvent,
) -> AppResult<()> {
    reservation_event_at(state, ctx, reservation, event, None).await
}

/// [`reservation_event`] for a flow that has just read the reservation's slot, so its time and
/// office are not read again. The service and the office names come from the node's caches.
pub async fn reservation_event_at(
    state: &AppState,
    ctx: &Ctx,
    reservation: &Reservation,
    event: ReservationEvent,
    slot: Option<madoguchi_storage::Slot>,
) -> AppResult<()> {
    let Some(account_id) = reservation.account_id else {
        return Ok(());
    };
    let account = state.storage.account(ctx.tenant.id, account_id).await?;
    let slot = match slot.filter(|slot| slot.id == reservation.slot_id) {
        Some(slot) => slot,
        None => {
            state
                .storage
                .slot(ctx.tenant.id, reservation.slot_id)
                .await?
        }
    };
    let service = state.service(ctx.tenant.id, reservation.service_id).await?;
    let office = state.office(ctx.tenant.id, slot.office_id).await?;
    let facts = ReservationFacts {
        tenant_id: ctx.tenant.id,
        reservation_id: reservation.id,
        service: Bilingual::new(service.name_ja.clone(), service.name_en.clone()),
        office: Bilingual::new(office.name_ja.clone(), office.name_en.clone()),
        city: Bilingual::new(ctx.tenant.name_ja.clone(), ctx.tenant.name_en.clone()),
        start: slot.starts_at,
        end: slot.ends_at,
        manage_url: format!(
            "{}/my/reservations/{}",
            tenant_base_url(state, ctx),
            reservation.id
        ),
        sequence: 0,
    };
    let recipient = Recipient {
        email: Some(account.email.as_str().to_owned()),
        // Residents who linked the city's LINE official account get a LINE job as well.
        line_user_id: crate::line::notice_line_user(state, ctx.tenant.id, account.id).await,
        lang: account.locale,
    };
    let now = now_utc();
    let mut jobs: Vec<(ReservationEvent, time::OffsetDateTime)> = vec![(event.clone(), now)];
    let reminder_at = slot.starts_at - time::Duration::days(1);
    // Every event that leaves a confirmed seat schedules the reminder for its (new) time; a
    // reminder for an earlier time finds the reservation moved and is dropped.
    let confirmed_seat = matches!(
        event,
        ReservationEvent::Confirmed
            | ReservationEvent::WaitlistPromoted
            | ReservationEvent::Changed
    ) && reservation.status == madoguchi_storage::ReservationStatus::Confirmed;
    if confirmed_seat && reminder_at > now + time::Duration::hours(1) {
        jobs.push((ReservationEvent::Reminder, reminder_at));
    }
    for (event, run_at) in jobs {
        for job in NotifyReservation::per_channel(&recipient, &event, &facts) {
            let payload = serde_json::to_value(&job).map_err(AppError::internal)?;
            state
                .jobs
                .enqueue(NewJob {
                    tenant_id: Some(ctx.tenant.id),
                    kind: NOTIFY_RESERVATION.into(),
                    payload,
                    run_at,
                    max_attempts: NOTICE_ATTEMPTS,
                })
                .await?;
        }
    }
    Ok(())
}

/// Delivers `notify.reservation` jobs. A reminder whose reservation no longer holds a seat
/// (cancelled, expired) or was moved to another time is dropped instead of sent.
pub struct DeliverReservationNotice {
    pub notifiers: FanOut,
    pub storage: Arc<dyn Storage>,
}

#[async_trait]
impl JobHandler for DeliverReservationNotice {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let notice: NotifyReservation =
            serde_json::from_value(job.payload.clone()).map_err(|e| {
                JobError::Permanent(format!("payload is not a reservation notice: {e}"))
            })?;
        if matches!(notice.event, ReservationEvent::Reminder) {
            let current = self
                .storage
                .reservation(notice.facts.tenant_id, notice.facts.reservation_id)
                .await;
            let tenant = notice.facts.tenant_id;
            let still_due = match current {
                Ok(reservation) if reservation.status.holds_a_seat() => {
                    match self.storage.slot(tenant, reservation.slot_id).await {
                        Ok(slot) => slot.starts_at == notice.facts.start,
                        Err(other) => return Err(JobError::Retry(other.to_string())),
                    }
                }
                Ok(_) | Err(madoguchi_storage::StorageError::NotFound) => false,
                Err(other) => return Err(JobError::Retry(other.to_string())),
            };
            if !still_due {
                return Ok(());
            }
        }
        // LINE goes through the tenant's own official account, read when the job runs.
        if notice.channel == Some(madoguchi_notify::Channel::Line) {
            return crate::line::deliver_notice(&self.storage, &notice).await;
        }
        notice
            .deliver(&self.notifiers, now_utc())
            .await
            .map_err(|e| match e {
                NotifyError::Permanent(detail) => JobError::Permanent(detail),
                NotifyError::Transient(detail) => JobError::Retry(detail),
            })
    }
}
