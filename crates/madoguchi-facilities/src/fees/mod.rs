//! The fee engine (使用料): a facility's fee table, what one booking costs, line by line.
//!
//! A [`FeeTable`] prices each unit per band (or per hour), with a 市外 percentage (or
//! explicit 市外 rates per unit), surcharges for an event that charges admission (入場料を
//! 徴収する催し) and for commercial use (営利目的), air-conditioning (冷暖房) per band or per
//! hour, and extensions (延長) per 30 minutes. Equipment (付帯設備) is priced in the layout.
//!
//! [`FeeTable::quote`] computes, in this order, every step in whole yen:
//! 1. **base** (基本使用料): the unit's fee for the band; by the hour,
//!    `⌊per_hour × minutes / 60⌋`.
//! 2. **extension** (延長使用料): `steps of 30 minutes × the unit's fee per 30 minutes`.
//!    The *use fee* is base + extension.
//! 3. **市外**: with explicit 市外 rates for the unit, steps 1–2 use them and no line is added;
//!    otherwise a line `⌊use fee × (percent − 100) / 100⌋` (150% adds half). The *adjusted use
//!    fee* is the use fee plus this line.
//! 4. **surcharges**: admission-charging event `⌊adjusted × percent / 100⌋`, commercial use
//!    `⌊adjusted × percent / 100⌋`, each on the adjusted use fee, added (not compounded).
//! 5. **air-conditioning**: a flat fee per band (an extension adds none), or by the hour
//!    `⌊per_hour × minutes / 60⌋`; never raised for 市外 or surcharges.
//! 6. **equipment**: fee per use × quantity, for every class alike.
//! 7. **減免** (exemption), last, on the subtotal of all the above: what is due is
//!    `⌊subtotal × (100 − rate) / 100⌋`, and the exemption line is the difference, so any
//!    fraction of a yen falls to the payer's benefit. Only an [`ApprovedExemption`] applies.
//!
//! Every `⌊…⌋` rounds down to the yen. Bounds keep all arithmetic far inside `i64`: every
//! fee is at most [`FEE_YEN_MAX`], percentages at most 300, a day at most 1,440 minutes.

mod exemption;
mod quote;

pub use exemption::{
    ApprovedExemption, EXEMPTION_REASON_MAX_CHARS, ExemptionRate, ExemptionRequest, ExemptionStatus,
};
pub use quote::{FeeBreakdown, FeeLine, FeeRequest, LineKind};

use crate::bands::{BandCode, BookingMode, TimeRules};
use crate::ids::UnitId;
use crate::units::{FacilityLayout, UNITS_MAX};
use madoguchi_payments::RevenueCategoryCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The most one line of a table may cost: no band of any hall costs a million yen.
pub const FEE_YEN_MAX: i64 = 1_000_000;
/// The 市外 rate is 100% (no difference) to 300% of the 市内 rate.
pub const OUTSIDE_PERCENT_MIN: u16 = 100;
pub const OUTSIDE_PERCENT_MAX: u16 = 300;
/// A surcharge adds at most 300%.
pub const SURCHARGE_PERCENT_MAX: u16 = 300;

