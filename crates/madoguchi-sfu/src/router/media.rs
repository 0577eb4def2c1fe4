//! What the router does with what participants send: RTP forwarded to every subscriber leg,
//! keyframe requests relayed to publishers, chat relayed to the room.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::data_channel::RTCDataChannelId;
use rtc::peer_connection::message::RTCMessage;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp;
use rtc::rtp_transceiver::RTCRtpReceiverId;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use tracing::debug;

use super::{CachedLeg, Publication, Router};
use crate::chat;
use crate::demux::SessionKey;
use crate::error::SfuError;
use crate::event::{MediaKind, ParticipantEvent};
use crate::forward::LegTranslation;
use crate::session::Session;

/// Counts a publisher stream's packets and the gaps in its sequence numbers.
#[derive(Default)]
pub(super) struct SequenceCounter {
    highest: Option<u64>,
    lost: u64,
}

impl SequenceCounter {
    /// Gaps count as lost; late packets (retransmissions, reordering) count nothing.
    fn record(&mut self, sequence_number: u16) -> u64 {
        let Some(highest) = self.highest else {
            self.highest = Some(u64::from(sequence_number));
            return 0;
        };
        let cycle = highest & !0xffff;
        let mut extended = cycle | u64::from(sequence_number);
        // Pick the candidate nearest the highest seen, across a 16-bit wrap.
        if extended + 0x8000 < highest {
            extended += 0x1_0000;
        } else if extended > highest + 0x8000 && extended >= 0x1_0000 {
            extended -= 0x1_0000;
        }
        if extended <= highest {
            return 0;
        }
        let gap = extended - highest - 1;
        self.highest = Some(extended);
        self.lost += gap;
        gap
    }
}

