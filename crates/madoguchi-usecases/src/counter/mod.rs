//! The remote counter's use cases: queues (created by administrators, opened and closed by
//! their specialists), tickets (taken on the web or at a branch's kiosk, with a live place in
//! line), serving (call next, recall, no answer, finish, duty), and rooms (answering into a
//! consultation, join grants, admit, transfer, guests, end, presence, media-node placement), and
//! booked consultations (check-in, attendance).

pub mod appointments;
pub mod queues;
pub mod rooms;
pub mod serving;
pub mod tickets;
