//! A video room of the remote counter: who takes part in which role, what each role may do,
//! and the room's own small state machine.
//!
//! ```text
//! lobby ─admit→ live ─end→ ended
//!   └──────────end───────────┘
//! ```
//! The resident waits in the lobby until a specialist of the room's department admits them.
//! A transfer changes the room's department without anyone re-joining; adding a department
//! brings a second specialist in as a guest.

use serde::{Deserialize, Serialize};

/// The part someone plays in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    /// The resident being served (from home or a branch's kiosk).
    Resident,
    /// The headquarters specialist of the room's department: runs the room.
    Specialist,
    /// A specialist of a department added to the call.
    GuestSpecialist,
    /// The branch's staff beside the resident (document camera, help with the kiosk).
    BranchStaff,
    /// A sign-language or foreign-language interpreter.
    Interpreter,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 5] = [
        ParticipantRole::Resident,
        ParticipantRole::Specialist,
        ParticipantRole::GuestSpecialist,
        ParticipantRole::BranchStaff,
        ParticipantRole::Interpreter,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Resident => "resident",
            ParticipantRole::Specialist => "specialist",
            ParticipantRole::GuestSpecialist => "guest_specialist",
            ParticipantRole::BranchStaff => "branch_staff",
            ParticipantRole::Interpreter => "interpreter",
        }
    }

    pub fn parse(raw: &str) -> Option<ParticipantRole> {
        ParticipantRole::ALL.into_iter().find(|r| r.as_str() == raw)
    }

    /// Staff of the city (everyone but the resident).
    pub fn is_staff(self) -> bool {
        !matches!(self, ParticipantRole::Resident)
    }
}

/// Something a participant may want to do in a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send one's camera and microphone.
    Publish,
    /// Share one's screen.
    ShareScreen,
    /// Show a document: a second (document) camera, or a photo of a page.
    ShareDocument,
    /// Write in the room's chat.
    Chat,
    /// Let the waiting resident in.
    Admit,
    /// Hand the resident to another department (the room stays).
    Transfer,
    /// Bring a second department or an interpreter in.
    Invite,
    /// Send a participant out of the room.
    Remove,
    /// End the consultation for everyone.
    End,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::Publish,
        Action::ShareScreen,
        Action::ShareDocument,
        Action::Chat,
        Action::Admit,
        Action::Transfer,
        Action::Invite,
        Action::Remove,
        Action::End,
    ];
}

/// Whether `role` may do `action`. The specialist runs the room; a guest specialist helps
/// without taking it over; branch staff and interpreters support the conversation; the
/// resident talks, shows documents and may always leave (leaving is not ending).
pub fn may(role: ParticipantRole, action: Action) -> bool {
    match role {
        ParticipantRole::Specialist => true,
        ParticipantRole::GuestSpecialist => matches!(
            action,
            Action::Publish | Action::ShareScreen | Action::ShareDocument | Action::Chat
        ),
        ParticipantRole::BranchStaff => matches!(
            action,
            Action::Publish | Action::ShareDocument | Action::Chat
        ),
        ParticipantRole::Interpreter => matches!(action, Action::Publish | Action::Chat),
        ParticipantRole::Resident => matches!(
            action,
            Action::Publish | Action::ShareDocument | Action::Chat
        ),
    }
}

/// Where a room stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomState {
    /// Open; the resident waits to be admitted.
    Lobby,
    /// The consultation is under way.
    Live,
    Ended,
}

/// A change a room's state cannot take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoomTransitionError {
    #[error("the room has ended")]
    Ended,
    #[error("the resident is already in the room")]
    AlreadyLive,
    #[error("{0:?} may not do {1:?}")]
    NotAllowed(ParticipantRole, Action),
}

impl RoomState {
    pub const ALL: [RoomState; 3] = [RoomState::Lobby, RoomState::Live, RoomState::Ended];

