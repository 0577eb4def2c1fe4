//! The draw itself (steps 2–5 of the module documentation), with indices so that it runs in
//! time linear in the number of choices: slots are numbered once, each slot's conflicting
//! slots are listed once (only slots of the same date and band can conflict), and every
//! application is looked at once.

use super::seed::{Seed, Ticket};
use super::{APPLICATIONS_MAX, Application, LotteryError, LotteryRules, SLOTS_MAX, UnitSlot};
use crate::bands::BandCode;
use crate::ids::{ApplicantId, ApplicationId};
use crate::units::FacilityLayout;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use time::Date;

/// One application as it was served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Served {
    pub application: ApplicationId,
    pub tier: u8,
    pub ticket: Ticket,
    /// What it won, if anything.
    pub won: Option<UnitSlot>,
}

/// Who won a slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotWinner {
    pub slot: UnitSlot,
    pub application: ApplicationId,
}

/// Who else named a slot, in serving order: the order in which they move up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotRunnersUp {
    pub slot: UnitSlot,
    pub applications: Vec<ApplicationId>,
}

/// What a draw decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Every application, in serving order.
    pub served: Vec<Served>,
    /// Won slots, sorted by slot.
    pub winners: Vec<SlotWinner>,
    /// For every slot some application named, sorted by slot (empty lists left out).
    pub runners_up: Vec<SlotRunnersUp>,
}

/// The offered slots, numbered in sorted order, with each one's conflicting slots.
pub(super) struct SlotIndex<'a> {
    pub slots: Vec<&'a UnitSlot>,
    pub number: HashMap<&'a UnitSlot, u32>,
    /// For each slot, the slots that may not be won with it (itself included).
    pub conflicts: Vec<Vec<u32>>,
}

impl<'a> SlotIndex<'a> {
    pub fn new(layout: &FacilityLayout, offered: &'a [UnitSlot]) -> Result<Self, LotteryError> {
        if offered.len() > SLOTS_MAX {
            return Err(LotteryError::TooLarge);
        }
        let mut slots: Vec<&UnitSlot> = offered.iter().collect();
        slots.sort();
        if slots.windows(2).any(|w| w[0] == w[1]) {
            return Err(LotteryError::DuplicateSlot);
        }
        let mut number = HashMap::with_capacity(slots.len());
        let mut groups: HashMap<(Date, &BandCode), Vec<u32>> = HashMap::new();
        for (i, slot) in slots.iter().enumerate() {
            if layout.unit(slot.unit).is_none() {
                return Err(LotteryError::UnknownUnit(slot.unit));
            }
            let i = u32::try_from(i).map_err(|_| LotteryError::TooLarge)?;
            number.insert(*slot, i);
            groups.entry((slot.date, &slot.band)).or_default().push(i);
        }
        let mut conflicts = vec![Vec::new(); slots.len()];
        for group in groups.values() {
            for &a in group {
                for &b in group {
                    if layout.conflicts(slots[a as usize].unit, slots[b as usize].unit) {
                        conflicts[a as usize].push(b);
                    }
                }
            }
        }
        Ok(Self {
            slots,
            number,
            conflicts,
        })
    }
}

/// Runs the draw. Applications may come in any order; the outcome does not depend on it.
pub(super) fn run(
    rules: &LotteryRules,
    layout: &FacilityLayout,
    offered: &[UnitSlot],
    applications: &[Application],
    seed: &Seed,
) -> Result<Outcome, LotteryError> {
    if applications.len() > APPLICATIONS_MAX {
        return Err(LotteryError::TooLarge);
    }
    let index = SlotIndex::new(layout, offered)?;

    // Check every application, and number its choices.
    let mut ids = HashSet::with_capacity(applications.len());
    let mut filed: HashMap<ApplicantId, u16> = HashMap::new();
    let mut choices: Vec<Vec<u32>> = Vec::with_capacity(applications.len());
    let mut order: Vec<(u8, Ticket, ApplicationId, usize)> = Vec::with_capacity(applications.len());
    for (i, app) in applications.iter().enumerate() {
        if !ids.insert(app.id) {
            return Err(LotteryError::DuplicateApplication(app.id));
        }
        let tier = rules
            .tier(app.class)
            .ok_or(LotteryError::ClassExcluded(app.class))?;
        rules.check_choices(&app.choices, |slot| index.number.contains_key(slot))?;
        let count = filed.entry(app.applicant).or_default();
        *count += 1;
        if *count > rules.spec().applications_max_per_applicant {
            return Err(LotteryError::OverCap(app.applicant));
        }
        choices.push(
            app.choices
                .iter()
                .filter_map(|slot| index.number.get(slot).copied())
                .collect(),
        );
        order.push((tier, seed.ticket(app.id), app.id, i));
    }
    order.sort_unstable();

    // Serve (serial dictatorship).
    let wins_max = rules.spec().wins_max_per_applicant;
    let mut taken = vec![false; index.slots.len()];
    let mut winner: Vec<Option<ApplicationId>> = vec![None; index.slots.len()];
    let mut wins: HashMap<ApplicantId, u16> = HashMap::new();
    let mut runners_up: Vec<Vec<ApplicationId>> = vec![Vec::new(); index.slots.len()];
    let mut served = Vec::with_capacity(order.len());
    for &(tier, ticket, id, i) in &order {
        let app = &applications[i];
        let count = wins.entry(app.applicant).or_default();
        let won = if *count >= wins_max {
            None
        } else {
            choices[i].iter().copied().find(|&c| {
                !index.conflicts[c as usize]
                    .iter()
                    .any(|&o| taken[o as usize])
            })
        };
        if let Some(c) = won {
            taken[c as usize] = true;
            winner[c as usize] = Some(id);
            *count += 1;
        }
        for &c in &choices[i] {
            if Some(c) != won {
                runners_up[c as usize].push(id);
            }
        }
        served.push(Served {
            application: id,
            tier,
            ticket,
            won: won.map(|c| index.slots[c as usize].clone()),
        });
    }

    let winners = winner
        .iter()
        .enumerate()
        .filter_map(|(c, w)| {
            w.map(|application| SlotWinner {
                slot: index.slots[c].clone(),
                application,
            })
        })
        .collect();
    let runners_up = runners_up
        .into_iter()
        .enumerate()
        .filter(|(_, list)| !list.is_empty())
        .map(|(c, applications)| SlotRunnersUp {
            slot: index.slots[c].clone(),
            applications,
        })
        .collect();
    Ok(Outcome {
        served,
        winners,
        runners_up,
    })
}
