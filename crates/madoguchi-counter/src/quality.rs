//! What reaches a participant of a call, as their browser reports it (`getStats()` summaries):
//! the figures staff see per room and `/metrics` aggregates.

use serde::{Deserialize, Serialize};

/// A participant's own summary of what reaches them, sent every few seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// From pressing join to the first decoded frame, once known.
    #[serde(default)]
    pub join_ms: Option<u64>,
    pub packets_received: u64,
    pub packets_lost: u64,
    /// Video freezes the receiver noticed.
    #[serde(default)]
    pub freezes: u64,
    #[serde(default)]
    pub round_trip_ms: Option<u64>,
}

impl Quality {
    /// Packets lost in every 1,000 expected (a per-mille, so it stays an integer).
    pub fn loss_per_mille(&self) -> u64 {
        let expected = self.packets_received.saturating_add(self.packets_lost);
        self.packets_lost
            .saturating_mul(1000)
            .checked_div(expected)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_counted_per_mille_of_what_was_expected() {
        let q = Quality {
            packets_received: 995,
            packets_lost: 5,
            ..Quality::default()
        };
        assert_eq!(q.loss_per_mille(), 5);
        assert_eq!(Quality::default().loss_per_mille(), 0);
    }
}
