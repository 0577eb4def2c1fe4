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
