//! Facilities and their bookable units (施設と利用区分): rooms, half courts, the whole hall.
//!
//! A unit may be made of parts: the whole hall (全面) is court A plus court B. Each unit names
//! at most one `parent`, the whole it is a part of, so the units form a forest. Two bookings
//! at the same time conflict exactly when one's unit is the other's unit, an ancestor or a
//! descendant: booking the whole blocks its parts, booking a part blocks the whole, and
//! siblings (court A and court B) are independent.
//!
//! For the database's exclusion constraint, a booking of unit `u` occupies
//! [`FacilityLayout::occupied_units`]`(u)`, the unit and all its descendants, one row each:
//! two such sets intersect exactly when one unit is an ancestor-or-self of the other (in a
//! forest, a common descendant-or-self `w` puts both on `w`'s path to its root), so a plain
//! `unit WITH =, range WITH &&` constraint refuses exactly the conflicting bookings.
//!
//! Equipment (付帯設備: a piano, a projector) is listed here with its fee per use; it is
//! counted, not placed, so it never blocks a unit.

use crate::fees::FEE_YEN_MAX;
use crate::ids::UnitId;
use crate::wall::{NAME_MAX_CHARS, code_ok, label_ok};
use madoguchi_domain::Lang;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The most units one facility lists: a large sports centre has a few dozen.
pub const UNITS_MAX: usize = 64;
/// The most kinds of equipment one facility lists.
pub const EQUIPMENT_MAX: usize = 50;
/// The most people a unit holds (a large hall seats a few thousand).
pub const CAPACITY_MAX_PEOPLE: u32 = 10_000;
/// The most pieces of one kind of equipment.
pub const EQUIPMENT_QUANTITY_MAX: u16 = 99;

/// Why a layout is refused, or a unit is unknown to it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// No unit at all, or more than [`UNITS_MAX`].
    #[error("a facility has 1 to {UNITS_MAX} units, this one {0}")]
    UnitCount(usize),
    /// The same unit id twice.
    #[error("unit {0} is listed twice")]
    DuplicateUnit(UnitId),
    /// A unit's parent is not a unit of this facility.
    #[error("unit {unit} names an unknown parent {parent}")]
    UnknownParent { unit: UnitId, parent: UnitId },
    /// Following parents leads back to the unit (itself as its own parent included).
    #[error("unit {0} is (through its parents) a part of itself")]
    Cycle(UnitId),
    /// A name missing in one language, too long, or with control characters.
    #[error("unit {0} needs a name in Japanese and English of at most {NAME_MAX_CHARS} characters")]
    UnitName(UnitId),
    /// A capacity of 0 or more than [`CAPACITY_MAX_PEOPLE`].
    #[error("unit {0} holds 1 to {CAPACITY_MAX_PEOPLE} people")]
    Capacity(UnitId),
    /// More than [`EQUIPMENT_MAX`] kinds of equipment.
    #[error("a facility lists at most {EQUIPMENT_MAX} kinds of equipment, this one {0}")]
    EquipmentCount(usize),
    /// An equipment code listed twice.
    #[error("equipment `{0}` is listed twice")]
    DuplicateEquipment(String),
    /// A bad code, name, quantity or fee of a piece of equipment.
    #[error(
        "equipment `{0}` needs a code, names, a quantity of 1 to {EQUIPMENT_QUANTITY_MAX} and a fee of ¥0 to ¥{FEE_YEN_MAX}"
    )]
    Equipment(String),
    /// A unit that is not in this layout.
    #[error("unit {0} is not a unit of this facility")]
    UnknownUnit(UnitId),
}