impl Router {
    /// One datagram from the shared socket.
    pub(crate) fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: BytesMut) {
        let Some(key) = self.demux.route(from, &datagram) else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        let Some(session) = self.sessions.get_mut(&key) else {
            self.stats.datagrams_dropped += 1;
            return;
        };
        let tagged = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.local_addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: datagram,
        };
        // A datagram the connection refuses (garbage, a replay, DTLS racing ahead) is dropped;
        // it must never stop the loop or touch anyone else.
        if let Err(e) = session.pc.handle_read(tagged) {
            self.stats.datagrams_dropped += 1;
            debug!(room = %session.room, participant = %session.participant, error = %e, "datagram refused");
        }
        session.pump(now);
        let room = session.room.clone();
        self.process_reads(now, key);
        self.flush_room(&room);
    }

    /// What the connection decoded: RTP to forward, keyframe requests to relay, chat to relay.
    pub(super) fn process_reads(&mut self, now: Instant, key: SessionKey) {
        let Some(session) = self.sessions.get_mut(&key) else {
            return;
        };
        let mut reads = Vec::new();
        while let Some(read) = session.pc.poll_read() {
            reads.push(read.message);
        }
        for read in reads {
            match read {
                RTCMessage::RtpPacket(_, packet) => self.forward_rtp(now, key, packet),
                RTCMessage::RtcpPacket(_, packets) => {
                    self.relay_keyframe_requests(now, key, &packets)
                }
                RTCMessage::DataChannelMessage(channel, message) => {
                    self.relay_chat(now, key, channel, &message.data);
                }
                _ => {}
            }
        }
    }

    fn forward_rtp(&mut self, now: Instant, from: SessionKey, packet: rtp::Packet) {
        let Router {
            rooms,
            sessions,
            stats,
            config,
            ..
        } = self;
        let Some(room_id) = sessions.get(&from).map(|s| s.room.clone()) else {
            return;
        };
        let Some(room) = rooms.get_mut(&room_id) else {
            return;
        };
        stats.rtp_packets_received += 1;
        stats.rtp_bytes_received += packet.payload.len() as u64;
        let Some(track_key) = room.by_ssrc.get(&packet.header.ssrc) else {
            return;
        };
        // Only the publisher that announced an SSRC may send on it.
        if track_key.publisher != from {
            return;
        }
        let Some(publication) = room.publications.get_mut(track_key) else {
            return;
        };
        stats.rtp_packets_lost += publication.sequence.record(packet.header.sequence_number);
        let mut keyframe_wanted = false;
        for (subscriber, leg) in publication.legs.iter_mut() {
            let Some(session) = sessions.get_mut(subscriber) else {
                continue;
            };
            // Before DTLS completes there is no SRTP context: the packet would be dropped.
            if !session.connected {
                continue;
            }
            let stale = leg.cache.as_ref().is_none_or(|c| {
                c.subscriber_epoch != session.epoch
                    || c.publisher_epoch != publication.publisher_epoch
            });
            if stale {
                leg.cache =
                    session
                        .leg_parameters(leg.sender)
                        .map(|(codecs, extensions, mid, sending)| CachedLeg {
                            subscriber_epoch: session.epoch,
                            publisher_epoch: publication.publisher_epoch,
                            sending,
                            translation: LegTranslation::new(
                                &publication.track.codecs,
                                &publication.track.extensions,
                                &codecs,
                                &extensions,
                                &mid,
                            ),
                        });
            }
            let Some(cache) = &leg.cache else {
                continue;
            };
            // Not until the subscriber has answered the offer that added this leg.
            if !cache.sending {
                continue;
            }
            let Some(out) = cache.translation.translate(&packet) else {
                continue;
            };
            let bytes = out.payload.len() as u64;
            let written = session
                .pc
                .rtp_sender(leg.sender)
                .map(|mut s| s.write_rtp(now, out));
            match written {
                Some(Ok(())) => {
                    stats.rtp_packets_forwarded += 1;
                    stats.rtp_bytes_forwarded += bytes;
                }
                Some(Err(e)) => {
                    debug!(room = %room_id, error = %e, "forwarding refused by the leg")
                }
                None => {}
            }
            if leg.keyframe_wanted {
                leg.keyframe_wanted = false;
                keyframe_wanted = true;
            }
        }
        if keyframe_wanted && publication.track.kind == MediaKind::Video {
            let receiver = publication.track.receiver;
            let ssrc = publication.track.ssrc;
            if keyframe_request_due(publication, now, config.keyframe_request_gap)
                && let Some(publisher) = sessions.get_mut(&from)
            {
                send_pli(publisher, now, receiver, ssrc);
                stats.keyframe_requests_sent += 1;
            }
        }
    }

    /// A subscriber's PLI/FIR about a forwarded stream goes to that stream's publisher, as a PLI
    /// (FIR needs per-sender sequence numbers we do not keep; PLI has the same effect on VP8).
    fn relay_keyframe_requests(
        &mut self,
        now: Instant,
        from: SessionKey,
        packets: &[Box<dyn rtc::rtcp::Packet>],
    ) {
        let Router {
            rooms,
            sessions,
            stats,
            config,
            ..
        } = self;
        let Some(room_id) = sessions.get(&from).map(|s| s.room.clone()) else {
            return;
        };
        let Some(room) = rooms.get_mut(&room_id) else {
            return;
        };
        let mut media_ssrcs = Vec::new();
        for packet in packets {
            let any = packet.as_any();
            if let Some(pli) = any.downcast_ref::<PictureLossIndication>() {
                media_ssrcs.push(pli.media_ssrc);
            } else if let Some(fir) = any.downcast_ref::<FullIntraRequest>() {
                media_ssrcs.extend(fir.fir.iter().map(|entry| entry.ssrc));
            }
        }
        for ssrc in media_ssrcs {
            let Some(track_key) = room.by_ssrc.get(&ssrc) else {
                continue;
            };
            if track_key.publisher == from
                || !room
                    .publications
                    .get(track_key)
                    .is_some_and(|p| p.legs.contains_key(&from))
            {
                continue;
            }
            let publisher_key = track_key.publisher;
            let Some(publication) = room.publications.get_mut(track_key) else {
                continue;
            };
            if !keyframe_request_due(publication, now, config.keyframe_request_gap) {
                continue;
            }
            let receiver = publication.track.receiver;
            if let Some(publisher) = sessions.get_mut(&publisher_key) {
                send_pli(publisher, now, receiver, ssrc);
                stats.keyframe_requests_sent += 1;
            }
        }
    }

    fn relay_chat(
        &mut self,
        now: Instant,
        from: SessionKey,
        channel: RTCDataChannelId,
        data: &[u8],
    ) {
        let Some(sender) = self.sessions.get_mut(&from) else {
            return;
        };
        // Other channels a client may open are not ours to relay.
        if sender.chat_channel != Some(channel) {
            return;
        }
        let accepted = if !sender.grant.chat {
            Err(SfuError::NotAllowed("chat"))
        } else if !sender.chat_limiter.try_take(now) {
            Err(SfuError::RateLimited)
        } else {
            chat::accept_message(data, self.config.chat_message_bytes_max)
        };
        let text = match accepted {
            Ok(text) => text,
            Err(refusal) => {
                self.stats.chat_messages_refused += 1;
                // One notice per second at most: a flood must not become a flood of events.
                let due = sender
                    .refusal_noticed_at
                    .is_none_or(|at| now.saturating_duration_since(at).as_secs() >= 1);
                if due {
                    sender.refusal_noticed_at = Some(now);
                    debug!(room = %sender.room, participant = %sender.participant, code = refusal.code(), "chat message refused");
                    sender.notify(ParticipantEvent::Refused(refusal));
                }
                return;
            }
        };
        let from_id = sender.participant.clone();
        let room_id = sender.room.clone();
        let envelope = chat::envelope(&from_id, &text);
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        for (_, key) in &room.members {
            if *key == from {
                continue;
            }
            let Some(recipient) = self.sessions.get_mut(key) else {
                continue;
            };
            if let Some(channel) = recipient.chat_channel
                && let Some(mut data_channel) = recipient.pc.data_channel(channel)
                && let Err(e) = data_channel.send_text(now, envelope.clone())
            {
                debug!(room = %room_id, error = %e, "chat delivery failed");
            }
            recipient.notify(ParticipantEvent::Chat {
                from: from_id.clone(),
                text: text.clone(),
            });
        }
        self.stats.chat_messages_relayed += 1;
    }
}

