//! Identifiers the SFU is driven with: rooms and participants, both opaque to it.
//!
//! The server mints them (an appointment's room, a session's participant); the SFU only needs
//! them to be short, printable and safe to log, so the constructors refuse anything else.

use std::fmt;
use std::sync::Arc;

use crate::error::SfuError;

/// The longest id accepted, in bytes: ids go into logs, events and chat envelopes.
pub const ID_LEN_MAX: usize = 64;

fn check_id(what: &'static str, text: &str) -> Result<(), SfuError> {
    let printable = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if text.is_empty() || text.len() > ID_LEN_MAX || !printable {
        return Err(SfuError::InvalidId(what));
    }
    Ok(())
}

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// Accepts 1 to [`ID_LEN_MAX`] bytes of ASCII letters, digits, `-`, `_` and `.`
            /// (they end up in SDP `msid` tokens, which allow no `:`).
            pub fn new(text: impl AsRef<str>) -> Result<Self, SfuError> {
                let text = text.as_ref();
                check_id($what, text)?;
                Ok(Self(Arc::from(text)))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), &self.0)
            }
        }
    };
}

opaque_id!(
    /// A room: the participants who see and hear each other (one remote-counter call).
    RoomId,
    "room"
);
opaque_id!(
    /// A participant of a room. Opaque to the SFU; unique within its room.
    ParticipantId,
    "participant"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_uuids_and_short_names() {
        assert!(RoomId::new("0193a4f2-7c1e-7d2a-9b1e-3f4a5b6c7d8e").is_ok());
        assert!(ParticipantId::new("staff-42").is_ok());
    }

    #[test]
    fn ids_refuse_empty_long_or_unprintable_text() {
        assert!(RoomId::new("").is_err());
        assert!(RoomId::new("a".repeat(ID_LEN_MAX + 1)).is_err());
        assert!(ParticipantId::new("名前").is_err());
        assert!(ParticipantId::new("a b").is_err());
        assert!(ParticipantId::new("a:b").is_err());
        assert!(ParticipantId::new("a\"b").is_err());
    }
}
