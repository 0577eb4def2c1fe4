//! A stored message as a person reads it: the headers decoded from RFC 2047 (`=?UTF-8?B?…?=`)
//! and the text body decoded from base64 or quoted-printable into UTF-8. The outbox pages show
//! this instead of the raw `.eml`, so the server never needs to know MIME.

use mail_parser::{Address, MessageParser, MimeHeaders};

/// One stored message, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct ReadableMail {
    /// `Name <address>` of each sender, joined with `, `.
    pub from: String,
    /// `Name <address>` of each recipient, joined with `, `.
    pub to: String,
    pub subject: String,
    /// The `Date` header in RFC 3339, when there is one.
    pub date: Option<String>,
    /// The first text part, decoded, with `\n` line breaks.
    pub text: String,
    /// The file names of the attachments (e.g. `reservation.ics`).
    pub attachments: Vec<String>,
}

impl std::fmt::Debug for ReadableMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Addresses and text are personal data.
        f.debug_struct("ReadableMail")
            .field("attachments", &self.attachments.len())
            .finish_non_exhaustive()
    }
}

fn addresses(address: Option<&Address<'_>>) -> String {
    address
        .map(|a| {
            a.iter()
                .map(|addr| match (addr.name(), addr.address()) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (None, Some(address)) => address.to_owned(),
                    (Some(name), None) => name.to_owned(),
                    (None, None) => String::new(),
                })
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Decodes a stored message; `None` when the bytes are not a message at all.
pub fn read_message(raw: &[u8]) -> Option<ReadableMail> {
    let message = MessageParser::default().parse(raw)?;
    Some(ReadableMail {
        from: addresses(message.from()),
        to: addresses(message.to()),
        subject: message.subject().unwrap_or_default().to_owned(),
        date: message.date().map(|d| d.to_rfc3339()),
        // Mail lines end in CRLF on the wire; a page shows plain line breaks.
        text: message
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n"))
            .unwrap_or_default(),
        attachments: message
            .attachments()
            .map(|a| a.attachment_name().unwrap_or("attachment").to_owned())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MailAttachment, OutgoingMail, build_message};

    fn built(mail: &OutgoingMail) -> Vec<u8> {
        let from = "まどぐち市 <noreply@madoguchi-city.example>"
            .parse()
            .unwrap();
        build_message(&from, mail).unwrap().formatted()
    }

    fn japanese_mail() -> OutgoingMail {
        OutgoingMail {
            tenant_id: None,
            to: "hanako@example.jp".into(),
            subject: "[まどぐち市] メールアドレスの確認".into(),
            text_body: "山田 花子 様\n\n次のリンクを開いて、メールアドレスの確認を完了してください。\n\nhttps://madoguchi.example/verify-email?token=abc\n".repeat(3),
            attachments: vec![],
        }
    }

    #[test]
    fn a_japanese_message_is_stored_encoded_and_read_back_as_written() {
        let raw = built(&japanese_mail());
        let stored = String::from_utf8_lossy(&raw);
        assert!(
            !stored.contains("メールアドレスの確認"),
            "the stored file is encoded, which is why it needs decoding"
        );
        let read = read_message(&raw).unwrap();
        assert_eq!(read.subject, "[まどぐち市] メールアドレスの確認");
        assert_eq!(read.from, "まどぐち市 <noreply@madoguchi-city.example>");
        assert_eq!(read.to, "hanako@example.jp");
        assert_eq!(read.text.trim_end(), japanese_mail().text_body.trim_end());
        assert!(read.date.is_some());
        assert!(read.attachments.is_empty());
    }

    #[test]
    fn attachments_are_listed_by_name_beside_the_decoded_text() {
        let mut mail = japanese_mail();
        mail.attachments.push(MailAttachment {
            filename: "reservation.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=REQUEST".into(),
            content: b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
        });
        let read = read_message(&built(&mail)).unwrap();
        assert_eq!(read.attachments, ["reservation.ics"]);
        assert!(read.text.contains("山田 花子 様"));
    }

    #[test]
    fn bytes_that_are_no_message_read_as_none_or_empty() {
        let read = read_message(b"");
        assert!(read.is_none_or(|m| m.subject.is_empty() && m.text.is_empty()));
    }

    #[test]
    fn its_debug_output_shows_no_address_or_text() {
        let read = read_message(&built(&japanese_mail())).unwrap();
        let shown = format!("{read:?}");
        assert!(!shown.contains("hanako") && !shown.contains("花子"));
    }
}
