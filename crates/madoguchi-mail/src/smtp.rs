//! SMTP delivery through lettre's async transport.

use crate::{MailError, Mailer, OutgoingMail, build_message};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection: only for a relay on the same host or a test listener.
    None,
    /// STARTTLS on the submission port (587): the usual choice.
    #[default]
    Starttls,
    /// TLS from the first byte (465).
    Tls,
}

#[derive(Clone, Debug, Deserialize)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(config: &SmtpConfig, from: Mailbox) -> Result<Self, MailError> {
        let mut builder = match config.security {
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| MailError::Invalid(e.to_string()))?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| MailError::Invalid(e.to_string()))?,
        }
        .port(config.port)
        .timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| {
            // The server's reply text often quotes the recipient's address, which must not
            // reach logs or the jobs page: keep only the status code and the kind of failure.
            let code = e
                .status()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "no reply code".to_owned());
            if e.is_permanent() {
                MailError::Invalid(format!("SMTP permanent failure ({code})"))
            } else if e.is_transient() {
                MailError::Transport(format!("SMTP transient failure ({code})"))
            } else {
                MailError::Transport(format!("SMTP connection failed ({code})"))
            }
        })
    }
}