impl LayoutError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            LayoutError::UnitCount(_) => "facility_unit_count",
            LayoutError::DuplicateUnit(_) => "facility_unit_duplicate",
            LayoutError::UnknownParent { .. } => "facility_unit_unknown_parent",
            LayoutError::Cycle(_) => "facility_unit_cycle",
            LayoutError::UnitName(_) => "facility_unit_name",
            LayoutError::Capacity(_) => "facility_unit_capacity",
            LayoutError::EquipmentCount(_) => "facility_equipment_count",
            LayoutError::DuplicateEquipment(_) => "facility_equipment_duplicate",
            LayoutError::Equipment(_) => "facility_equipment_invalid",
            LayoutError::UnknownUnit(_) => "facility_unit_unknown",
        }
    }
}

/// One bookable unit, as administrators write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    pub id: UnitId,
    pub name_ja: String,
    pub name_en: String,
    pub capacity_people: u32,
    /// The whole this unit is a part of (court A's parent is the whole hall).
    #[serde(default)]
    pub parent: Option<UnitId>,
}

impl UnitSpec {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

/// One kind of equipment (付帯設備) lent with a unit, with its fee per use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquipmentSpec {
    /// Stable key, e.g. `piano`.
    pub code: String,
    pub name_ja: String,
    pub name_en: String,
    /// How many the facility has (a booking asks for 1 to this many).
    pub quantity: u16,
    /// Charged per piece per booking, at the same price for every class of user.
    pub fee_per_use_yen: i64,
}

impl EquipmentSpec {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        }
    }
}

/// A facility's units and equipment as administrators write them (stored as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    pub units: Vec<UnitSpec>,
    #[serde(default)]
    pub equipment: Vec<EquipmentSpec>,
}

/// A checked [`LayoutSpec`]: unique ids, known parents, no cycles, 1 to [`UNITS_MAX`] units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LayoutSpec", into = "LayoutSpec")]
pub struct FacilityLayout {
    spec: LayoutSpec,
    index: HashMap<UnitId, usize>,
    parent: Vec<Option<usize>>,
}

impl TryFrom<LayoutSpec> for FacilityLayout {
    type Error = LayoutError;
    fn try_from(spec: LayoutSpec) -> Result<Self, LayoutError> {
        FacilityLayout::new(spec)
    }
}

impl From<FacilityLayout> for LayoutSpec {
    fn from(layout: FacilityLayout) -> LayoutSpec {
        layout.spec
    }
}

impl FacilityLayout {
    pub fn new(spec: LayoutSpec) -> Result<Self, LayoutError> {
        let count = spec.units.len();
        if count == 0 || count > UNITS_MAX {
            return Err(LayoutError::UnitCount(count));
        }
        let mut index = HashMap::with_capacity(count);
        for (i, unit) in spec.units.iter().enumerate() {
            if index.insert(unit.id, i).is_some() {
                return Err(LayoutError::DuplicateUnit(unit.id));
            }
            if !label_ok(&unit.name_ja, NAME_MAX_CHARS) || !label_ok(&unit.name_en, NAME_MAX_CHARS)
            {
                return Err(LayoutError::UnitName(unit.id));
            }
            if !(1..=CAPACITY_MAX_PEOPLE).contains(&unit.capacity_people) {
                return Err(LayoutError::Capacity(unit.id));
            }
        }
        let mut parent = Vec::with_capacity(count);
        for unit in &spec.units {
            parent.push(match unit.parent {
                None => None,
                Some(p) => Some(*index.get(&p).ok_or(LayoutError::UnknownParent {
                    unit: unit.id,
                    parent: p,
                })?),
            });
        }
        // A path up longer than the number of units has looped.
        for (i, unit) in spec.units.iter().enumerate() {
            let mut at = parent[i];
            let mut steps = 0;
            while let Some(p) = at {
                steps += 1;
                if p == i || steps > count {
                    return Err(LayoutError::Cycle(unit.id));
                }
                at = parent[p];
            }
        }
        check_equipment(&spec.equipment)?;
        Ok(Self {
            spec,
            index,
            parent,
        })
    }

    pub fn spec(&self) -> &LayoutSpec {
        &self.spec
    }

    pub fn units(&self) -> &[UnitSpec] {
        &self.spec.units
    }

