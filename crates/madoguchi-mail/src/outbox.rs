//! The outbox transport: each message becomes one `.eml` file in a directory. It is the
//! default of `madoguchi serve`, so a demo works without a mail server, and staff can read what
//! would have been sent.

use crate::{MailError, Mailer, OutgoingMail, build_message};
use async_trait::async_trait;
use lettre::message::Mailbox;
use madoguchi_domain::TenantId;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

pub struct OutboxMailer {
    dir: PathBuf,
    from: Mailbox,
}

/// One message in the outbox, for the admin pages.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    /// The file name, which sorts by time (`<unix micros>-<uuid>.eml`).
    pub name: String,
    pub size_bytes: u64,
}

impl OutboxMailer {
    pub fn new(dir: PathBuf, from: Mailbox) -> Self {
        Self { dir, from }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of one tenant's mail (`<dir>/<tenant id>`; `<dir>/system` for mail of none).
    /// Each tenant's administrators see only their own folder.
    pub fn tenant_dir(dir: &Path, tenant: Option<TenantId>) -> PathBuf {
        match tenant {
            Some(tenant) => dir.join(tenant.to_string()),
            None => dir.join("system"),
        }
    }

    /// A tenant's messages, newest first, at most `limit`.
    pub async fn list(
        dir: &Path,
        tenant: TenantId,
        limit: usize,
    ) -> std::io::Result<Vec<OutboxEntry>> {
        let mut entries = Vec::new();
        let mut read = match tokio::fs::read_dir(Self::tenant_dir(dir, Some(tenant))).await {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
            Err(e) => return Err(e),
        };
        while let Some(entry) = read.next_entry().await? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".eml") {
                entries.push(OutboxEntry {
                    size_bytes: entry.metadata().await?.len(),
                    name,
                });
            }
        }
        entries.sort_by(|a, b| b.name.cmp(&a.name));
        entries.truncate(limit);
        Ok(entries)
    }

    /// Reads one of a tenant's messages by file name; names with path separators are refused.
    pub async fn read(dir: &Path, tenant: TenantId, name: &str) -> std::io::Result<Vec<u8>> {
        let safe = name.ends_with(".eml")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !name.contains("..");
        if !safe {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such message",
            ));
        }
        tokio::fs::read(Self::tenant_dir(dir, Some(tenant)).join(name)).await
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        let dir = Self::tenant_dir(&self.dir, mail.tenant_id);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        let micros = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
        let name = format!("{micros:020}-{}.eml", uuid::Uuid::new_v4().simple());
        // Write to a temporary name and rename, so a reader never sees half a message.
        let tmp = dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, message.formatted())
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        tokio::fs::rename(&tmp, dir.join(&name))
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mailer, OutgoingMail};

    #[tokio::test]
    async fn each_tenant_sees_only_its_own_outbox() {
        let dir = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4().simple()));
        let outbox = OutboxMailer::new(dir.clone(), "noreply@madoguchi.example".parse().unwrap());
        let (a, b) = (TenantId::new(), TenantId::new());
        let mail = |tenant| OutgoingMail {
            tenant_id: Some(tenant),
            to: "hanako@example.jp".into(),
            subject: "件名".into(),
            text_body: "本文".into(),
            attachments: vec![],
        };
        outbox.send(&mail(a)).await.unwrap();
        outbox.send(&mail(a)).await.unwrap();
        outbox.send(&mail(b)).await.unwrap();
        let of_a = OutboxMailer::list(&dir, a, 10).await.unwrap();
        let of_b = OutboxMailer::list(&dir, b, 10).await.unwrap();
        assert_eq!((of_a.len(), of_b.len()), (2, 1));
        assert!(
            OutboxMailer::read(&dir, a, &of_b[0].name).await.is_err(),
            "b's mail is not in a's outbox"
        );
        assert!(OutboxMailer::read(&dir, b, &of_b[0].name).await.is_ok());
        assert!(OutboxMailer::read(&dir, a, "../x.eml").await.is_err());
        std::fs::remove_dir_all(dir).ok();
    }
}
