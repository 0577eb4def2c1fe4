//! Telling residents about their reservations, through the transactional outbox.
//!
//! 1. A use case decides what to tell (`reservations::notices`) and hands the notices to the
//!    storage call that makes the change, which writes them as one `notify.reservation_event`
//!    job each in the same transaction (ids only, see `madoguchi_storage::outbox`).
//! 2. [`fan_out`] runs that job: it drops a reminder that is no longer due, then writes one
//!    `notify.reservation` delivery job per channel, so a retry never repeats another channel.
//!    Each delivery's dedupe key names the event job and the channel, so a fan-out that
//!    crashed after writing and runs again writes nothing twice.
//! 3. [`deliver`] renders the message from the current reservation, slot, service, office,
//!    city and account, and sends it. LINE deliveries go through the tenant's own official
//!    account (`line::deliver_notice`).
//!
//! [`jobs`] holds the two job handlers, which only read the payload, build a system scope and
//! call these use cases.

pub mod deliver;
pub mod fan_out;
pub mod jobs;

pub use deliver::{NoticeDeps, current_notice, deliver};
pub use fan_out::fan_out;
pub use jobs::{DeliverReservationNotice, FanOutReservationEvent};

use crate::UseCaseError;
use madoguchi_domain::{ErrorCode, ReservationId, TenantId};
use madoguchi_jobs::JobError;
use madoguchi_notify::{Channel, NotifyError};
use serde::{Deserialize, Serialize};

/// The payload of a `notify.reservation` delivery job: ids only, rendered when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationDelivery {
    /// The same on every attempt, so LINE shows a retried push once (`X-Line-Retry-Key`).
    pub delivery_id: uuid::Uuid,
    pub tenant_id: TenantId,
    pub reservation_id: ReservationId,
    pub event: madoguchi_storage::ReservationNoticeEvent,
    pub channel: Channel,
}

/// Seconds a notice waits before trying again; the job runner's own backoff decides the
/// actual delay, this only marks the failure as worth retrying.
const RETRY_AFTER_S: u64 = 5;

/// A failure that may pass (the database away, a provider's hiccup): the job is retried.
pub(crate) fn retry(detail: impl std::fmt::Display) -> UseCaseError {
    UseCaseError {
        internal: Some(detail.to_string()),
        retry_after_s: Some(RETRY_AFTER_S),
        ..UseCaseError::new(ErrorCode::Unavailable)
    }
}

/// A sending failure as a use-case error: transient ones are retried, permanent ones fail.
pub(crate) fn from_notify(error: NotifyError) -> UseCaseError {
    match error {
        NotifyError::Permanent(detail) => UseCaseError::internal(detail),
        NotifyError::Transient(detail) => retry(detail),
    }
}

/// How the job runner sees a notice's failure: retried when trying again may help, failed
/// for good otherwise.
pub fn job_error(error: UseCaseError) -> JobError {
    let detail = error.internal.unwrap_or_else(|| error.code.to_string());
    match error.retry_after_s {
        Some(_) => JobError::Retry(detail),
        None => JobError::Permanent(detail),
    }
}

/// The base URL of a tenant, for links in notices and feeds built without a request: the same
/// rule as the account mails' links.
pub use crate::accounts::base_url_for;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_on_its_own_host_keeps_the_installations_scheme() {
        assert_eq!(
            base_url_for("https://madoguchi.example/", Some("city.example")),
            "https://city.example"
        );
        assert_eq!(
            base_url_for("http://127.0.0.1:8080/", None),
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn transient_failures_are_retried_and_permanent_ones_fail() {
        let transient = job_error(from_notify(NotifyError::Transient("503".into())));
        assert!(matches!(transient, JobError::Retry(d) if d == "503"));
        let permanent = job_error(from_notify(NotifyError::Permanent("bad address".into())));
        assert!(matches!(permanent, JobError::Permanent(d) if d == "bad address"));
    }
}
