//! What residents are told about their reservations, and through which channel.
//!
//! - [`message`] turns a [`ReservationEvent`] and the [`ReservationFacts`] of a reservation into
//!   a [`Notification`] in Japanese or English; [`ics`] writes the calendar file that goes with it
//!   and the "my reservations" subscription feed. Both are pure.
//! - [`Notifier`] delivers a notification on one channel: [`EmailNotifier`] (through
//!   `madoguchi_mail::Mailer`, with `reservation.ics` attached) and [`LineNotifier`] (the LINE
//!   Messaging API push endpoint of the city's official account). [`FanOut`] sends on every
//!   channel a [`Recipient`] has and reports each result.
//! - [`line_webhook`] checks the signature of the official account's webhook, reads its events
//!   and answers through the reply endpoint.
//! - [`job`] is the message a `notify.reservation` delivery job renders and sends.
//!
//! Architecture invariant: no recipient address, LINE user id, message body or channel token
//! reaches a log or an error message. `Recipient`, `Notification`, `ReservationFacts` and the
//! notifiers redact themselves in `Debug`.

pub mod email;
pub mod fanout;
pub mod ics;
pub mod job;
pub mod line;
pub mod line_webhook;
pub mod message;
pub mod when;

pub use email::EmailNotifier;
pub use fanout::{ChannelResult, FanOut, FanOutReport};
pub use job::{NOTIFY_RESERVATION, NotifyReservation};
pub use line::{LineConfig, LineNotifier};
pub use message::{
    Bilingual, FeedEntry, Notification, ReservationEvent, ReservationFacts, my_reservations_feed,
    render,
};

use async_trait::async_trait;
use madoguchi_domain::Lang;
use serde::{Deserialize, Serialize};

/// Why a notification was not delivered, and whether another attempt may help.
///
/// The detail names the channel and the kind of failure only, never the recipient.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Retrying will not help: no address for this channel, a rejected address, a refused
    /// request.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The channel failed for now (server down, timeout, rate limit); worth retrying.
    #[error("transient: {0}")]
    Transient(String),
}

impl NotifyError {
    pub fn is_transient(&self) -> bool {
        matches!(self, NotifyError::Transient(_))
    }
}

/// A channel a resident can be reached on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Email,
    Line,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Line => "line",
        }
    }
}

/// Who is told, on which channels, in which language.
///
/// `line_user_id` is the user id of the resident for the tenant's own LINE official account
/// (LINE user ids differ per provider), as received by its webhook or LINE Login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub line_user_id: Option<String>,
    #[serde(default)]
    pub lang: Lang,
}

impl Recipient {
    /// The channels this recipient can be reached on, email first.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::with_capacity(2);
        if self.email.as_deref().is_some_and(|e| !e.trim().is_empty()) {
            channels.push(Channel::Email);
        }
        if self
            .line_user_id
            .as_deref()
            .is_some_and(|id| !id.trim().is_empty())
        {
            channels.push(Channel::Line);
        }
        channels
    }

    /// The same recipient reachable on `channel` only.
    pub fn only(&self, channel: Channel) -> Recipient {
        Recipient {
            email: self.email.clone().filter(|_| channel == Channel::Email),
            line_user_id: self
                .line_user_id
                .clone()
                .filter(|_| channel == Channel::Line),
            lang: self.lang,
        }
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address and the LINE user id are personal data: show only which exist.
        f.debug_struct("Recipient")
            .field("email", &self.email.as_ref().map(|_| "[redacted]"))
            .field(
                "line_user_id",
                &self.line_user_id.as_ref().map(|_| "[redacted]"),
            )
            .field("lang", &self.lang)
            .finish()
    }
}

/// Delivers a notification on one channel. Implementations must be safe to call from several
/// tasks at once, and must keep the recipient and the body out of logs and errors.
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(
        &self,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), NotifyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both() -> Recipient {
        Recipient {
            email: Some("hanako@example.jp".into()),
            line_user_id: Some("U4af4980629".into()),
            lang: Lang::Ja,
        }
    }

    #[test]
    fn a_recipient_has_the_channels_it_has_an_address_for() {
        assert_eq!(both().channels(), vec![Channel::Email, Channel::Line]);
        let line_only = Recipient {
            email: Some("  ".into()),
            ..both()
        };
        assert_eq!(line_only.channels(), vec![Channel::Line]);
        assert_eq!(both().only(Channel::Email).channels(), vec![Channel::Email]);
        assert_eq!(both().only(Channel::Line).channels(), vec![Channel::Line]);
    }

    #[test]
    fn debug_of_a_recipient_hides_the_address_and_line_id() {
        let debug = format!("{:?}", both());
        assert!(
            !debug.contains("hanako") && !debug.contains("U4af"),
            "{debug}"
        );
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn a_recipient_round_trips_through_json() {
        let json = serde_json::to_value(both()).unwrap();
        assert_eq!(json["lang"], "ja");
        let back: Recipient = serde_json::from_value(json).unwrap();
        assert_eq!(back, both());
    }
}
