//! A ticket (受付番号) and its state machine.
//!
//! ```text
//! waiting ─call→ called ─answer→ in_call ─finish→ done
//!    ▲             │ recall (once)         └transfer→ transferred
//!    └─no answer───┘ (the first time: back of the queue; the second time: no-show)
//! waiting | called ─cancel→ cancelled
//! ```
//! A called resident who does not answer is called once more (recall); if they still do not
//! answer they go to the back of the queue; called again later and still silent, the ticket
//! ends as a no-show, which the reservations' no-show policy counts for booked tickets.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How many times a resident is called (the first call and one recall) before the ticket moves
/// on (to the back of the queue, or to a no-show).
pub const CALLS_PER_TURN: u8 = 2;

/// The letter a queue's numbers start with (受付番号 A-012): one ASCII capital letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct QueuePrefix(char);

impl QueuePrefix {
    pub fn new(letter: char) -> Option<QueuePrefix> {
        letter.is_ascii_uppercase().then_some(QueuePrefix(letter))
    }

    pub fn letter(self) -> char {
        self.0
    }
}

impl TryFrom<String> for QueuePrefix {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let mut chars = raw.chars();
        match (chars.next(), chars.next()) {
            (Some(letter), None) => {
                QueuePrefix::new(letter).ok_or_else(|| format!("not a capital letter: {raw}"))
            }
            _ => Err(format!("not one letter: {raw}")),
        }
    }
}

impl From<QueuePrefix> for String {
    fn from(prefix: QueuePrefix) -> String {
        prefix.0.to_string()
    }
}

/// A ticket's number within its queue and day: `A-012`. Numbers run from 1 to 999 each day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber {
    prefix: QueuePrefix,
    sequence: u16,
}

impl TicketNumber {
    pub const MAX_PER_DAY: u16 = 999;

    /// The `sequence`-th ticket of the day; `None` outside 1..=999 (the queue is full for the day).
    pub fn new(prefix: QueuePrefix, sequence: u16) -> Option<TicketNumber> {
        (1..=Self::MAX_PER_DAY)
            .contains(&sequence)
            .then_some(TicketNumber { prefix, sequence })
    }

    pub fn prefix(self) -> QueuePrefix {
        self.prefix
    }

    pub fn sequence(self) -> u16 {
        self.sequence
    }

    /// Reads `A-012` back.
    pub fn parse(raw: &str) -> Option<TicketNumber> {
        let (letter, digits) = raw.split_once('-')?;
        let prefix = QueuePrefix::try_from(letter.to_owned()).ok()?;
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        TicketNumber::new(prefix, digits.parse().ok()?)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:03}", self.prefix.0, self.sequence)
    }
}

/// Where a ticket came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketSource {
    /// Taken at a branch's kiosk.
    Kiosk,
    /// Taken on the web (from home).
    Web,
    /// A booked remote consultation, checked in.
    Appointment,
    /// Handed over by another department during a call (the resident stays in the room).
    Transfer,
}

impl TicketSource {
    pub const ALL: [TicketSource; 4] = [
        TicketSource::Kiosk,
        TicketSource::Web,
        TicketSource::Appointment,
        TicketSource::Transfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketSource::Kiosk => "kiosk",
            TicketSource::Web => "web",
            TicketSource::Appointment => "appointment",
            TicketSource::Transfer => "transfer",
        }
    }

    pub fn parse(raw: &str) -> Option<TicketSource> {
        TicketSource::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// How a ticket ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Served.
    Done,
    /// Called and never answered, twice over.
    NoShow,
    /// The resident left the queue (or staff removed the ticket).
    Cancelled,
    /// Handed to another department, whose own ticket carries on.
    Transferred,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::Done,
        Outcome::NoShow,
        Outcome::Cancelled,
        Outcome::Transferred,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::NoShow => "no_show",
            Outcome::Cancelled => "cancelled",
            Outcome::Transferred => "transferred",
        }
    }

    pub fn parse(raw: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == raw)
    }
}

/// Where a ticket stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum TicketStatus {
    /// In the queue. `requeued`: already sent to the back once for not answering.
    Waiting {
        requeued: bool,
    },
    /// Called by a specialist; `calls` counts this turn's calls (1, then 2 after a recall).
    Called {
        calls: u8,
        requeued: bool,
    },
    /// The resident answered and is in the room.
    InCall,
    Finished {
        outcome: Outcome,
    },
}

/// What happens to a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketEvent {
    /// A specialist calls it ("call next").
    Call,
    /// The specialist calls the same resident again.
    Recall,
    /// The call went unanswered.
    NoAnswer,
    /// The resident joined the room.
    Answer,
    /// The consultation ended.
    Finish,
    /// Handed to another department.
    Transfer,
    /// The resident left the queue, or staff removed the ticket.
    Cancel,
}

