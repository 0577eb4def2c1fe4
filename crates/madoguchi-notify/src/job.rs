//! The message a `notify.reservation` delivery job sends, and how it is sent.
//!
//! The queued job itself holds ids only; the server builds a [`NotifyReservation`] from the
//! current data when the job runs. There is one job per channel: a job is retried as a whole,
//! so a job for both channels whose LINE push failed would mail the resident again on retry.
//! Each job keeps its `delivery_id` across attempts, which LINE uses as its retry key. The
//! message is rendered when the job runs (its `DTSTAMP` is the sending time).

use crate::message::render;
use crate::{
    Channel, FanOut, Notification, NotifyError, Recipient, ReservationEvent, ReservationFacts,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The job kind.
pub const NOTIFY_RESERVATION: &str = "notify.reservation";

/// Tell a resident about their reservation. `Debug` redacts the recipient and the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyReservation {
    /// The same on every attempt of this job.
    pub delivery_id: Uuid,
    pub recipient: Recipient,
    pub event: ReservationEvent,
    pub facts: ReservationFacts,
    /// The one channel this job sends on; `None` sends on every channel the recipient has.
    #[serde(default)]
    pub channel: Option<Channel>,
}

impl NotifyReservation {
    /// One job for every channel the recipient has (none if they have no channel).
    pub fn per_channel(
        recipient: &Recipient,
        event: &ReservationEvent,
        facts: &ReservationFacts,
    ) -> Vec<NotifyReservation> {
        recipient
            .channels()
            .into_iter()
            .map(|channel| NotifyReservation {
                delivery_id: Uuid::new_v4(),
                recipient: recipient.only(channel),
                event: event.clone(),
                facts: facts.clone(),
                channel: Some(channel),
            })
            .collect()
    }

    /// The message, in the recipient's language, written at `now`.
    pub fn notification(&self, now: OffsetDateTime) -> Notification {
        let mut notification = render(&self.event, &self.facts, self.recipient.lang, now);
        notification.delivery_id = Some(self.delivery_id);
        notification
    }

    /// Renders and sends the message. A job handler maps `Transient` to a retry and
    /// `Permanent` to a failed job.
    pub async fn deliver(
        &self,
        notifiers: &FanOut,
        now: OffsetDateTime,
    ) -> Result<(), NotifyError> {
        let notification = self.notification(now);
        let result = match self.channel {
            Some(channel) => {
                notifiers
                    .send_on(channel, &self.recipient, &notification)
                    .await
            }
            None => notifiers
                .send(&self.recipient, &notification)
                .await
                .outcome(),
        };
        match &result {
            Ok(()) => tracing::info!(
                tenant_id = %self.facts.tenant_id,
                reservation_id = %self.facts.reservation_id,
                event = self.event.kind(),
                channel = self.channel.map_or("all", Channel::as_str),
                delivery_id = %self.delivery_id,
                "reservation notification sent"
            ),
            Err(error) => tracing::warn!(
                tenant_id = %self.facts.tenant_id,
                reservation_id = %self.facts.reservation_id,
                event = self.event.kind(),
                channel = self.channel.map_or("all", Channel::as_str),
                delivery_id = %self.delivery_id,
                %error,
                "reservation notification not sent"
            ),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bilingual;
    use madoguchi_domain::{Lang, ReservationId, TenantId};
    use time::macros::datetime;

    fn facts() -> ReservationFacts {
        ReservationFacts {
            tenant_id: TenantId::new(),
            reservation_id: ReservationId::new(),
            reference: None,
            service: Bilingual::new("子育て相談", "Parenting consultation"),
            office: Bilingual::new("北支所", "North Branch"),
            city: Bilingual::new("まどぐち市", "Madoguchi City"),
            start: datetime!(2026-12-03 01:00 UTC),
            end: datetime!(2026-12-03 01:30 UTC),
            manage_url: "https://madoguchi.example.jp/my/reservations/1".into(),
            sequence: 0,
        }
    }

    fn recipient() -> Recipient {
        Recipient {
            email: Some("hanako@example.jp".into()),
            line_user_id: Some("U1234".into()),
            lang: Lang::En,
        }
    }

    #[test]
    fn one_job_per_channel_each_with_its_own_delivery_id() {
        let jobs =
            NotifyReservation::per_channel(&recipient(), &ReservationEvent::Confirmed, &facts());
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].channel, Some(Channel::Email));
        assert_eq!(
            jobs[0].recipient.line_user_id, None,
            "the mail job holds no LINE id"
        );
        assert_eq!(jobs[1].channel, Some(Channel::Line));
        assert_eq!(
            jobs[1].recipient.email, None,
            "the LINE job holds no address"
        );
        assert_ne!(jobs[0].delivery_id, jobs[1].delivery_id);
    }

    #[test]
    fn the_payload_round_trips_through_json_and_renders_in_the_recipients_language() {
        let job = NotifyReservation::per_channel(
            &recipient(),
            &ReservationEvent::Cancelled {
                by_staff: true,
                reason: Some("Facility inspection".into()),
            },
            &facts(),
        )
        .remove(0);
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["event"]["kind"], "cancelled");
        assert_eq!(json["channel"], "email");
        assert_eq!(json["recipient"]["lang"], "en");
        let back: NotifyReservation = serde_json::from_value(json).unwrap();
        assert_eq!(back, job);
        let n = back.notification(datetime!(2026-11-20 00:00 UTC));
        assert!(
            n.subject
                .starts_with("[Madoguchi City] Reservation cancelled")
        );
        assert_eq!(n.delivery_id, Some(job.delivery_id));
    }

    #[test]
    fn debug_of_a_job_hides_personal_data() {
        let job =
            NotifyReservation::per_channel(&recipient(), &ReservationEvent::Reminder, &facts())
                .remove(0);
        let debug = format!("{job:?}");
        assert!(
            !debug.contains("hanako") && !debug.contains("U1234"),
            "{debug}"
        );
    }
}
