//! The job handlers of the outbox: each reads its payload, builds a system scope for the
//! payload's city and calls the use case; the runner retries what the use case calls
//! transient.

use super::{NoticeDeps, ReservationDelivery, deliver, fan_out, job_error};
use crate::{Actor, Scope};
use async_trait::async_trait;
use madoguchi_domain::Clock;
use madoguchi_jobs::{JobError, JobHandler};
use madoguchi_notify::FanOut;
use madoguchi_storage::{Job, ReservationEventPayload, Storage};
use std::sync::Arc;

/// Runs `notify.reservation_event` jobs: one delivery job per channel the resident has now.
pub struct FanOutReservationEvent {
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
}

#[async_trait]
impl JobHandler for FanOutReservationEvent {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let event: ReservationEventPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("payload is not a reservation event: {e}")))?;
        let scope = Scope::new(event.tenant_id, Actor::System, self.clock.clone());
        fan_out(&*self.storage, &scope, job.id.0, &event)
            .await
            .map_err(job_error)
    }
}

/// Delivers `notify.reservation` jobs, rendered from the data as it is when they run.
pub struct DeliverReservationNotice {
    pub notifiers: FanOut,
    pub storage: Arc<dyn Storage>,
    pub clock: Arc<dyn Clock>,
    /// The installation's public URL, for the link to the reservation's page.
    pub public_url: String,
}

#[async_trait]
impl JobHandler for DeliverReservationNotice {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let delivery: ReservationDelivery =
            serde_json::from_value(job.payload.clone()).map_err(|e| {
                JobError::Permanent(format!("payload is not a reservation delivery: {e}"))
            })?;
        let scope = Scope::new(delivery.tenant_id, Actor::System, self.clock.clone());
        let deps = NoticeDeps {
            store: &*self.storage,
            notifiers: &self.notifiers,
            public_url: &self.public_url,
        };
        deliver(&deps, &scope, &delivery).await.map_err(job_error)
    }
}
