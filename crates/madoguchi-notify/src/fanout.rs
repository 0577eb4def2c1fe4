//! Sending on every channel a resident has: email and/or LINE, each through its notifier, with
//! one result per channel.

use crate::{Channel, Notification, Notifier, NotifyError, Recipient};
use async_trait::async_trait;
use std::sync::Arc;

/// The notifiers of one tenant, by channel. A channel without a notifier (a city without a
/// LINE official account) is reported as a permanent failure for recipients who have it.
#[derive(Clone, Default)]
pub struct FanOut {
    email: Option<Arc<dyn Notifier>>,
    line: Option<Arc<dyn Notifier>>,
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOut")
            .field("email", &self.email.is_some())
            .field("line", &self.line.is_some())
            .finish()
    }
}

/// What happened on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelResult {
    pub channel: Channel,
    pub result: Result<(), NotifyError>,
}

/// The results of one fan-out, one per channel the recipient has, email first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FanOutReport {
    pub results: Vec<ChannelResult>,
}

impl FanOutReport {
    /// The channels the notification reached.
    pub fn delivered(&self) -> Vec<Channel> {
        self.results
            .iter()
            .filter(|r| r.result.is_ok())
            .map(|r| r.channel)
            .collect()
    }

    /// The whole fan-out as one result: delivered if any channel delivered (the resident has
    /// been told; retrying would tell them twice on that channel); otherwise transient if any
    /// channel may pass later, else permanent. No channel at all is permanent.
    pub fn outcome(&self) -> Result<(), NotifyError> {
        if self.results.iter().any(|r| r.result.is_ok()) {
            return Ok(());
        }
        let errors: Vec<&NotifyError> = self
            .results
            .iter()
            .filter_map(|r| r.result.as_ref().err())
            .collect();
        if errors.is_empty() {
            return Err(NotifyError::Permanent(
                "the recipient has no notification channel".into(),
            ));
        }
        let summary = errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        if errors.iter().any(|e| e.is_transient()) {
            Err(NotifyError::Transient(summary))
        } else {
            Err(NotifyError::Permanent(summary))
        }
    }
}

impl FanOut {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_email(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.email = Some(notifier);
        self
    }

    pub fn with_line(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.line = Some(notifier);
        self
    }

    fn notifier(&self, channel: Channel) -> Option<&Arc<dyn Notifier>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Line => self.line.as_ref(),
        }
    }

    /// Sends on `channel` only.
    pub async fn send_on(
        &self,
        channel: Channel,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        match self.notifier(channel) {
            Some(notifier) => {
                notifier
                    .notify(&recipient.only(channel), notification)
                    .await
            }
            None => Err(NotifyError::Permanent(format!(
                "{}: channel not configured",
                channel.as_str()
            ))),
        }
    }

    /// Sends on every channel the recipient has, one after the other, and reports each.
    pub async fn send(&self, recipient: &Recipient, notification: &Notification) -> FanOutReport {
        let mut report = FanOutReport::default();
        for channel in recipient.channels() {
            let result = self.send_on(channel, recipient, notification).await;
            if let Err(error) = &result {
                tracing::warn!(
                    channel = channel.as_str(),
                    tenant_id = ?notification.tenant_id,
                    delivery_id = ?notification.delivery_id,
                    %error,
                    "notification not delivered"
                );
            }
            report.results.push(ChannelResult { channel, result });
        }
        report
    }
}

#[async_trait]
impl Notifier for FanOut {
    /// See [`FanOutReport::outcome`].
    async fn notify(
        &self,
        recipient: &Recipient,
        notification: &Notification,
    ) -> Result<(), NotifyError> {
        self.send(recipient, notification).await.outcome()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use madoguchi_domain::Lang;
    use std::sync::Mutex;

    /// Records the channels it was asked to use and answers with a fixed result.
    struct Fixed {
        answer: Result<(), NotifyError>,
        seen: Mutex<Vec<Vec<Channel>>>,
    }

    impl Fixed {
        fn new(answer: Result<(), NotifyError>) -> Arc<Self> {
            Arc::new(Self {
                answer,
                seen: Mutex::new(Vec::new()),
            })
        }
    }

    #[async_trait]
    impl Notifier for Fixed {
        async fn notify(&self, r: &Recipient, _: &Notification) -> Result<(), NotifyError> {
            self.seen.lock().unwrap().push(r.channels());
            self.answer.clone()
        }
    }

    fn recipient(email: bool, line: bool) -> Recipient {
        Recipient {
            email: email.then(|| "hanako@example.jp".to_owned()),
            line_user_id: line.then(|| "U1234".to_owned()),
            lang: Lang::Ja,
        }
    }

    fn notification() -> Notification {
        Notification {
            tenant_id: None,
            subject: "s".into(),
            text: "t".into(),
            ics: None,
            delivery_id: None,
        }
    }

    #[tokio::test]
    async fn each_channel_gets_only_its_own_address() {
        let (email, line) = (Fixed::new(Ok(())), Fixed::new(Ok(())));
        let fan = FanOut::new()
            .with_email(email.clone())
            .with_line(line.clone());
        let report = fan.send(&recipient(true, true), &notification()).await;
        assert_eq!(report.delivered(), vec![Channel::Email, Channel::Line]);
        assert_eq!(*email.seen.lock().unwrap(), vec![vec![Channel::Email]]);
        assert_eq!(*line.seen.lock().unwrap(), vec![vec![Channel::Line]]);
    }

    #[tokio::test]
    async fn only_the_channels_the_recipient_has_are_used() {
        let (email, line) = (Fixed::new(Ok(())), Fixed::new(Ok(())));
        let fan = FanOut::new()
            .with_email(email.clone())
            .with_line(line.clone());
        let report = fan.send(&recipient(false, true), &notification()).await;
        assert_eq!(report.results.len(), 1);
        assert!(email.seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn one_channel_delivered_is_a_delivery() {
        let fan = FanOut::new()
            .with_email(Fixed::new(Err(NotifyError::Transient("down".into()))))
            .with_line(Fixed::new(Ok(())));
        let report = fan.send(&recipient(true, true), &notification()).await;
        assert_eq!(report.delivered(), vec![Channel::Line]);
        assert!(report.results[0].result.is_err());
        assert_eq!(report.outcome(), Ok(()));
    }

    #[tokio::test]
    async fn nothing_delivered_is_transient_if_any_channel_may_pass_later() {
        let fan = FanOut::new()
            .with_email(Fixed::new(Err(NotifyError::Permanent("bad".into()))))
            .with_line(Fixed::new(Err(NotifyError::Transient("429".into()))));
        let outcome = fan.notify(&recipient(true, true), &notification()).await;
        assert!(matches!(outcome, Err(NotifyError::Transient(_))));
    }

    #[tokio::test]
    async fn a_channel_without_a_notifier_or_a_recipient_without_channels_is_permanent() {
        let fan = FanOut::new().with_email(Fixed::new(Ok(())));
        let report = fan.send(&recipient(false, true), &notification()).await;
        assert!(matches!(report.outcome(), Err(NotifyError::Permanent(m)) if m.contains("line")));
        let report = fan.send(&recipient(false, false), &notification()).await;
        assert!(report.results.is_empty());
        assert!(matches!(report.outcome(), Err(NotifyError::Permanent(_))));
    }
}
