//! Starting the SFU and talking to it: [`Sfu::start`] and the cloneable [`SfuHandle`].

use std::io;
use std::net::{SocketAddr, UdpSocket};

use tokio::sync::{mpsc, oneshot};

use crate::config::SfuConfig;
use crate::engine::{self, Command, Reply};
use crate::error::SfuError;
use crate::event::{ParticipantEvent, SfuStats};
use crate::grant::Grant;
use crate::ids::{ParticipantId, RoomId};
use crate::router::{IceCandidate, Router};

/// Signalling calls queue up to this many before callers wait: back-pressure on the server.
const COMMAND_QUEUE_LEN: usize = 1024;

/// Entry point: [`Sfu::start`].
pub struct Sfu;

/// A participant that joined: the SDP answer to send it, and its events.
#[derive(Debug)]
pub struct Joined {
    pub answer_sdp: String,
    pub events: mpsc::UnboundedReceiver<ParticipantEvent>,
}

impl Sfu {
    /// Bind the SFU's socket and start its loop on a thread of its own.
    ///
    /// Fails if the socket cannot be bound, or if the address to advertise is unknown (a
    /// wildcard `bind` with no `public_ip`).
    pub fn start(config: SfuConfig) -> io::Result<SfuHandle> {
        let socket = bind_socket(&config)?;
        let local_addr = socket.local_addr()?;
        let advertised_ip = config.public_ip.unwrap_or(local_addr.ip());
        if advertised_ip.is_unspecified() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the SFU binds a wildcard address: set public_ip to the address peers reach it at",
            ));
        }
        let advertised = SocketAddr::new(advertised_ip, local_addr.port());
        let router = Router::new(config, local_addr, advertised).map_err(io::Error::other)?;
        let (commands, receiver) = mpsc::channel(COMMAND_QUEUE_LEN);
        std::thread::Builder::new()
            .name("madoguchi-sfu".to_owned())
            .spawn(move || engine::run(socket, router, receiver))?;
        tracing::info!(%local_addr, %advertised, "SFU started");
        Ok(SfuHandle {
            commands,
            local_addr,
            advertised,
        })
    }
}

/// The shared socket, with buffers sized for every participant's media at once.
fn bind_socket(config: &SfuConfig) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(
        Domain::for_address(config.bind),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    // Best effort: the kernel caps the sizes, and a smaller buffer only costs loss under load.
    if let Err(e) = socket.set_recv_buffer_size(config.socket_buffer_bytes) {
        tracing::warn!(error = %e, "the SFU socket's receive buffer could not be enlarged");
    }
    if let Err(e) = socket.set_send_buffer_size(config.socket_buffer_bytes) {
        tracing::warn!(error = %e, "the SFU socket's send buffer could not be enlarged");
    }
    socket.bind(&config.bind.into())?;
    socket.set_nonblocking(true)?;
    tracing::debug!(
        receive_buffer_bytes = socket.recv_buffer_size().unwrap_or(0),
        "SFU socket bound"
    );
    Ok(socket.into())
}

/// Drives a running SFU; cheap to clone. The SFU stops when [`SfuHandle::shutdown`] is called
/// or the last handle is dropped.
#[derive(Clone, Debug)]
pub struct SfuHandle {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    advertised: SocketAddr,
}

impl SfuHandle {
    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address peers are told to send media to.
    pub fn advertised_addr(&self) -> SocketAddr {
        self.advertised
    }

    async fn call<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> Result<T, SfuError> {
        let (reply, response) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| SfuError::Stopped)?;
        response.await.map_err(|_| SfuError::Stopped)?
    }

    /// Add a participant to a room (created on first join) with its first offer, which must
    /// carry its send tracks and its `chat` data channel. Returns the answer and the
    /// participant's event stream; the SFU then offers the other participants' tracks.
    pub async fn join(
        &self,
        room: RoomId,
        participant: ParticipantId,
        grant: Grant,
        offer_sdp: String,
    ) -> Result<Joined, SfuError> {
        let (answer_sdp, events) = self
            .call(|reply| Command::Join {
                room,
                participant,
                grant,
                offer_sdp,
                reply,
            })
            .await?;
        Ok(Joined { answer_sdp, events })
    }

    /// A later offer from the participant: tracks added or stopped, or an ICE restart
    /// (`pc.restartIce()`). Returns the answer. Refused with `glare` while an offer of the
    /// SFU's awaits its answer.
    pub async fn offer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer_sdp: String,
    ) -> Result<String, SfuError> {
        self.call(|reply| Command::Offer {
            room,
            participant,
            offer_sdp,
            reply,
        })
        .await
    }

    /// The participant's answer to [`ParticipantEvent::Offer`] `request_id`.
    pub async fn answer(
        &self,
        room: RoomId,
        participant: ParticipantId,
        request_id: u64,
        answer_sdp: String,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::Answer {
            room,
            participant,
            request_id,
            answer_sdp,
            reply,
        })
        .await
    }

    /// A trickled candidate of the participant. The SFU is ICE-lite and learns addresses from
    /// the participant's checks, so this is optional; a malformed one is `candidate_invalid`.
    pub async fn candidate(
        &self,
        room: RoomId,
        participant: ParticipantId,
        candidate: IceCandidate,
    ) -> Result<(), SfuError> {
        self.call(|reply| Command::Candidate {
            room,
            participant,
            candidate,
            reply,
        })
        .await
    }

    /// Remove a participant; the others are offered the removal of its tracks.
    pub async fn leave(&self, room: RoomId, participant: ParticipantId) -> Result<(), SfuError> {
        self.call(|reply| Command::Leave {
            room,
            participant,
            reply,
        })
        .await
    }

    /// Close a room: all its participants get [`ParticipantEvent::Closed`]. Returns how many.
    pub async fn close_room(&self, room: RoomId) -> Result<usize, SfuError> {
        self.call(|reply| Command::CloseRoom { room, reply }).await
    }

    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// Close every connection and stop the loop.
    pub async fn shutdown(&self) -> Result<(), SfuError> {
        self.call(|reply| Command::Shutdown { reply }).await
    }
}
