//! The draw's behaviour on small cases, its audit record and moving up (`cases`), and its
//! invariants on random and on large inputs (`properties`).

mod cases;
mod properties;

use super::*;
use crate::classes::ClassRules;
use crate::ids::{ApplicantId, ApplicationId, UnitId};
use crate::units::fixtures::{COURT_A, COURT_B, ROOM, WHOLE, gym};
use crate::units::{FacilityLayout, LayoutSpec, UnitSpec};
use std::collections::{HashMap, HashSet};
use time::macros::date;
use uuid::Uuid;

pub(super) fn slot(unit: UnitId, day: u8, band: &str) -> UnitSlot {
    UnitSlot {
        date: date!(2026 - 09 - 01).replace_day(day).unwrap(),
        band: BandCode::parse(band).unwrap(),
        unit,
    }
}

pub(super) fn offered() -> Vec<UnitSlot> {
    let mut out = Vec::new();
    for unit in [WHOLE, COURT_A, COURT_B, ROOM] {
        for day in [5, 6] {
            for band in ["morning", "afternoon", "night"] {
                out.push(slot(unit, day, band));
            }
        }
    }
    out
}

pub(super) fn app(
    id: u128,
    applicant: u128,
    class: UserClass,
    choices: Vec<UnitSlot>,
) -> Application {
    Application {
        id: ApplicationId(Uuid::from_u128(id)),
        applicant: ApplicantId(Uuid::from_u128(applicant)),
        class,
        choices,
    }
}

pub(super) fn rules() -> LotteryRules {
    LotteryRules::standard(&ClassRules::default()).unwrap()
}

pub(super) fn seed(n: u8) -> Seed {
    Seed::from_bytes([n; 32])
}

pub(super) fn draw(apps: Vec<Application>, seed: Seed) -> AuditRecord {
    AuditRecord::draw(rules(), gym(), offered(), apps, seed).unwrap()
}

/// The invariants every draw keeps.
pub(super) fn check_invariants(record: &AuditRecord) {
    let apps: HashMap<ApplicationId, &Application> =
        record.applications.iter().map(|a| (a.id, a)).collect();
    let won: Vec<(&UnitSlot, ApplicationId)> = record
        .outcome
        .served
        .iter()
        .filter_map(|s| s.won.as_ref().map(|w| (w, s.application)))
        .collect();
    assert_eq!(won.len(), record.outcome.winners.len());
    // No slot won twice.
    let distinct: HashSet<&UnitSlot> = won.iter().map(|(s, _)| *s).collect();
    assert_eq!(distinct.len(), won.len(), "a slot won twice");
    // Whole and part never both won at the same time.
    for (i, (a, _)) in won.iter().enumerate() {
        for (b, _) in &won[i + 1..] {
            let same_time = a.date == b.date && a.band == b.band;
            assert!(
                !(same_time && record.layout.conflicts(a.unit, b.unit)),
                "{a:?} and {b:?} both won"
            );
        }
    }
    // Every winner applied for what it won; caps respected.
    let mut wins: HashMap<ApplicantId, u16> = HashMap::new();
    for (slot, id) in &won {
        assert!(apps[id].choices.contains(slot), "won what it did not ask");
        *wins.entry(apps[id].applicant).or_default() += 1;
    }
    let cap = record.rules.spec().wins_max_per_applicant;
    assert!(wins.values().all(|&n| n <= cap), "over the cap");
    // Serial dictatorship: every choice ranked above what an application got (or every choice,
    // when it got nothing under the cap) was blocked by a slot won before it was served.
    let mut taken: Vec<&UnitSlot> = Vec::new();
    let mut wins_so_far: HashMap<ApplicantId, u16> = HashMap::new();
    for served in &record.outcome.served {
        let a = apps[&served.application];
        let count = wins_so_far.entry(a.applicant).or_default();
        let rank = served
            .won
            .as_ref()
            .and_then(|w| a.choices.iter().position(|c| c == w));
        if served.won.is_some() || *count < cap {
            let better = &a.choices[..rank.unwrap_or(a.choices.len())];
            for choice in better {
                assert!(
                    taken.iter().any(|t| t.date == choice.date
                        && t.band == choice.band
                        && record.layout.conflicts(t.unit, choice.unit)),
                    "a free better choice was passed over"
                );
            }
        }
        if let Some(w) = &served.won {
            taken.push(w);
            *count += 1;
        }
    }
}
