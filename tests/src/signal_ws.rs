//! The remote counter's signalling WebSocket as a client, for tests: the
//! [`madoguchi_testpeer::Signalling`] a headless peer joins through (so its media crosses the
//! real server and SFU), plus raw frames for misbehaving and the room's notices for asserting.

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use madoguchi_sfu::{
    CloseReason, ForwardedTrack, IceCandidate, MediaKind, ParticipantEvent, ParticipantId,
};
use madoguchi_testpeer::{Signalling, SignallingError};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// One participant's signalling socket.
pub struct WsSignalling {
    grant: String,
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicU64,
    events: Mutex<Option<mpsc::UnboundedReceiver<ParticipantEvent>>>,
    /// Every frame the server sent that was no direct reply, in order.
    frames: Arc<Mutex<Vec<Value>>>,
    /// The `joined` frame, once joined.
    joined: Mutex<Option<Value>>,
}

/// How long a direct reply may take on a loaded CI machine.
const REPLY_WITHIN: Duration = Duration::from_secs(20);

impl WsSignalling {
    /// Opens `ws://…/api/v1/counter/rooms/{room}/signal` of the app at `base_url` for the holder
    /// of `grant` (joining happens on [`Signalling::join`]).
    pub async fn connect(base_url: &str, room: &str, grant: &str) -> anyhow::Result<Arc<Self>> {
        let url = format!(
            "{}/api/v1/counter/rooms/{room}/signal",
            base_url.replacen("http", "ws", 1)
        );
        Self::connect_url(&url, grant).await
    }

