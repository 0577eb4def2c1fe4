//! Outgoing email: one [`Mailer`] interface with two transports — SMTP for production, and an
//! outbox directory of `.eml` files for the embedded default, which staff can read in the
//! admin pages.
//!
//! Architecture invariant: messages are built here with lettre's builder (headers are encoded
//! by lettre, never by string concatenation), and no address or body is ever logged.

mod outbox;
mod readable;
mod smtp;

pub use outbox::{OutboxEntry, OutboxMailer};
pub use readable::{ReadableMail, read_message};
pub use smtp::{SmtpConfig, SmtpMailer, SmtpSecurity};

use async_trait::async_trait;
use lettre::message::{
    Attachment as LettreAttachment, Mailbox, MultiPart, SinglePart, header::ContentType,
};
use serde::{Deserialize, Serialize};

/// A message ready to send. Serializable, because sending happens in a background job.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingMail {
    /// The municipality the mail is sent for; the outbox keeps each tenant's mail apart.
    #[serde(default)]
    pub tenant_id: Option<madoguchi_domain::TenantId>,
    pub to: String,
    pub subject: String,
    pub text_body: String,
    #[serde(default)]
    pub attachments: Vec<MailAttachment>,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Recipient and body are personal data.
        f.debug_struct("OutgoingMail")
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

/// A file attached to a message, e.g. an `.ics` calendar entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message itself is wrong (bad address); retrying will not help.
    #[error("message rejected: {0}")]
    Invalid(String),
    /// The transport failed (server down, timeout); worth retrying.
    #[error("transport failed: {0}")]
    Transport(String),
}

/// Sends mail. Implementations must be safe to call from several tasks at once.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError>;
}

/// Builds the RFC 5322 message: UTF-8 plain text, plus attachments as multipart/mixed.
pub fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<lettre::Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| MailError::Invalid(format!("recipient: {e}")))?;
    let builder = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(None);
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text_body.clone());
    let message = if mail.attachments.is_empty() {
        builder.singlepart(text)
    } else {
        let mut parts = MultiPart::mixed().singlepart(text);
        for attachment in &mail.attachments {
            let content_type = ContentType::parse(&attachment.content_type)
                .map_err(|e| MailError::Invalid(format!("attachment content type: {e}")))?;
            parts = parts.singlepart(
                LettreAttachment::new(attachment.filename.clone())
                    .body(attachment.content.clone(), content_type),
            );
        }
        builder.multipart(parts)
    };
    message.map_err(|e| MailError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_japanese_message_is_encoded_by_lettre() {
        let from: Mailbox = "まどぐち市 <noreply@madoguchi.example>".parse().unwrap();
        let mail = OutgoingMail {
            tenant_id: None,
            to: "hanako@example.jp".into(),
            subject: "メールアドレスの確認".into(),
            text_body: "こんにちは".into(),
            attachments: vec![MailAttachment {
                filename: "invite.ics".into(),
                content_type: "text/calendar; charset=utf-8".into(),
                content: b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
            }],
        };
        let raw = String::from_utf8(build_message(&from, &mail).unwrap().formatted()).unwrap();
        assert!(
            raw.contains("Subject: =?utf-8?"),
            "subject is RFC 2047 encoded: {raw}"
        );
        assert!(raw.contains("multipart/mixed"));
        assert!(raw.contains("invite.ics"));
    }

    #[test]
    fn a_bad_recipient_is_an_invalid_message() {
        let from: Mailbox = "noreply@madoguchi.example".parse().unwrap();
        let mail = OutgoingMail {
            tenant_id: None,
            to: "not an address".into(),
            subject: "x".into(),
            text_body: "y".into(),
            attachments: vec![],
        };
        assert!(matches!(
            build_message(&from, &mail),
            Err(MailError::Invalid(_))
        ));
    }

    #[test]
    fn debug_output_hides_recipient_and_body() {
        let mail = OutgoingMail {
            tenant_id: None,
            to: "secret@example.jp".into(),
            subject: "s".into(),
            text_body: "private".into(),
            attachments: vec![],
        };
        let debug = format!("{mail:?}");
        assert!(!debug.contains("secret") && !debug.contains("private"));
    }
}
