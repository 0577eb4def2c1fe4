//! The remote counter's use cases: queues (created by administrators, opened and closed by
//! their specialists), tickets (taken on the web or at a branch's kiosk, with a live place in
//! line), and serving (call next, recall, no answer, answer, finish, duty). Rooms, transfers
//! and media come with the signalling.

pub mod queues;
pub mod serving;
pub mod tickets;