    pub fn unit(&self, id: UnitId) -> Option<&UnitSpec> {
        self.index.get(&id).map(|&i| &self.spec.units[i])
    }

    pub fn equipment(&self, code: &str) -> Option<&EquipmentSpec> {
        self.spec.equipment.iter().find(|e| e.code == code)
    }

    fn at(&self, id: UnitId) -> Result<usize, LayoutError> {
        self.index
            .get(&id)
            .copied()
            .ok_or(LayoutError::UnknownUnit(id))
    }

    /// The unit's direct parts (court A and court B of the whole hall).
    pub fn parts(&self, id: UnitId) -> Result<Vec<UnitId>, LayoutError> {
        let at = self.at(id)?;
        Ok(self
            .parent
            .iter()
            .enumerate()
            .filter(|(_, p)| **p == Some(at))
            .map(|(i, _)| self.spec.units[i].id)
            .collect())
    }

    /// The wholes the unit is part of, nearest first.
    pub fn ancestors(&self, id: UnitId) -> Result<Vec<UnitId>, LayoutError> {
        let mut at = self.parent[self.at(id)?];
        let mut out = Vec::new();
        while let Some(p) = at {
            out.push(self.spec.units[p].id);
            at = self.parent[p];
        }
        Ok(out)
    }

    /// Every part of the unit, its parts' parts and so on (not the unit itself).
    pub fn descendants(&self, id: UnitId) -> Result<BTreeSet<UnitId>, LayoutError> {
        let at = self.at(id)?;
        Ok((0..self.parent.len())
            .filter(|&i| i != at && self.is_ancestor_or_self(at, i))
            .map(|i| self.spec.units[i].id)
            .collect())
    }

    /// Whether `a` is `b` or one of `b`'s wholes (by index).
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        let mut at = Some(b);
        while let Some(i) = at {
            if i == a {
                return true;
            }
            at = self.parent[i];
        }
        false
    }

    /// The units a booking of `id` excludes at the same time: itself, its ancestors and its
    /// descendants.
    pub fn conflicting_units(&self, id: UnitId) -> Result<BTreeSet<UnitId>, LayoutError> {
        let mut out = self.descendants(id)?;
        out.insert(id);
        out.extend(self.ancestors(id)?);
        Ok(out)
    }

    /// The rows a booking of `id` writes for the exclusion constraint: itself and its
    /// descendants (see the module documentation for why that is exact).
    pub fn occupied_units(&self, id: UnitId) -> Result<BTreeSet<UnitId>, LayoutError> {
        let mut out = self.descendants(id)?;
        out.insert(id);
        Ok(out)
    }

    /// Whether bookings of `a` and `b` at the same time conflict. Unknown units conflict
    /// with nothing.
    pub fn conflicts(&self, a: UnitId, b: UnitId) -> bool {
        match (self.index.get(&a), self.index.get(&b)) {
            (Some(&a), Some(&b)) => {
                self.is_ancestor_or_self(a, b) || self.is_ancestor_or_self(b, a)
            }
            _ => false,
        }
    }
}

fn check_equipment(equipment: &[EquipmentSpec]) -> Result<(), LayoutError> {
    if equipment.len() > EQUIPMENT_MAX {
        return Err(LayoutError::EquipmentCount(equipment.len()));
    }
    let mut seen = BTreeSet::new();
    for e in equipment {
        if !seen.insert(e.code.as_str()) {
            return Err(LayoutError::DuplicateEquipment(e.code.clone()));
        }
        let ok = code_ok(&e.code)
            && label_ok(&e.name_ja, NAME_MAX_CHARS)
            && label_ok(&e.name_en, NAME_MAX_CHARS)
            && (1..=EQUIPMENT_QUANTITY_MAX).contains(&e.quantity)
            && (0..=FEE_YEN_MAX).contains(&e.fee_per_use_yen);
        if !ok {
            return Err(LayoutError::Equipment(e.code.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
