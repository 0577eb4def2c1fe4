//! Moving up (繰り上げ): when a winner declines, or does not confirm by the deadline, the slot
//! goes to the first runner-up, in serving order, who
//! - is not out (declined an offer before, missed a deadline, withdrew),
//! - holds no slot through this application (an application holds at most one),
//! - whose applicant holds fewer slots than `wins_max_per_applicant`,
//!
//! and only if no slot still held conflicts with it (a part of the whole hall still held
//! blocks the whole hall for everyone).

use super::audit::AuditRecord;
use super::{LotteryError, UnitSlot};
use crate::ids::{ApplicantId, ApplicationId};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A slot currently held through a lottery application (won, or moved up to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub slot: UnitSlot,
    pub application: ApplicationId,
}

/// What to do with a freed slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Promotion {
    /// Offer it to this application.
    Offer {
        application: ApplicationId,
        applicant: ApplicantId,
    },
    /// A held slot conflicts with it (or it is still held): nobody can have it.
    Blocked { by: UnitSlot },
    /// No runner-up can take it: it goes to first-come release.
    Exhausted,
}

impl AuditRecord {
    /// Who gets `freed` next, given what is `held` now (the freed slot's former holding
    /// removed) and the applications that are `out`.
    pub fn promote(
        &self,
        freed: &UnitSlot,
        held: &[Holding],
        out: &BTreeSet<ApplicationId>,
    ) -> Result<Promotion, LotteryError> {
        if self.slots.binary_search(freed).is_err() {
            return Err(LotteryError::SlotUnknown);
        }
        if let Some(h) = held.iter().find(|h| {
            h.slot.date == freed.date
                && h.slot.band == freed.band
                && self.layout.conflicts(h.slot.unit, freed.unit)
        }) {
            return Ok(Promotion::Blocked { by: h.slot.clone() });
        }
        let applicant: HashMap<ApplicationId, ApplicantId> = self
            .applications
            .iter()
            .map(|a| (a.id, a.applicant))
            .collect();
        let holding: HashSet<ApplicationId> = held.iter().map(|h| h.application).collect();
        let mut slots_of: HashMap<ApplicantId, u16> = HashMap::new();
        for h in held {
            if let Some(who) = applicant.get(&h.application) {
                *slots_of.entry(*who).or_default() += 1;
            }
        }
        let wins_max = self.rules.spec().wins_max_per_applicant;
        for id in self.runners_up(freed) {
            let Some(&who) = applicant.get(id) else {
                continue;
            };
            let under_cap = slots_of.get(&who).copied().unwrap_or(0) < wins_max;
            if !out.contains(id) && !holding.contains(id) && under_cap {
                return Ok(Promotion::Offer {
                    application: *id,
                    applicant: who,
                });
            }
        }
        Ok(Promotion::Exhausted)
    }
}
