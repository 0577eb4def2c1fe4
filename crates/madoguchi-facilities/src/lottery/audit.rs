//! The draw's audit record: its inputs, the seed and its commitment, and the outcome, as
//! canonical JSON that anyone can recompute.
//!
//! Canonical form: `serde_json` without whitespace, struct fields in declaration order
//! (`format`, `rules`, `layout`, `slots`, `applications`, `commitment`, `seed`, `outcome`),
//! slots sorted by (date, band, unit), applications sorted by id (each keeping its choices in
//! rank order), dates as `YYYY-MM-DD`, ids as hyphenated lowercase UUIDs, hashes and the seed
//! as 64 lowercase hexadecimal digits. [`AuditRecord::sha256_hex`] of those bytes is what the
//! city publishes beside the result.

use super::draw::{Outcome, run};
use super::seed::{Commitment, Seed};
use super::{Application, LotteryError, LotteryRules, UnitSlot};
use crate::ids::ApplicationId;
use crate::units::FacilityLayout;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The record's `format`: the version of this encoding and of the draw it describes.
pub const AUDIT_FORMAT: &str = "madoguchi-facilities/lottery/v1";

/// Everything needed to redo and check a draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    pub format: String,
    pub rules: LotteryRules,
    pub layout: FacilityLayout,
    pub slots: Vec<UnitSlot>,
    pub applications: Vec<Application>,
    pub commitment: Commitment,
    pub seed: Seed,
    pub outcome: Outcome,
}

/// Why a record does not check.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// Not JSON of an audit record (or its rules or layout are invalid).
    #[error("not an audit record: {0}")]
    Unreadable(String),
    /// A record of another format version.
    #[error("a record of format `{0}`, not {AUDIT_FORMAT}")]
    Format(String),
    /// `SHA-256(seed)` is not the published commitment.
    #[error("the seed does not match the commitment")]
    Commitment,
    /// The inputs cannot be drawn (an application over the cap, an unoffered choice …).
    #[error("the inputs are invalid: {0}")]
    Inputs(LotteryError),
    /// The draw redone from the inputs and seed gives another outcome.
    #[error("the outcome differs from the redone draw in `{0}`")]
    Outcome(&'static str),
    /// The same content, not in canonical form (unsorted, spaced, upper-case hex …).
    #[error("the record is not in canonical form")]
    NotCanonical,
}

impl Mismatch {
    /// A stable code for the API, the pages and the command line.
    pub fn code(&self) -> &'static str {
        match self {
            Mismatch::Unreadable(_) => "lottery_record_unreadable",
            Mismatch::Format(_) => "lottery_record_format",
            Mismatch::Commitment => "lottery_commitment_mismatch",
            Mismatch::Inputs(_) => "lottery_record_inputs_invalid",
            Mismatch::Outcome(_) => "lottery_outcome_mismatch",
            Mismatch::NotCanonical => "lottery_record_not_canonical",
        }
    }
}

impl AuditRecord {
    /// Draws (see the `lottery` module documentation) and records it. The slots and
    /// applications may come in any order; the record sorts them.
    pub fn draw(
        rules: LotteryRules,
        layout: FacilityLayout,
        mut slots: Vec<UnitSlot>,
        mut applications: Vec<Application>,
        seed: Seed,
    ) -> Result<Self, LotteryError> {
        slots.sort();
        applications.sort_by_key(|a| a.id);
        let outcome = run(&rules, &layout, &slots, &applications, &seed)?;
        Ok(Self {
            format: AUDIT_FORMAT.to_owned(),
            rules,
            layout,
            slots,
            applications,
            commitment: seed.commitment(),
            seed,
            outcome,
        })
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // serde_json fails only on maps with non-string keys and on failing `Serialize`
        // impls; the record has neither. An empty output would never verify.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a record (without checking it: see [`verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Mismatch> {
        serde_json::from_slice(bytes).map_err(|e| Mismatch::Unreadable(e.to_string()))
    }

    /// SHA-256 of the canonical bytes, as 64 lowercase hexadecimal digits.
    pub fn sha256_hex(&self) -> String {
        let digest: [u8; 32] = Sha256::digest(self.to_bytes()).into();
        Commitment::from_bytes(digest).to_hex()
    }

    /// The application that won `slot` in the draw.
    pub fn winner(&self, slot: &UnitSlot) -> Option<ApplicationId> {
        self.outcome
            .winners
            .binary_search_by(|w| w.slot.cmp(slot))
            .ok()
            .map(|i| self.outcome.winners[i].application)
    }

    /// The runners-up of `slot`, in the order they move up.
    pub fn runners_up(&self, slot: &UnitSlot) -> &[ApplicationId] {
        self.outcome
            .runners_up
            .binary_search_by(|r| r.slot.cmp(slot))
            .map_or(&[], |i| &self.outcome.runners_up[i].applications)
    }
}

/// Checks a published record byte for byte: it reads as a record of this format, its seed
/// hashes to its commitment, the draw redone from its inputs and seed gives its outcome, and
/// re-encoding it gives exactly `record_bytes`.
pub fn verify(record_bytes: &[u8]) -> Result<(), Mismatch> {
    let record = AuditRecord::from_bytes(record_bytes)?;
    if record.format != AUDIT_FORMAT {
        return Err(Mismatch::Format(record.format));
    }
    if record.seed.commitment() != record.commitment {
        return Err(Mismatch::Commitment);
    }
    let redone = AuditRecord::draw(
        record.rules.clone(),
        record.layout.clone(),
        record.slots.clone(),
        record.applications.clone(),
        record.seed,
    )
    .map_err(Mismatch::Inputs)?;
    let (mine, theirs) = (&redone.outcome, &record.outcome);
    if mine.served != theirs.served {
        return Err(Mismatch::Outcome("served"));
    }
    if mine.winners != theirs.winners {
        return Err(Mismatch::Outcome("winners"));
    }
    if mine.runners_up != theirs.runners_up {
        return Err(Mismatch::Outcome("runners_up"));
    }
    if redone.to_bytes() != record_bytes {
        return Err(Mismatch::NotCanonical);
    }
    Ok(())
}
