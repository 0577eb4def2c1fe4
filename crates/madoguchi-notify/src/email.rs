//! The email channel: a notification becomes an `OutgoingMail` for the configured
//! `madoguchi_mail::Mailer` (SMTP or the outbox), with the calendar file attached as
//! `reservation.ics` (`text/calendar; method=REQUEST` or `CANCEL`).

use crate::ics;
use crate::{Notification, Notifier, NotifyError, Recipient};
use async_trait::async_trait;
use madoguchi_mail::{MailAttachment, MailError, Mailer, OutgoingMail};
use std::sync::Arc;

/// The file name of the attached calendar entry.
pub const ICS_FILENAME: &str = "reservation.ics";

/// Sends notifications as mail.
#[derive(Clone)]
pub struct EmailNotifier {
    mailer: Arc<dyn Mailer>,
}

impl EmailNotifier {
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer }
    }

    /// The mail for `notification`, or `None` when the recipient has no address.
    pub fn mail(recipient: &Recipient, notification: &Notification) -> Option<OutgoingMail> {
        let to = recipient.email.as_deref()?.trim();
        if to.is_empty() {
            return None;
        }
        let attachments = notification
            .ics
            .iter()
            .map(|calendar| MailAttachment {
                filename: ICS_FILENAME.to_owned(),
                content_type: ics::method_of(calendar)
                    .unwrap_or(ics::Method::Request)
                    .content_type(),
                content: calendar.as_bytes().to_vec(),
            })
            .collect();
        Some(OutgoingMail {
            tenant_id: notification.tenant_id,
            to: to.to_owned(),
            subject: notification.subject.clone(),
            text_body: notification.text.clone(),
            attachments,
        })
    }
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier").finish_non_exhaustive()
    }
}

#[async_trait]
impl Notifier for EmailNotifier {
    async fn notify(
        &self,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        let Some(mail) = Self::mail(recipient, notification) else {
            return Err(NotifyError::Permanent(
                "email: the recipient has no address".into(),
            ));
        };
        self.mailer.send(&mail).await.map_err(|error| match error {
            MailError::Invalid(detail) => NotifyError::Permanent(format!("email: {detail}")),
            MailError::Transport(detail) => NotifyError::Transient(format!("email: {detail}")),
        })?;
        tracing::debug!(
            channel = "email",
            tenant_id = ?notification.tenant_id,
            delivery_id = ?notification.delivery_id,
            "notification handed to the mailer"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_domain::Lang;

    fn notification(ics: Option<&str>) -> Notification {
        Notification {
            tenant_id: None,
            subject: "件名".into(),
            text: "本文".into(),
            ics: ics.map(str::to_owned),
            delivery_id: None,
        }
    }

    fn recipient(email: Option<&str>) -> Recipient {
        Recipient {
            email: email.map(str::to_owned),
            line_user_id: None,
            lang: Lang::Ja,
        }
    }

    #[test]
    fn the_attachment_carries_the_calendar_method() {
        let cancel = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n";
        let mail = EmailNotifier::mail(
            &recipient(Some("a@example.jp")),
            &notification(Some(cancel)),
        )
        .unwrap();
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "reservation.ics");
        assert_eq!(
            mail.attachments[0].content_type,
            "text/calendar; charset=utf-8; method=CANCEL"
        );
        let plain =
            EmailNotifier::mail(&recipient(Some("a@example.jp")), &notification(None)).unwrap();
        assert!(plain.attachments.is_empty());
    }

    #[test]
    fn no_address_means_no_mail() {
        assert!(EmailNotifier::mail(&recipient(None), &notification(None)).is_none());
        assert!(EmailNotifier::mail(&recipient(Some(" ")), &notification(None)).is_none());
    }
}