/// Why a fee table is refused, or a booking cannot be priced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// A fee below zero.
    #[error("fees are never negative")]
    Negative,
    /// A fee above [`FEE_YEN_MAX`].
    #[error("a fee is at most ¥{FEE_YEN_MAX}")]
    OverCap,
    /// A 市外 percentage outside 100–300, or a surcharge above 300.
    #[error("the 市外 rate is 100–300% and a surcharge at most 300%")]
    PercentOutOfRange,
    /// No unit priced, more than [`UNITS_MAX`], or one priced twice.
    #[error("a table prices 1 to {UNITS_MAX} units, each once")]
    UnitCount,
    /// A unit priced twice.
    #[error("unit {0} is priced twice")]
    UnitDuplicate(UnitId),
    /// Band fees with no band.
    #[error("a unit priced by band needs a fee for at least one band")]
    NoBandFee,
    /// Explicit 市外 rates priced otherwise than the 市内 ones (by band vs by hour).
    #[error("the 市外 rates of unit {0} must be priced the same way as its 市内 rates")]
    OutsideShape(UnitId),
    /// The table prices a unit the layout does not have.
    #[error("unit {0} is not a unit of this facility")]
    UnknownUnit(UnitId),
    /// A unit without a fee in the table: it cannot be booked.
    #[error("unit {0} has no fee")]
    UnitUnpriced(UnitId),
    /// Band fees for a facility booked by the hour, or the other way round.
    #[error("the fees of unit {0} do not follow the facility's booking mode")]
    ModeMismatch(UnitId),
    /// A band without a fee for the unit, or a fee for a band the facility does not have.
    #[error("band `{band}` of unit {unit} is not priced or does not exist")]
    BandUnpriced { unit: UnitId, band: String },
    /// Air-conditioning asked where the unit has no air-conditioning fee.
    #[error("this unit has no air-conditioning")]
    AirConditioningUnavailable,
    /// An extension asked where the unit has no extension fee.
    #[error("this unit cannot be extended")]
    ExtensionUnpriced,
    /// Equipment the facility does not have.
    #[error("the facility has no equipment `{0}`")]
    EquipmentUnknown(String),
    /// None, or more pieces than the facility has, or the same equipment asked twice.
    #[error("equipment `{0}`: ask for 1 up to the number the facility has, once")]
    EquipmentQuantity(String),
    /// An exemption asked for but not (or not yet) approved by staff.
    #[error("the exemption has not been approved")]
    ExemptionNotApproved,
    /// An exemption without a reason, or with one too long.
    #[error("an exemption needs a reason of at most {EXEMPTION_REASON_MAX_CHARS} characters")]
    ExemptionReasonRequired,
    /// Staff approving an exemption they asked for themselves.
    #[error("an exemption is approved by someone other than who asked for it")]
    ExemptionSelfApproval,
}

impl FeeError {
    /// A stable code for the API and the pages.
    pub fn code(&self) -> &'static str {
        match self {
            FeeError::Negative => "fee_negative",
            FeeError::OverCap => "fee_over_cap",
            FeeError::PercentOutOfRange => "fee_percent_out_of_range",
            FeeError::UnitCount => "fee_unit_count",
            FeeError::UnitDuplicate(_) => "fee_unit_duplicate",
            FeeError::NoBandFee => "fee_no_band_fee",
            FeeError::OutsideShape(_) => "fee_outside_shape",
            FeeError::UnknownUnit(_) => "fee_unit_unknown",
            FeeError::UnitUnpriced(_) => "fee_unit_unpriced",
            FeeError::ModeMismatch(_) => "fee_mode_mismatch",
            FeeError::BandUnpriced { .. } => "fee_band_unpriced",
            FeeError::AirConditioningUnavailable => "fee_air_conditioning_unavailable",
            FeeError::ExtensionUnpriced => "fee_extension_unpriced",
            FeeError::EquipmentUnknown(_) => "fee_equipment_unknown",
            FeeError::EquipmentQuantity(_) => "fee_equipment_quantity",
            FeeError::ExemptionNotApproved => "exemption_not_approved",
            FeeError::ExemptionReasonRequired => "exemption_reason_required",
            FeeError::ExemptionSelfApproval => "exemption_self_approval",
        }
    }
}

/// How a unit's use is priced. Stored as `{"per": "band", "yen": {"morning": 3000, …}}` or
/// `{"per": "hour", "yen": 800}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "per", rename_all = "snake_case", deny_unknown_fields)]
pub enum BaseFee {
    Band { yen: BTreeMap<BandCode, i64> },
    Hour { yen: i64 },
}

/// The rates of one unit for one price class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    pub base: BaseFee,
    /// Per 30 minutes of extension past a band; `None`: the unit is not extended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_per_30_min_yen: Option<i64>,
}

/// One unit's line of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitFees {
    pub unit: UnitId,
    /// 市内料金.
    pub city: Rates,
    /// Explicit 市外料金; `None`: the table's 市外 percentage of the 市内 rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outside: Option<Rates>,
    /// 冷暖房: per band, or per hour for units booked by the hour; `None`: none offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub air_conditioning_yen: Option<i64>,
}

/// A facility's fee table as administrators write it (stored as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTableSpec {
    /// The revenue category (歳入科目) bookings are assessed under, e.g. `facility_fee`.
    pub revenue_category: RevenueCategoryCode,
    pub units: Vec<UnitFees>,
    /// 市外 rate in percent of the 市内 rate, for units without explicit 市外 rates.
    pub outside_percent: u16,
    /// Added for an event that charges admission, in percent (e.g. 100 or 50).
    #[serde(default)]
    pub admission_event_percent: u16,
    /// Added for commercial use, in percent (e.g. 100).
    #[serde(default)]
    pub commercial_percent: u16,
}