    pub fn as_str(self) -> &'static str {
        match self {
            RoomState::Lobby => "lobby",
            RoomState::Live => "live",
            RoomState::Ended => "ended",
        }
    }

    pub fn parse(raw: &str) -> Option<RoomState> {
        RoomState::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Checks that `role` may do `action` in a room in this state; returns the state after it.
    /// Actions other than admitting and ending leave the state as it is.
    pub fn apply(
        self,
        role: ParticipantRole,
        action: Action,
    ) -> Result<RoomState, RoomTransitionError> {
        if !may(role, action) {
            return Err(RoomTransitionError::NotAllowed(role, action));
        }
        match (self, action) {
            (RoomState::Ended, _) => Err(RoomTransitionError::Ended),
            (RoomState::Lobby, Action::Admit) => Ok(RoomState::Live),
            (RoomState::Live, Action::Admit) => Err(RoomTransitionError::AlreadyLive),
            (RoomState::Lobby | RoomState::Live, Action::End) => Ok(RoomState::Ended),
            (
                RoomState::Lobby | RoomState::Live,
                Action::Publish
                | Action::ShareScreen
                | Action::ShareDocument
                | Action::Chat
                | Action::Transfer
                | Action::Invite
                | Action::Remove,
            ) => Ok(self),
        }
    }
}

/// Whether `raw` names a language an interpreter works in: `sign` (Japanese Sign Language) or
/// a lowercase language tag such as `en`, `zh`, `vi`, `pt-BR`.
pub fn is_interpreting_language(raw: &str) -> bool {
    if raw == "sign" {
        return true;
    }
    let (language, region) = match raw.split_once('-') {
        Some((language, region)) => (language, Some(region)),
        None => (raw, None),
    };
    let language_ok =
        (2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase());
    let region_ok = region
        .is_none_or(|r| (2..=8).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()));
    language_ok && region_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specialist_runs_the_room() {
        for action in Action::ALL {
            assert!(may(ParticipantRole::Specialist, action), "{action:?}");
        }
    }

    #[test]
    fn only_the_specialist_admits_transfers_invites_removes_or_ends() {
        for role in ParticipantRole::ALL {
            for action in [
                Action::Admit,
                Action::Transfer,
                Action::Invite,
                Action::Remove,
                Action::End,
            ] {
                assert_eq!(
                    may(role, action),
                    role == ParticipantRole::Specialist,
                    "{role:?} {action:?}"
                );
            }
        }
    }

    #[test]
    fn everyone_talks_and_chats_and_only_specialists_share_a_screen() {
        for role in ParticipantRole::ALL {
            assert!(
                may(role, Action::Publish) && may(role, Action::Chat),
                "{role:?}"
            );
            assert_eq!(
                may(role, Action::ShareScreen),
                matches!(
                    role,
                    ParticipantRole::Specialist | ParticipantRole::GuestSpecialist
                ),
                "{role:?}"
            );
        }
        assert!(may(ParticipantRole::Resident, Action::ShareDocument));
        assert!(may(ParticipantRole::BranchStaff, Action::ShareDocument));
        assert!(!may(ParticipantRole::Interpreter, Action::ShareDocument));
    }

    #[test]
    fn a_room_opens_as_a_lobby_goes_live_on_admission_and_ends_once() {
        let live = RoomState::Lobby
            .apply(ParticipantRole::Specialist, Action::Admit)
            .unwrap();
        assert_eq!(live, RoomState::Live);
        assert_eq!(
            live.apply(ParticipantRole::Specialist, Action::Admit),
            Err(RoomTransitionError::AlreadyLive)
        );
        assert_eq!(
            live.apply(ParticipantRole::Resident, Action::Chat),
            Ok(RoomState::Live)
        );
        let ended = live
            .apply(ParticipantRole::Specialist, Action::End)
            .unwrap();
        assert_eq!(
            ended.apply(ParticipantRole::Specialist, Action::Chat),
            Err(RoomTransitionError::Ended)
        );
    }

    #[test]
    fn a_resident_cannot_end_or_admit() {
        assert_eq!(
            RoomState::Live.apply(ParticipantRole::Resident, Action::End),
            Err(RoomTransitionError::NotAllowed(
                ParticipantRole::Resident,
                Action::End
            ))
        );
        assert!(
            RoomState::Lobby
                .apply(ParticipantRole::Resident, Action::Admit)
                .is_err()
        );
    }

    #[test]
    fn stored_names_read_back() {
        for role in ParticipantRole::ALL {
            assert_eq!(ParticipantRole::parse(role.as_str()), Some(role));
        }
        for state in RoomState::ALL {
            assert_eq!(RoomState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn interpreting_languages_are_sign_or_a_language_tag() {
        for ok in ["sign", "en", "zh", "vi", "fil", "pt-BR", "zh-Hant"] {
            assert!(is_interpreting_language(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "EN",
            "english",
            "en-",
            "en-B",
            "sign language",
            "ja\n",
            "en-BR-x",
        ] {
            assert!(!is_interpreting_language(bad), "{bad}");
        }
    }
}
