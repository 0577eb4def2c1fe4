//! A weak link for tests: a UDP relay between one peer and the SFU that drops a share of the
//! media each way.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::task::JoinHandle;

use crate::error::Result;

/// A UDP relay between one peer and the SFU that drops a share of the media each way: a weak
/// link. The SFU sees the relay's address as the peer's.
pub struct LossyLink {
    pub addr: std::net::SocketAddr,
    pub dropped: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

impl LossyLink {
    pub async fn start(
        sfu: std::net::SocketAddr,
        downlink_loss_percent: u32,
        uplink_loss_percent: u32,
    ) -> Result<LossyLink> {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
        let addr = socket.local_addr()?;
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let mut peer: Option<std::net::SocketAddr> = None;
            while let Ok((len, from)) = socket.recv_from(&mut buf).await {
                // Only media is dropped (RFC 7983: first byte 128–191 is RTP/RTCP): the
                // handshakes get through, so the test is about forwarding, not about how
                // long DTLS takes to retransmit its way through a lossy link.
                let is_media = matches!(buf.first(), Some(128..=191));
                let (to, loss_percent) = if from == sfu {
                    let Some(peer) = peer else { continue };
                    (peer, downlink_loss_percent)
                } else {
                    peer = Some(from);
                    (sfu, uplink_loss_percent)
                };
                if is_media && rand::random::<u32>() % 100 < loss_percent {
                    counter.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let _ = socket.send_to(&buf[..len], to).await;
            }
        });
        Ok(LossyLink {
            addr,
            dropped,
            task,
        })
    }
}

impl Drop for LossyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}
