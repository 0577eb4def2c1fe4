//! What one participant may do in a room, decided by the server (later: from a signed grant).

/// Permissions of one participant. The SFU enforces them on every offer and chat message.
///
/// SDP cannot tell a camera from a screen share or a document camera: they are all video
/// tracks. So screen sharing is granted as extra video tracks (`video_tracks_max`), and which
/// track is which is said by the client over signalling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// May send audio (one microphone is the expected case; at most two tracks).
    pub publish_audio: bool,
    /// How many video tracks this participant may send at once: camera, screen, document
    /// camera. 0 forbids video.
    pub video_tracks_max: u8,
    /// May send chat messages over the `chat` data channel (everyone may receive them).
    pub chat: bool,
}

impl Grant {
    /// A full participant: audio, camera plus screen share plus a second camera, chat.
    pub const FULL: Grant = Grant {
        publish_audio: true,
        video_tracks_max: 3,
        chat: true,
    };

    /// Watches and listens only (e.g. a supervisor); no chat.
    pub const RECEIVE_ONLY: Grant = Grant {
        publish_audio: false,
        video_tracks_max: 0,
        chat: false,
    };
}