    /// Opens the signalling at `url` as a grant's answer names it (`signal_url`: the room's
    /// media node, wherever it is).
    pub async fn connect_url(url: &str, grant: &str) -> anyhow::Result<Arc<Self>> {
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let pending: Pending = Arc::default();
        let frames: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (events_tx, events) = mpsc::unbounded_channel();
        {
            let pending = Arc::clone(&pending);
            let frames = Arc::clone(&frames);
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if let Some(id) = frame.get("reply_to").and_then(Value::as_u64) {
                        let waiter = pending.lock().map(|mut p| p.remove(&id)).ok().flatten();
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(frame);
                            continue;
                        }
                    }
                    if let Some(event) = event_of(&frame) {
                        let _ = events_tx.send(event);
                    }
                    if let Ok(mut frames) = frames.lock() {
                        frames.push(frame);
                    }
                }
            });
        }
        Ok(Arc::new(Self {
            grant: grant.to_owned(),
            out,
            pending,
            next_id: AtomicU64::new(1),
            events: Mutex::new(Some(events)),
            frames,
            joined: Mutex::new(None),
        }))
    }

    /// Sends `frame` with a fresh `id` and waits for the server's direct reply.
    pub async fn request(&self, mut frame: Value) -> anyhow::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        frame["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .insert(id, tx);
        self.send_raw(Message::Text(frame.to_string().into()))?;
        Ok(tokio::time::timeout(REPLY_WITHIN, rx).await??)
    }

    /// Sends a frame as it is (malformed ones included).
    pub fn send_raw(&self, message: Message) -> anyhow::Result<()> {
        self.out
            .send(message)
            .map_err(|_| anyhow::anyhow!("the socket is closed"))
    }

    /// Frames that were no direct reply, so far.
    pub fn frames(&self) -> Vec<Value> {
        self.frames.lock().map(|f| f.clone()).unwrap_or_default()
    }

    /// The `joined` frame.
    pub fn joined(&self) -> Option<Value> {
        self.joined.lock().ok().and_then(|j| j.clone())
    }

    /// Waits until a frame matching `test` has arrived.
    pub async fn wait_frame(
        &self,
        what: &str,
        test: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + REPLY_WITHIN;
        loop {
            if let Some(found) = self.frames().into_iter().find(|f| test(f)) {
                return Ok(found);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.frames()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn call(&self, frame: Value) -> Result<Value, SignallingError> {
        let reply = self
            .request(frame)
            .await
            .map_err(|e| SignallingError::Transport(e.to_string()))?;
        if reply["type"] == "error" {
            return Err(SignallingError::from_wire(
                reply["code"].as_str().unwrap_or_default(),
                reply["message"].as_str().unwrap_or_default(),
            ));
        }
        Ok(reply)
    }
}

/// The SFU event a server frame stands for, as the in-process signalling would deliver it.
fn event_of(frame: &Value) -> Option<ParticipantEvent> {
    Some(match frame["type"].as_str()? {
        "offer" => ParticipantEvent::Offer {
            request_id: frame["request_id"].as_u64()?,
            sdp: frame["sdp"].as_str()?.to_owned(),
            tracks: frame["tracks"]
                .as_array()?
                .iter()
                .filter_map(|t| {
                    Some(ForwardedTrack {
                        mid: t["mid"].as_str()?.to_owned(),
                        publisher: ParticipantId::new(t["publisher"].as_str()?).ok()?,
                        kind: if t["kind"] == "audio" {
                            MediaKind::Audio
                        } else {
                            MediaKind::Video
                        },
                        publisher_track_id: t["track_id"].as_str()?.to_owned(),
                    })
                })
                .collect(),
        },
        "connected" => ParticipantEvent::Connected,
        "connection_failed" => ParticipantEvent::ConnectionFailed,
        "chat" => ParticipantEvent::Chat {
            from: ParticipantId::new(frame["from"].as_str()?).ok()?,
            text: frame["text"].as_str()?.to_owned(),
        },
        "closed" => ParticipantEvent::Closed(if frame["reason"] == "room_ended" {
            CloseReason::RoomClosed
        } else {
            CloseReason::ConnectionLost
        }),
        "error" => match SignallingError::from_wire(frame["code"].as_str()?, "") {
            SignallingError::Sfu(error) => ParticipantEvent::Refused(error),
            _ => return None,
        },
        _ => return None,
    })
}

#[async_trait]
impl Signalling for WsSignalling {
    async fn join(
        &self,
        offer_sdp: String,
    ) -> Result<(String, mpsc::UnboundedReceiver<ParticipantEvent>), SignallingError> {
        let reply = self
            .call(json!({"type": "join", "grant": self.grant, "sdp": offer_sdp}))
            .await?;
        let answer = reply["sdp"]
            .as_str()
            .ok_or_else(|| SignallingError::Transport(format!("no answer in {reply}")))?
            .to_owned();
        if let Ok(mut joined) = self.joined.lock() {
            *joined = Some(reply);
        }
        let events = self
            .events
            .lock()
            .ok()
            .and_then(|mut e| e.take())
            .ok_or_else(|| SignallingError::Transport("joined twice".to_owned()))?;
        Ok((answer, events))
    }

    async fn offer(&self, offer_sdp: String) -> Result<String, SignallingError> {
        let reply = self
            .call(json!({"type": "offer", "sdp": offer_sdp}))
            .await?;
        reply["sdp"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SignallingError::Transport(format!("no answer in {reply}")))
    }

    async fn answer(&self, request_id: u64, answer_sdp: String) -> Result<(), SignallingError> {
        self.call(json!({"type": "answer", "request_id": request_id, "sdp": answer_sdp}))
            .await
            .map(|_| ())
    }

    async fn candidate(&self, candidate: IceCandidate) -> Result<(), SignallingError> {
        self.call(json!({"type": "candidate", "candidate": {
            "candidate": candidate.candidate,
            "sdpMid": candidate.sdp_mid,
            "sdpMLineIndex": candidate.sdp_mline_index,
            "usernameFragment": candidate.username_fragment,
        }}))
        .await
        .map(|_| ())
    }

    async fn leave(&self) -> Result<(), SignallingError> {
        self.send_raw(Message::Text(json!({"type": "leave"}).to_string().into()))
            .map_err(|e| SignallingError::Transport(e.to_string()))
    }
}

impl std::fmt::Debug for WsSignalling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WsSignalling")
    }
}