/// An event that does not apply to a ticket's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a ticket that is {from:?} cannot take {event:?}")]
pub struct TicketTransitionError {
    pub from: TicketStatus,
    pub event: TicketEvent,
}

impl TicketStatus {
    pub const NEW: TicketStatus = TicketStatus::Waiting { requeued: false };

    /// The stored name of the state (the counters live in their own columns).
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Waiting { .. } => "waiting",
            TicketStatus::Called { .. } => "called",
            TicketStatus::InCall => "in_call",
            TicketStatus::Finished { .. } => "finished",
        }
    }

    /// Still in the queue or being called: counts for positions and blocks a second ticket.
    pub fn is_open(self) -> bool {
        match self {
            TicketStatus::Waiting { .. } | TicketStatus::Called { .. } | TicketStatus::InCall => {
                true
            }
            TicketStatus::Finished { .. } => false,
        }
    }

    /// The state after `event`.
    pub fn on(self, event: TicketEvent) -> Result<TicketStatus, TicketTransitionError> {
        let refused = Err(TicketTransitionError { from: self, event });
        match (self, event) {
            (TicketStatus::Waiting { requeued }, TicketEvent::Call) => {
                Ok(TicketStatus::Called { calls: 1, requeued })
            }
            (TicketStatus::Called { calls, requeued }, TicketEvent::Recall) => {
                if calls < CALLS_PER_TURN {
                    Ok(TicketStatus::Called {
                        calls: calls + 1,
                        requeued,
                    })
                } else {
                    refused
                }
            }
            (TicketStatus::Called { requeued, .. }, TicketEvent::NoAnswer) => {
                if requeued {
                    Ok(TicketStatus::Finished {
                        outcome: Outcome::NoShow,
                    })
                } else {
                    Ok(TicketStatus::Waiting { requeued: true })
                }
            }
            (TicketStatus::Called { .. }, TicketEvent::Answer) => Ok(TicketStatus::InCall),
            (TicketStatus::InCall, TicketEvent::Finish) => Ok(TicketStatus::Finished {
                outcome: Outcome::Done,
            }),
            (TicketStatus::InCall, TicketEvent::Transfer) => Ok(TicketStatus::Finished {
                outcome: Outcome::Transferred,
            }),
            (TicketStatus::Waiting { .. } | TicketStatus::Called { .. }, TicketEvent::Cancel) => {
                Ok(TicketStatus::Finished {
                    outcome: Outcome::Cancelled,
                })
            }
            (
                TicketStatus::Waiting { .. },
                TicketEvent::Recall
                | TicketEvent::NoAnswer
                | TicketEvent::Answer
                | TicketEvent::Finish
                | TicketEvent::Transfer,
            )
            | (
                TicketStatus::Called { .. },
                TicketEvent::Call | TicketEvent::Finish | TicketEvent::Transfer,
            )
            | (
                TicketStatus::InCall,
                TicketEvent::Call
                | TicketEvent::Recall
                | TicketEvent::NoAnswer
                | TicketEvent::Answer
                | TicketEvent::Cancel,
            )
            | (TicketStatus::Finished { .. }, _) => refused,
        }
    }
}

/// What came of a consultation, as the specialist records it beside their notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsultationResult {
    /// The resident's matter was settled.
    Resolved,
    /// More is needed: documents to send, a second consultation.
    FollowUp,
    /// The resident was asked to come to a counter in person.
    Referred,
    Other,
}

