//! The job kinds the server runs and their handlers.

use async_trait::async_trait;
use madoguchi_jobs::{JobError, JobHandler};
use madoguchi_mail::{MailError, Mailer, OutgoingMail};
use madoguchi_storage::Job;
use std::sync::Arc;

/// Sends one email (`payload` is an [`OutgoingMail`]); the kind is named where mail is queued.
pub use madoguchi_usecases::accounts::MAIL_SEND;

pub struct SendMail {
    pub mailer: Arc<dyn Mailer>,
}

#[async_trait]
impl JobHandler for SendMail {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let mail: OutgoingMail = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("payload is not a mail: {e}")))?;
        self.mailer.send(&mail).await.map_err(|error| match error {
            MailError::Invalid(detail) => JobError::Permanent(detail),
            MailError::Transport(detail) => JobError::Retry(detail),
        })
    }
}

/// Delivers one sandbox webhook (`madoguchi_usecases::payments::sandbox::SANDBOX_WEBHOOK`): the
/// body signed now with the sandbox's secret, POSTed to this node's `/hooks/sandbox/{slug}`.
/// Anything but a 2xx is retried by the runner with backoff, like a real provider does.
pub struct DeliverSandboxWebhook {
    pub storage: Arc<dyn madoguchi_storage::Storage>,
    pub client: reqwest::Client,
    /// `sandbox_webhook_base`, or the public URL.
    pub base_url: String,
    pub secret: secrecy::SecretString,
}

#[async_trait]
impl JobHandler for DeliverSandboxWebhook {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        use secrecy::ExposeSecret;
        let delivery: madoguchi_usecases::payments::sandbox::WebhookDelivery =
            serde_json::from_value(job.payload.clone())
                .map_err(|e| JobError::Permanent(format!("payload is not a delivery: {e}")))?;
        let tenants = self
            .storage
            .list_tenants()
            .await
            .map_err(|e| JobError::Retry(e.to_string()))?;
        let Some(tenant) = tenants.into_iter().find(|t| t.id == delivery.tenant) else {
            return Err(JobError::Permanent("the city is gone".into()));
        };
        let signature = madoguchi_gateway::signature::sign(
            self.secret.expose_secret(),
            madoguchi_storage::now_utc().unix_timestamp(),
            delivery.body.as_bytes(),
        );
        let url = format!(
            "{}/hooks/sandbox/{}",
            self.base_url.trim_end_matches('/'),
            tenant.slug.as_str()
        );
        let response = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("stripe-signature", signature)
            .body(delivery.body)
            .send()
            .await
            .map_err(|e| JobError::Retry(format!("webhook not delivered: {e}")))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(JobError::Retry(format!(
                "webhook answered {}",
                response.status()
            )))
        }
    }
}

/// Settles a "delayed" sandbox payment (`SANDBOX_SETTLE`).
pub struct SettleSandboxPayment {
    pub storage: Arc<dyn madoguchi_storage::Storage>,
}

#[async_trait]
impl JobHandler for SettleSandboxPayment {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        #[derive(serde::Deserialize)]
        struct Settle {
            tenant: madoguchi_domain::TenantId,
            intent: uuid::Uuid,
        }
        let settle: Settle = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobError::Permanent(format!("payload is not a settlement: {e}")))?;
        madoguchi_usecases::payments::sandbox::settle(
            &*self.storage,
            settle.tenant,
            settle.intent,
            madoguchi_storage::now_utc(),
        )
        .await
        .map_err(|e| JobError::Retry(e.code.as_str().to_owned()))
    }
}
