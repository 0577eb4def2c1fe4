//! The SFU's event loop: one thread, one current-thread tokio runtime, one UDP socket.
//!
//! The loop owns [`Router`] and is the only thing that touches it, so there are no locks on the
//! media path. It runs on its own OS thread so that media forwarding never waits behind the
//! server's HTTP work on a shared runtime, and so the benchmark can measure its CPU alone.

use std::io::ErrorKind;
use std::net::UdpSocket as StdUdpSocket;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;
use tracing::{debug, info, warn};

use crate::error::SfuError;
use crate::event::{ParticipantEvent, SfuStats};
use crate::grant::Grant;
use crate::ids::{ParticipantId, RoomId};
use crate::router::{IceCandidate, Router};

/// How often connections' timers are checked. rtc's timers (retransmissions, RTCP reports,
/// consent) tolerate a few milliseconds of lateness; a scan per datagram would not scale.
const TIMER_TICK: Duration = Duration::from_millis(5);
/// Datagrams read in one go before the loop flushes output and looks at commands again.
const READ_BATCH_MAX: usize = 64;
/// Large enough for any datagram a WebRTC peer sends (they keep under the path MTU).
const DATAGRAM_BYTES_MAX: usize = 2048;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, SfuError>>;

/// What the handle asks the loop to do.
pub(crate) enum Command {
    Join {
        room: RoomId,
        participant: ParticipantId,
        grant: Grant,
        offer_sdp: String,
        reply: Reply<(String, mpsc::UnboundedReceiver<ParticipantEvent>)>,
    },
    Offer {
        room: RoomId,
        participant: ParticipantId,
        offer_sdp: String,
        reply: Reply<String>,
    },
    Answer {
        room: RoomId,
        participant: ParticipantId,
        request_id: u64,
        answer_sdp: String,
        reply: Reply<()>,
    },
    Candidate {
        room: RoomId,
        participant: ParticipantId,
        candidate: IceCandidate,
        reply: Reply<()>,
    },
    Leave {
        room: RoomId,
        participant: ParticipantId,
        reply: Reply<()>,
    },
    CloseRoom {
        room: RoomId,
        reply: Reply<usize>,
    },
    Stats {
        reply: Reply<SfuStats>,
    },
    Shutdown {
        reply: Reply<()>,
    },
}

/// Run the loop until shut down or every handle is dropped.
pub(crate) fn run(socket: StdUdpSocket, router: Router, commands: mpsc::Receiver<Command>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            warn!(error = %e, "the SFU could not start its runtime");
            return;
        }
    };
    runtime.block_on(async move {
        match UdpSocket::from_std(socket) {
            Ok(socket) => serve(socket, router, commands).await,
            Err(e) => warn!(error = %e, "the SFU could not use its socket"),
        }
    });
}

async fn serve(socket: UdpSocket, mut router: Router, mut commands: mpsc::Receiver<Command>) {
    let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
    let mut tick = tokio::time::interval(TIMER_TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        send_outbox(&socket, &mut router).await;
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                match received {
                    Ok((len, from)) => router.handle_datagram(Instant::now(), from, BytesMut::from(&buf[..len])),
                    // E.g. ICMP port unreachable reported for an earlier send: not fatal.
                    Err(e) => debug!(error = %e, "receive failed"),
                }
                for _ in 1..READ_BATCH_MAX {
                    match socket.try_recv_from(&mut buf) {
                        Ok((len, from)) => router.handle_datagram(Instant::now(), from, BytesMut::from(&buf[..len])),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => {
                            debug!(error = %e, "receive failed");
                            break;
                        }
                    }
                }
            }
            command = commands.recv() => {
                let Some(command) = command else { break };
                if let Some(reply) = handle_command(&mut router, command) {
                    router.close_all();
                    send_outbox(&socket, &mut router).await;
                    let _ = reply.send(Ok(()));
                    break;
                }
            }
            _ = tick.tick() => router.handle_timeouts(Instant::now()),
        }
    }
    router.close_all();
    send_outbox(&socket, &mut router).await;
    info!("SFU stopped");
}

/// Apply one command; returns the reply channel when it is `Shutdown`.
fn handle_command(router: &mut Router, command: Command) -> Option<Reply<()>> {
    let now = Instant::now();
    match command {
        Command::Join {
            room,
            participant,
            grant,
            offer_sdp,
            reply,
        } => {
            let _ = reply.send(router.join(now, room, participant, grant, offer_sdp));
        }
        Command::Offer {
            room,
            participant,
            offer_sdp,
            reply,
        } => {
            let _ = reply.send(router.offer(now, &room, &participant, offer_sdp));
        }
        Command::Answer {
            room,
            participant,
            request_id,
            answer_sdp,
            reply,
        } => {
            let _ = reply.send(router.answer(now, &room, &participant, request_id, answer_sdp));
        }
        Command::Candidate {
            room,
            participant,
            candidate,
            reply,
        } => {
            let _ = reply.send(router.candidate(now, &room, &participant, candidate));
        }
        Command::Leave {
            room,
            participant,
            reply,
        } => {
            let _ = reply.send(router.leave(now, &room, &participant));
        }
        Command::CloseRoom { room, reply } => {
            let _ = reply.send(router.close_room(&room));
        }
        Command::Stats { reply } => {
            let _ = reply.send(Ok(router.stats()));
        }
        Command::Shutdown { reply } => return Some(reply),
    }
    None
}

async fn send_outbox(socket: &UdpSocket, router: &mut Router) {
    for (to, datagram) in router.outbox.drain(..) {
        match socket.try_send_to(&datagram, to) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if let Err(e) = socket.send_to(&datagram, to).await {
                    debug!(error = %e, "send failed");
                }
            }
            Err(e) => debug!(error = %e, "send failed"),
        }
    }
}
