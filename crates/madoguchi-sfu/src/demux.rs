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

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::stun::message::{BINDING_REQUEST, TransactionId};
    use rtc::stun::textattrs::TextAttribute;

    fn binding_request(username: &str) -> Vec<u8> {
        let mut message = Message::new();
        message
            .build(&[
                Box::new(BINDING_REQUEST),
                Box::new(TransactionId::new()),
                Box::new(TextAttribute::new(ATTR_USERNAME, username.to_owned())),
            ])
            .unwrap();
        message.raw
    }

    #[test]
    fn a_binding_request_routes_by_ufrag_and_teaches_the_address() {
        let mut demux = Demuxer::default();
        demux.register_ufrag("sfuA".to_owned(), 1);
        demux.register_ufrag("sfuB".to_owned(), 2);
        let client: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(demux.route(client, b"\x80media before ICE"), None);
        assert_eq!(
            demux.route(client, &binding_request("sfuB:client")),
            Some(2)
        );
        assert_eq!(demux.route(client, b"\x80media"), Some(2));
        // Unknown ufrag: not routed, and the learned address is left alone.
        assert_eq!(
            demux.route(client, &binding_request("nobody:client")),
            Some(2)
        );
        let stranger: SocketAddr = "192.0.2.9:5000".parse().unwrap();
        assert_eq!(demux.route(stranger, &binding_request("nobody:x")), None);
    }

    #[test]
    fn a_participant_that_left_routes_nowhere() {
        let mut demux = Demuxer::default();
        demux.register_ufrag("sfuA".to_owned(), 1);
        let client: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(demux.route(client, &binding_request("sfuA:c")), Some(1));
        demux.forget(1);
        assert_eq!(demux.route(client, b"\x80media"), None);
        assert_eq!(demux.route(client, &binding_request("sfuA:c")), None);
    }
}
