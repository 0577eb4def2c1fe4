//! The outbox transport: each message becomes one `.eml` file in a directory. It is the
//! default of `madoguchi serve`, so a demo works without a mail server, and staff can read what
//! would have been sent.

use crate::{MailError, Mailer, OutgoingMail, build_message};
use async_trait::async_trait;
use lettre::message::Mailbox;
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

    /// Newest first, at most `limit`.
    pub async fn list(dir: &Path, limit: usize) -> std::io::Result<Vec<OutboxEntry>> {
        let mut entries = Vec::new();
        let mut read = match tokio::fs::read_dir(dir).await {
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

    /// Reads one message by file name; names with path separators are refused.
    pub async fn read(dir: &Path, name: &str) -> std::io::Result<Vec<u8>> {
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
        tokio::fs::read(dir.join(name)).await
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(&self.from, mail)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        let micros = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000;
        let name = format!("{micros:020}-{}.eml", uuid::Uuid::new_v4().simple());
        // Write to a temporary name and rename, so a reader never sees half a message.
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, message.formatted())
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        tokio::fs::rename(&tmp, self.dir.join(&name))
            .await
            .map_err(|e| MailError::Transport(e.to_string()))?;
        Ok(())
    }
}