impl Router {
    /// Tell every video publisher the ceiling for each of its tracks. Only a ceiling: the SFU
    /// never lowers a publisher for one weak subscriber (that would degrade everyone else);
    /// a weak subscriber's leg loses packets and recovers with NACK and keyframe requests.
    pub(super) fn send_bitrate_caps(&mut self, now: Instant, bitrate_bps: u32) {
        let Router {
            rooms, sessions, ..
        } = self;
        for room in rooms.values() {
            for (track_key, publication) in &room.publications {
                if publication.track.kind != MediaKind::Video {
                    continue;
                }
                let Some(publisher) = sessions.get_mut(&track_key.publisher) else {
                    continue;
                };
                if !publisher.connected {
                    continue;
                }
                let remb: Box<dyn rtc::rtcp::Packet> = Box::new(ReceiverEstimatedMaximumBitrate {
                    sender_ssrc: 0,
                    bitrate: bitrate_bps as f32,
                    ssrcs: vec![publication.track.ssrc],
                });
                if let Some(mut receiver) = publisher.pc.rtp_receiver(publication.track.receiver)
                    && let Err(e) = receiver.write_rtcp(now, vec![remb])
                {
                    debug!(participant = %publisher.participant, error = %e, "bitrate cap not sent");
                }
            }
        }
    }
}

fn keyframe_request_due(publication: &mut Publication, now: Instant, gap: Duration) -> bool {
    let due = publication
        .last_keyframe_request
        .is_none_or(|at| now.saturating_duration_since(at) >= gap);
    if due {
        publication.last_keyframe_request = Some(now);
    }
    due
}

fn send_pli(publisher: &mut Session, now: Instant, receiver: RTCRtpReceiverId, media_ssrc: u32) {
    let pli: Box<dyn rtc::rtcp::Packet> = Box::new(PictureLossIndication {
        sender_ssrc: 0,
        media_ssrc,
    });
    if let Some(mut receiver) = publisher.pc.rtp_receiver(receiver)
        && let Err(e) = receiver.write_rtcp(now, vec![pli])
    {
        debug!(participant = %publisher.participant, error = %e, "keyframe request failed");
    }
}

#[cfg(test)]
mod tests {
    use super::SequenceCounter;

    #[test]
    fn sequence_gaps_count_as_lost_across_the_16_bit_wrap() {
        let mut counter = SequenceCounter::default();
        for seq in [65_533u16, 65_534, 65_535, 0, 3, 4] {
            counter.record(seq);
        }
        assert_eq!(counter.lost, 2, "1 and 2 never came");
        counter.record(2); // late: not lost any more, but not double counted either
        assert_eq!(counter.lost, 2);
    }
}