impl ConsultationResult {
    pub const ALL: [ConsultationResult; 4] = [
        ConsultationResult::Resolved,
        ConsultationResult::FollowUp,
        ConsultationResult::Referred,
        ConsultationResult::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsultationResult::Resolved => "resolved",
            ConsultationResult::FollowUp => "follow_up",
            ConsultationResult::Referred => "referred",
            ConsultationResult::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// The longest notes a specialist keeps of one consultation.
pub const NOTES_MAX_CHARS: usize = 2000;

/// Whether a consultation's record may be written for a ticket in `status`: during the call,
/// or after it was held (notes finished after hanging up).
pub fn may_record(status: TicketStatus) -> bool {
    matches!(
        status,
        TicketStatus::InCall
            | TicketStatus::Finished {
                outcome: Outcome::Done
            }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(letter: char) -> QueuePrefix {
        QueuePrefix::new(letter).unwrap()
    }

    #[test]
    fn a_ticket_number_reads_like_the_slip_and_back() {
        let number = TicketNumber::new(prefix('A'), 12).unwrap();
        assert_eq!(number.to_string(), "A-012");
        assert_eq!(TicketNumber::parse("A-012"), Some(number));
        assert_eq!(TicketNumber::parse("B-999").unwrap().sequence(), 999);
    }

    #[test]
    fn numbers_run_from_one_to_nine_hundred_and_ninety_nine_a_day() {
        assert!(TicketNumber::new(prefix('A'), 0).is_none());
        assert!(TicketNumber::new(prefix('A'), 1000).is_none());
        for bad in [
            "a-012", "A-12", "A-0120", "A012", "AB-012", "-012", "A-01x", "Ａ-012",
        ] {
            assert_eq!(TicketNumber::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_prefix_is_one_capital_letter() {
        assert!(QueuePrefix::new('Z').is_some());
        for bad in ['a', '1', '-', 'Ａ', 'あ'] {
            assert!(QueuePrefix::new(bad).is_none(), "{bad}");
        }
        assert!(QueuePrefix::try_from("AB".to_owned()).is_err());
        assert!(QueuePrefix::try_from(String::new()).is_err());
    }

    #[test]
    fn a_resident_who_answers_is_served() {
        let called = TicketStatus::NEW.on(TicketEvent::Call).unwrap();
        let in_call = called.on(TicketEvent::Answer).unwrap();
        assert_eq!(in_call, TicketStatus::InCall);
        assert_eq!(
            in_call.on(TicketEvent::Finish),
            Ok(TicketStatus::Finished {
                outcome: Outcome::Done
            })
        );
    }

    #[test]
    fn silence_means_a_recall_then_the_back_of_the_queue_then_a_no_show() {
        let called = TicketStatus::NEW.on(TicketEvent::Call).unwrap();
        let recalled = called.on(TicketEvent::Recall).unwrap();
        assert_eq!(
            recalled,
            TicketStatus::Called {
                calls: 2,
                requeued: false
            }
        );
        assert!(
            recalled.on(TicketEvent::Recall).is_err(),
            "one recall per turn"
        );
        let requeued = recalled.on(TicketEvent::NoAnswer).unwrap();
        assert_eq!(requeued, TicketStatus::Waiting { requeued: true });
        let called_again = requeued.on(TicketEvent::Call).unwrap();
        assert_eq!(
            called_again.on(TicketEvent::NoAnswer),
            Ok(TicketStatus::Finished {
                outcome: Outcome::NoShow
            })
        );
    }

    #[test]
    fn a_transfer_ends_this_department_s_ticket_only_during_a_call() {
        let in_call = TicketStatus::NEW
            .on(TicketEvent::Call)
            .and_then(|s| s.on(TicketEvent::Answer))
            .unwrap();
        assert_eq!(
            in_call.on(TicketEvent::Transfer),
            Ok(TicketStatus::Finished {
                outcome: Outcome::Transferred
            })
        );
        assert!(TicketStatus::NEW.on(TicketEvent::Transfer).is_err());
    }

    #[test]
    fn a_resident_may_leave_the_queue_until_the_call_starts() {
        let done = TicketStatus::Finished {
            outcome: Outcome::Cancelled,
        };
        assert_eq!(TicketStatus::NEW.on(TicketEvent::Cancel), Ok(done));
        let called = TicketStatus::NEW.on(TicketEvent::Call).unwrap();
        assert_eq!(called.on(TicketEvent::Cancel), Ok(done));
        assert!(TicketStatus::InCall.on(TicketEvent::Cancel).is_err());
    }

    #[test]
    fn a_finished_ticket_takes_nothing_more() {
        for outcome in Outcome::ALL {
            let finished = TicketStatus::Finished { outcome };
            assert!(!finished.is_open());
            for event in [
                TicketEvent::Call,
                TicketEvent::Recall,
                TicketEvent::NoAnswer,
                TicketEvent::Answer,
                TicketEvent::Finish,
                TicketEvent::Transfer,
                TicketEvent::Cancel,
            ] {
                assert!(finished.on(event).is_err(), "{outcome:?} {event:?}");
            }
        }
    }

    #[test]
    fn stored_names_read_back() {
        for source in TicketSource::ALL {
            assert_eq!(TicketSource::parse(source.as_str()), Some(source));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
        }
    }

    #[test]
    fn a_record_is_kept_of_a_consultation_held_not_of_one_that_never_was() {
        assert!(may_record(TicketStatus::InCall));
        assert!(may_record(TicketStatus::Finished {
            outcome: Outcome::Done
        }));
        assert!(!may_record(TicketStatus::NEW));
        assert!(!may_record(TicketStatus::Finished {
            outcome: Outcome::NoShow
        }));
        for result in ConsultationResult::ALL {
            assert_eq!(ConsultationResult::parse(result.as_str()), Some(result));
        }
        assert_eq!(ConsultationResult::parse("Resolved"), None);
    }
}
