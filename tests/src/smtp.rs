//! A small real SMTP server in the test process: the app delivers over TCP with lettre exactly
//! as it would to a city's relay, and tests read what arrived.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify};

/// One received message.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub rcpt_to: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    /// The decoded plain-text body.
    pub fn text(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
            .unwrap_or_default()
    }

    /// The decoded text of every attachment (e.g. an `.ics`).
    pub fn attachments_text(&self) -> Vec<String> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .map(|m| {
                m.attachments()
                    .map(|a| String::from_utf8_lossy(a.contents()).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn subject(&self) -> String {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The first URL in the body containing `needle`.
    pub fn link_containing(&self, needle: &str) -> Option<String> {
        self.text()
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(needle))
            .map(str::to_owned)
    }
}

#[derive(Clone, Default)]
pub struct MailSink {
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

impl MailSink {
    /// Waits until a message to `to` arrives (up to `timeout`), and returns it.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> anyhow::Result<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if let Some(mail) = self
                .messages
                .lock()
                .await
                .iter()
                .rev()
                .find(|m| m.rcpt_to.iter().any(|r| r == to))
            {
                return Ok(mail.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                anyhow::bail!("no mail to {to} within {timeout:?}");
            }
        }
    }

    /// Waits until a message to `to` for which `wanted` holds arrives (up to `timeout`), and
    /// returns the latest such. Unlike [`Self::wait_for`], an earlier mail to the same address
    /// (a sign-up's verification, say) does not answer for the one a test is waiting for.
    pub async fn wait_for_where(
        &self,
        to: &str,
        timeout: Duration,
        wanted: impl Fn(&ReceivedMail) -> bool,
    ) -> anyhow::Result<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if let Some(mail) = self
                .messages
                .lock()
                .await
                .iter()
                .rev()
                .find(|m| m.rcpt_to.iter().any(|r| r == to) && wanted(m))
            {
                return Ok(mail.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                anyhow::bail!("no such mail to {to} within {timeout:?}");
            }
        }
    }

    /// Waits until at least `count` messages went to `to` (up to `timeout`), and returns the
    /// last of them.
    pub async fn wait_for_nth(
        &self,
        to: &str,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            {
                let messages = self.messages.lock().await;
                let to_them: Vec<&ReceivedMail> = messages
                    .iter()
                    .filter(|m| m.rcpt_to.iter().any(|r| r == to))
                    .collect();
                if let Some(last) = to_them.last().filter(|_| to_them.len() >= count) {
                    return Ok((*last).clone());
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                anyhow::bail!("fewer than {count} mails to {to} within {timeout:?}");
            }
        }
    }

    /// How many messages went to `to` so far.
    pub async fn count_to(&self, to: &str) -> usize {
        self.messages
            .lock()
            .await
            .iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r == to))
            .count()
    }
}

/// Starts the listener on a free loopback port; returns its port and the sink.
pub async fn start() -> anyhow::Result<(u16, MailSink)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let sink = MailSink::default();
    let accept_sink = sink.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = accept_sink.clone();
            tokio::spawn(async move {
                let _ = session(stream, sink).await;
            });
        }
    });
    Ok((port, sink))
}

async fn session(stream: tokio::net::TcpStream, sink: MailSink) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost test SMTP\r\n").await?;
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            if command.starts_with("RSET") {
                rcpt_to.clear();
            }
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned();
            rcpt_to.push(address.to_ascii_lowercase());
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut raw = Vec::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                let content = line
                    .strip_prefix('.')
                    .filter(|_| line.starts_with(".."))
                    .unwrap_or(&line);
                raw.extend_from_slice(content.as_bytes());
            }
            sink.messages.lock().await.push(ReceivedMail {
                rcpt_to: std::mem::take(&mut rcpt_to),
                raw,
            });
            sink.arrived.notify_waiters();
            write.write_all(b"250 OK queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
