//! Which participant a datagram on the shared socket belongs to.
//!
//! During ICE a datagram is a STUN binding request whose USERNAME starts with the ufrag the
//! SFU issued to one participant; once that is seen, the sender's address is remembered and
//! every later datagram (DTLS, SRTP, SCTP) from it is routed by address alone.

use std::collections::HashMap;
use std::net::SocketAddr;

use rtc::stun::attributes::ATTR_USERNAME;
use rtc::stun::message::{Message, is_stun_message};
use rtc::stun::textattrs::Username;

/// The SFU-internal key of one participant's connection (never reused within an instance).
pub(crate) type SessionKey = u64;

#[derive(Debug, Default)]
pub(crate) struct Demuxer {
    by_ufrag: HashMap<String, SessionKey>,
    by_addr: HashMap<SocketAddr, SessionKey>,
}

impl Demuxer {
    pub(crate) fn register_ufrag(&mut self, ufrag: String, session: SessionKey) {
        self.by_ufrag.insert(ufrag, session);
    }

    /// Route one datagram. A STUN request is routed by its ufrag even from a known address:
    /// that is how a client that moved (ICE restart, NAT rebinding) or an address reused by a
    /// new client is re-learned.
    pub(crate) fn route(&mut self, from: SocketAddr, datagram: &[u8]) -> Option<SessionKey> {
        if is_stun_message(datagram)
            && let Some(session) = self.route_stun(datagram)
        {
            self.by_addr.insert(from, session);
            return Some(session);
        }
        self.by_addr.get(&from).copied()
    }

    fn route_stun(&self, datagram: &[u8]) -> Option<SessionKey> {
        let mut message = Message::new();
        message.unmarshal_binary(datagram).ok()?;
        // USERNAME = "<ufrag the SFU issued>:<the client's ufrag>".
        let username = Username::get_from_as(&message, ATTR_USERNAME).ok()?;
        let local_ufrag = username.text.split_once(':')?.0;
        self.by_ufrag.get(local_ufrag).copied()
    }

    /// Forget a participant that left: its ufrags and addresses route nowhere any more.
    pub(crate) fn forget(&mut self, session: SessionKey) {
        self.by_ufrag.retain(|_, s| *s != session);
        self.by_addr.retain(|_, s| *s != session);
    }
}