/// A checked [`FeeTableSpec`]: no negative fee, none above the cap, percentages in bounds,
/// each unit priced once. [`FeeTable::check_against`] checks it against the facility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FeeTableSpec", into = "FeeTableSpec")]
pub struct FeeTable(FeeTableSpec);

impl TryFrom<FeeTableSpec> for FeeTable {
    type Error = FeeError;
    fn try_from(spec: FeeTableSpec) -> Result<Self, FeeError> {
        FeeTable::new(spec)
    }
}

impl From<FeeTable> for FeeTableSpec {
    fn from(table: FeeTable) -> Self {
        table.0
    }
}

fn check_yen(yen: i64) -> Result<(), FeeError> {
    if yen < 0 {
        Err(FeeError::Negative)
    } else if yen > FEE_YEN_MAX {
        Err(FeeError::OverCap)
    } else {
        Ok(())
    }
}

fn check_rates(rates: &Rates) -> Result<(), FeeError> {
    match &rates.base {
        BaseFee::Band { yen } if yen.is_empty() => return Err(FeeError::NoBandFee),
        BaseFee::Band { yen } => yen.values().try_for_each(|&y| check_yen(y))?,
        BaseFee::Hour { yen } => check_yen(*yen)?,
    }
    rates.extension_per_30_min_yen.map_or(Ok(()), check_yen)
}

impl FeeTable {
    pub fn new(spec: FeeTableSpec) -> Result<Self, FeeError> {
        if spec.units.is_empty() || spec.units.len() > UNITS_MAX {
            return Err(FeeError::UnitCount);
        }
        if !(OUTSIDE_PERCENT_MIN..=OUTSIDE_PERCENT_MAX).contains(&spec.outside_percent)
            || spec.admission_event_percent > SURCHARGE_PERCENT_MAX
            || spec.commercial_percent > SURCHARGE_PERCENT_MAX
        {
            return Err(FeeError::PercentOutOfRange);
        }
        let mut seen = BTreeSet::new();
        for unit in &spec.units {
            if !seen.insert(unit.unit) {
                return Err(FeeError::UnitDuplicate(unit.unit));
            }
            check_rates(&unit.city)?;
            if let Some(outside) = &unit.outside {
                check_rates(outside)?;
                let same_shape = match (&unit.city.base, &outside.base) {
                    (BaseFee::Band { yen: a }, BaseFee::Band { yen: b }) => a.keys().eq(b.keys()),
                    (BaseFee::Hour { .. }, BaseFee::Hour { .. }) => true,
                    _ => false,
                };
                if !same_shape {
                    return Err(FeeError::OutsideShape(unit.unit));
                }
            }
            unit.air_conditioning_yen.map_or(Ok(()), check_yen)?;
        }
        Ok(Self(spec))
    }

    pub fn spec(&self) -> &FeeTableSpec {
        &self.0
    }

    pub fn unit(&self, unit: UnitId) -> Option<&UnitFees> {
        self.0.units.iter().find(|u| u.unit == unit)
    }

    /// Checks the table against the facility: every priced unit exists, is priced the way
    /// the facility is booked (by band or by hour), and by band prices exactly its bands.
    /// Units of the layout without a fee are allowed (not bookable until priced).
    pub fn check_against(&self, layout: &FacilityLayout, time: &TimeRules) -> Result<(), FeeError> {
        for unit in &self.0.units {
            if layout.unit(unit.unit).is_none() {
                return Err(FeeError::UnknownUnit(unit.unit));
            }
            match (&time.spec().mode, &unit.city.base) {
                (BookingMode::Bands { bands, .. }, BaseFee::Band { yen }) => {
                    let wanted: BTreeSet<&BandCode> = bands.iter().map(|b| &b.code).collect();
                    let priced: BTreeSet<&BandCode> = yen.keys().collect();
                    if let Some(band) = wanted.symmetric_difference(&priced).next() {
                        return Err(FeeError::BandUnpriced {
                            unit: unit.unit,
                            band: band.to_string(),
                        });
                    }
                }
                (BookingMode::Hourly { .. }, BaseFee::Hour { .. }) => {}
                _ => return Err(FeeError::ModeMismatch(unit.unit)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
