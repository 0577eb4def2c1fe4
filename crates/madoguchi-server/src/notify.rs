//! Telling residents about their reservations, through the transactional outbox.
//!
//! 1. A use case decides what to tell ([`notices`]) and hands the notices to the storage call
//!    that makes the change, which writes them as one `notify.reservation_event` job each in
//!    the same transaction (ids only, see `madoguchi_storage::outbox`).
//! 2. [`FanOutReservationEvent`] runs that job: it drops a reminder that is no longer due, then
//!    writes one `notify.reservation` delivery job per channel, so a retry never repeats another
//!    channel. Each delivery's dedupe key names the event job and the channel, so a fan-out
//!    that crashed after writing and runs again writes nothing twice.
//! 3. [`DeliverReservationNotice`] renders the message from the current reservation, slot,
//!    service, office, city and account, and sends it. LINE jobs go through the tenant's own
//!    official account ([`crate::line::deliver_notice`]).

use crate::accounts::base_url_for;
use async_trait::async_trait;
use madoguchi_domain::{ReservationId, TenantId};
use madoguchi_jobs::{JobError, JobHandler};
use madoguchi_notify::{
    Bilingual, Channel, FanOut, NOTIFY_RESERVATION, NotifyError, NotifyReservation, Recipient,
    ReservationEvent, ReservationFacts,
};
use madoguchi_storage::{
    Job, NOTICE_ATTEMPTS, NewJob, ReservationEventPayload, ReservationNoticeEvent,
    ReservationStatus, Storage, StorageError, now_utc,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub use madoguchi_usecases::reservations::notices::notices;

/// The payload of a `notify.reservation` delivery job: ids only, rendered when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationDelivery {
    /// The same on every attempt, so LINE shows a retried push once (`X-Line-Retry-Key`).
    pub delivery_id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub reservation_id: ReservationId,
    pub event: ReservationNoticeEvent,
    pub channel: Channel,
}

fn retry(error: StorageError) -> JobError {
    JobError::Retry(error.to_string())
}

/// Runs `notify.reservation_event` jobs: one delivery job per channel the resident has now.
pub struct FanOutReservationEvent {
    pub storage: Arc<dyn Storage>,
}

#[async_trait]
impl JobHandler for FanOutReservationEvent {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let event: ReservationEventPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("payload is not a reservation event: {e}")))?;
        let tenant = event.tenant_id;
        let reservation = match self.storage.reservation(tenant, event.reservation_id).await {
            Ok(reservation) => reservation,
            Err(StorageError::NotFound) => return Ok(()),
            Err(other) => return Err(retry(other)),
        };
        // A reminder whose reservation no longer holds a seat (cancelled, expired) or moved to
        // another slot is dropped instead of sent.
        if let ReservationNoticeEvent::Reminder { slot_id } = event.event
            && !(reservation.status.holds_a_seat() && reservation.slot_id == slot_id)
        {
            return Ok(());
        }
        // A proxy booking of a caller without an account has nobody to tell.
        let Some(account) = reservation.account_id else {
            return Ok(());
        };
        let mut channels = vec![Channel::Email];
        if crate::line::notices_go_by_line(&self.storage, tenant, account).await? {
            channels.push(Channel::Line);
        }
        for channel in channels {
            let delivery = ReservationDelivery {
                delivery_id: uuid::Uuid::new_v4(),
                tenant_id: tenant,
                reservation_id: reservation.id,
                event: event.event,
                channel,
            };
            let payload = serde_json::to_value(delivery)
                .map_err(|e| JobError::Permanent(format!("delivery not written: {e}")))?;
            let new = NewJob {
                tenant_id: Some(tenant),
                kind: NOTIFY_RESERVATION.into(),
                payload,
                run_at: now_utc(),
                max_attempts: NOTICE_ATTEMPTS,
            };
            let key = format!("delivery:{}:{}", job.id.0, channel.as_str());
            self.storage
                .enqueue_job_once(&new, &key)
                .await
                .map_err(retry)?;
        }
        Ok(())
    }
}

