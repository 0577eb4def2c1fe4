//! Pure rules of the remote counter (リモート窓口): numbered tickets and how one moves from
//! waiting to called to in a call, the order in which a department's queue is served and how
//! long a resident should expect to wait, who may do what in a video room, when a booked
//! consultation may be joined, what a join grant may claim, and which media node a room's
//! call goes through.
//!
//! Architecture invariant: no I/O and no async here. Storage records what these functions
//! decide; the media server (`madoguchi-sfu`) knows rooms and grants, never these rules.

pub mod grant;
pub mod join_window;
pub mod placement;
pub mod quality;
pub mod queue;
pub mod room;
pub mod ticket;

pub use grant::{GRANT_MAX_LIFETIME, GrantClaims, GrantProblem};
pub use join_window::{JoinWindow, join_window};
pub use placement::{NODE_LOST_AFTER, NODE_REPORT_EVERY, NodeLoad, Placement, place};
pub use quality::Quality;
pub use queue::{
    QueueEntry, QueueOrder, WaitEstimate, estimate_wait, mean_handling, serving_order,
};
pub use room::{
    Action, ParticipantRole, RoomState, RoomTransitionError, is_interpreting_language, may,
};
pub use ticket::{
    ConsultationResult, NOTES_MAX_CHARS, Outcome, QueuePrefix, TicketEvent, TicketNumber,
    TicketSource, TicketStatus, TicketTransitionError, may_record,
};