/// Delivers `notify.reservation` jobs, rendered from the data as it is when they run.
pub struct DeliverReservationNotice {
    pub notifiers: FanOut,
    pub storage: Arc<dyn Storage>,
    /// The installation's public URL, for the link to the reservation's page.
    pub public_url: String,
}

impl DeliverReservationNotice {
    /// The message for `delivery`, or `None` when there is nothing to tell any more (the
    /// reservation or the account is gone, an offer was already taken or ran out).
    async fn current(
        &self,
        delivery: &ReservationDelivery,
    ) -> Result<Option<NotifyReservation>, JobError> {
        let tenant_id = delivery.tenant_id;
        let storage = &self.storage;
        let reservation = match storage
            .reservation(tenant_id, delivery.reservation_id)
            .await
        {
            Ok(reservation) => reservation,
            Err(StorageError::NotFound) => return Ok(None),
            Err(other) => return Err(retry(other)),
        };
        let Some(account_id) = reservation.account_id else {
            return Ok(None);
        };
        let account = match storage.account(tenant_id, account_id).await {
            Ok(account) => account,
            Err(StorageError::NotFound) => return Ok(None),
            Err(other) => return Err(retry(other)),
        };
        let event = match delivery.event {
            ReservationNoticeEvent::Confirmed => ReservationEvent::Confirmed,
            ReservationNoticeEvent::Changed => ReservationEvent::Changed,
            ReservationNoticeEvent::Cancelled { by_staff } => ReservationEvent::Cancelled {
                by_staff,
                reason: reservation.cancel_reason.clone(),
            },
            ReservationNoticeEvent::WaitlistPromoted => ReservationEvent::WaitlistPromoted,
            ReservationNoticeEvent::WaitlistOffer => {
                match (reservation.status, reservation.hold_expires_at) {
                    (ReservationStatus::Held, Some(respond_by)) => {
                        ReservationEvent::WaitlistOffer { respond_by }
                    }
                    // Taken or run out before it was sent: nothing to offer.
                    _ => return Ok(None),
                }
            }
            ReservationNoticeEvent::Reminder { .. } => ReservationEvent::Reminder,
        };
        let slot = storage
            .slot(tenant_id, reservation.slot_id)
            .await
            .map_err(retry)?;
        let service = storage
            .service(tenant_id, reservation.service_id)
            .await
            .map_err(retry)?;
        let office = storage
            .office(tenant_id, slot.office_id)
            .await
            .map_err(retry)?;
        let tenants = storage.list_tenants().await.map_err(retry)?;
        let Some(tenant) = tenants.into_iter().find(|t| t.id == tenant_id) else {
            return Ok(None);
        };
        let facts = ReservationFacts {
            tenant_id,
            reservation_id: reservation.id,
            service: Bilingual::new(service.name_ja, service.name_en),
            office: Bilingual::new(office.name_ja, office.name_en),
            city: Bilingual::new(tenant.name_ja, tenant.name_en),
            start: slot.starts_at,
            end: slot.ends_at,
            manage_url: format!(
                "{}/my/reservations/{}",
                base_url_for(&self.public_url, tenant.host.as_deref()),
                reservation.id
            ),
            sequence: 0,
        };
        Ok(Some(NotifyReservation {
            delivery_id: delivery.delivery_id,
            // LINE deliveries take the resident's current link when sent.
            recipient: Recipient {
                email: (delivery.channel == Channel::Email)
                    .then(|| account.email.as_str().to_owned()),
                line_user_id: None,
                lang: account.locale,
            },
            event,
            facts,
            channel: Some(delivery.channel),
        }))
    }
}

#[async_trait]
impl JobHandler for DeliverReservationNotice {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let delivery: ReservationDelivery =
            serde_json::from_value(job.payload.clone()).map_err(|e| {
                JobError::Permanent(format!("payload is not a reservation delivery: {e}"))
            })?;
        let Some(notice) = self.current(&delivery).await? else {
            return Ok(());
        };
        // LINE goes through the tenant's own official account, read when the job runs.
        if delivery.channel == Channel::Line {
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
