//! One booking's fee, line by line, in the order and with the rounding the module
//! documentation of `fees` sets out.

use super::{ApprovedExemption, BaseFee, FeeError, FeeTable, Rates};
use crate::bands::{EXTENSION_STEP_MINUTES, TimeRequest, TimeRules};
use crate::classes::PriceClass;
use crate::ids::UnitId;
use crate::units::FacilityLayout;
use madoguchi_domain::{Lang, Yen};
use madoguchi_payments::{PaymentAmount, RevenueCategoryCode};
use serde::{Deserialize, Serialize};

/// What is to be priced. Check the time first with [`TimeRules::occupancy`]: the quote
/// prices what it is given.
#[derive(Clone, Copy, Debug)]
pub struct FeeRequest<'a> {
    pub unit: UnitId,
    pub time: &'a TimeRequest,
    pub price: PriceClass,
    /// 入場料を徴収する催し.
    pub admission_event: bool,
    /// 営利目的.
    pub commercial: bool,
    /// 冷暖房.
    pub air_conditioning: bool,
    /// Equipment codes with how many pieces.
    pub equipment: &'a [(&'a str, u16)],
    pub exemption: Option<&'a ApprovedExemption>,
}

/// What a line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Base,
    Extension,
    Outside,
    AdmissionEvent,
    Commercial,
    AirConditioning,
    Equipment,
    Exemption,
}

/// One line of a fee, as shown before booking and on the permit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    pub kind: LineKind,
    pub label_ja: String,
    pub label_en: String,
    /// Negative for the exemption.
    pub yen: Yen,
}

impl FeeLine {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ja => &self.label_ja,
            Lang::En => &self.label_en,
        }
    }
}

/// Every line of a booking's fee, the subtotal before 減免 and the total due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeBreakdown {
    pub lines: Vec<FeeLine>,
    pub subtotal: Yen,
    pub total: Yen,
    pub revenue_category: RevenueCategoryCode,
}

impl FeeBreakdown {
    /// The amount to pay; `None` for a fee of ¥0 (a 100% 減免, or a free room): the booking
    /// is confirmed at once.
    pub fn payable(&self) -> Option<PaymentAmount> {
        PaymentAmount::new(self.total.0).ok()
    }
}

fn floor_percent(yen: i64, percent: i64) -> i64 {
    // Operands are non-negative (fees ≥ 0, percentages ≥ 0), so `/` rounds down.
    yen * percent / 100
}

fn by_minutes(per_hour: i64, minutes: u16) -> i64 {
    per_hour * i64::from(minutes) / 60
}

struct Lines(Vec<FeeLine>);

impl Lines {
    fn push(&mut self, kind: LineKind, ja: String, en: String, yen: i64) {
        if yen != 0 || kind == LineKind::Base {
            self.0.push(FeeLine {
                kind,
                label_ja: ja,
                label_en: en,
                yen: Yen(yen),
            });
        }
    }
}

impl FeeTable {
    /// Prices a booking (see the `fees` module documentation for each step's rounding).
    pub fn quote(
        &self,
        layout: &FacilityLayout,
        time: &TimeRules,
        request: &FeeRequest<'_>,
    ) -> Result<FeeBreakdown, FeeError> {
        let unit_spec = layout
            .unit(request.unit)
            .ok_or(FeeError::UnknownUnit(request.unit))?;
        let fees = self
            .unit(request.unit)
            .ok_or(FeeError::UnitUnpriced(request.unit))?;
        let explicit_outside = match request.price {
            PriceClass::City => None,
            PriceClass::Outside => fees.outside.as_ref(),
        };
        let rates: &Rates = explicit_outside.unwrap_or(&fees.city);
        let mut lines = Lines(Vec::new());

        // 1–2. Base and extension.
        let (base, when_ja, when_en, minutes, extension_minutes) = match (request.time, &rates.base)
        {
            (
                TimeRequest::Band {
                    band,
                    extension_minutes,
                    ..
                },
                BaseFee::Band { yen },
            ) => {
                let unpriced = || FeeError::BandUnpriced {
                    unit: request.unit,
                    band: band.to_string(),
                };
                let found = time.band(band).ok_or_else(unpriced)?;
                let base = *yen.get(band).ok_or_else(unpriced)?;
                let band_minutes = found.end.minutes() - found.start.minutes();
                (
                    base,
                    found.name_ja.clone(),
                    found.name_en.clone(),
                    band_minutes,
                    *extension_minutes,
                )
            }
            (TimeRequest::Hours { start, end, .. }, BaseFee::Hour { yen }) => {
                let minutes = end.minutes().saturating_sub(start.minutes());
                (
                    by_minutes(*yen, minutes),
                    format!("{minutes}分"),
                    format!("{minutes} min"),
                    minutes,
                    0,
                )
            }
            _ => return Err(FeeError::ModeMismatch(request.unit)),
        };
        let rate_note_ja = if explicit_outside.is_some() {
            "・市外"
        } else {
            ""
        };
        let rate_note_en = if explicit_outside.is_some() {
            ", non-resident"
        } else {
            ""
        };
        lines.push(
            LineKind::Base,
            format!(
                "基本使用料（{}・{when_ja}{rate_note_ja}）",
                unit_spec.name_ja
            ),
            format!("Base fee ({}, {when_en}{rate_note_en})", unit_spec.name_en),
            base,
        );
        let extension = if extension_minutes == 0 {
            0
        } else {
            let per_step = rates
                .extension_per_30_min_yen
                .ok_or(FeeError::ExtensionUnpriced)?;
            per_step * i64::from(extension_minutes / EXTENSION_STEP_MINUTES)
        };
        lines.push(
            LineKind::Extension,
            format!("延長使用料（{extension_minutes}分）"),
            format!("Extension ({extension_minutes} min)"),
            extension,
        );
        let use_fee = base + extension;

        // 3. 市外 by percentage, unless explicit rates were used.
        let percent = i64::from(self.0.outside_percent);
        let outside = match (request.price, explicit_outside) {
            (PriceClass::Outside, None) => floor_percent(use_fee, percent - 100),
            (PriceClass::Outside, Some(_)) | (PriceClass::City, _) => 0,
        };
        lines.push(
            LineKind::Outside,
            format!("市外料金加算（{percent}%）"),
            format!("Non-resident rate ({percent}%)"),
            outside,
        );
        let adjusted = use_fee + outside;

        // 4. Surcharges, each on the adjusted use fee.
        let admission = i64::from(self.0.admission_event_percent);
        if request.admission_event {
            lines.push(
                LineKind::AdmissionEvent,
                format!("入場料徴収加算（{admission}%）"),
                format!("Admission-charging event (+{admission}%)"),
                floor_percent(adjusted, admission),
            );
        }
        let commercial = i64::from(self.0.commercial_percent);
        if request.commercial {
            lines.push(
                LineKind::Commercial,
                format!("営利目的加算（{commercial}%）"),
                format!("Commercial use (+{commercial}%)"),
                floor_percent(adjusted, commercial),
            );
        }

        // 5. Air-conditioning: flat per band, or by the hour.
        if request.air_conditioning {
            let fee = fees
                .air_conditioning_yen
                .ok_or(FeeError::AirConditioningUnavailable)?;
            let yen = match request.time {
                TimeRequest::Band { .. } => fee,
                TimeRequest::Hours { .. } => by_minutes(fee, minutes),
            };
            lines.push(
                LineKind::AirConditioning,
                "冷暖房使用料".into(),
                "Air-conditioning".into(),
                yen,
            );
        }

        // 6. Equipment.
        for (i, &(code, quantity)) in request.equipment.iter().enumerate() {
            let spec = layout
                .equipment(code)
                .ok_or_else(|| FeeError::EquipmentUnknown(code.to_owned()))?;
            let asked_twice = request.equipment[..i].iter().any(|(c, _)| *c == code);
            if quantity == 0 || quantity > spec.quantity || asked_twice {
                return Err(FeeError::EquipmentQuantity(code.to_owned()));
            }
            lines.push(
                LineKind::Equipment,
                format!("{} × {quantity}", spec.name_ja),
                format!("{} × {quantity}", spec.name_en),
                spec.fee_per_use_yen * i64::from(quantity),
            );
        }

        // 7. 減免, last.
        let subtotal: i64 = lines.0.iter().map(|l| l.yen.0).sum();
        let total = match request.exemption {
            None => subtotal,
            Some(exemption) => {
                let rate = exemption.rate().percent();
                let due = floor_percent(subtotal, 100 - rate);
                let (ja, en) = match exemption.rate() {
                    super::ExemptionRate::Full => ("全額", "100%"),
                    super::ExemptionRate::Half => ("5割", "50%"),
                    super::ExemptionRate::ThreeTenths => ("3割", "30%"),
                };
                lines.push(
                    LineKind::Exemption,
                    format!("減免（{ja}）"),
                    format!("Exemption ({en})"),
                    due - subtotal,
                );
                due
            }
        };
        Ok(FeeBreakdown {
            lines: lines.0,
            subtotal: Yen(subtotal),
            total: Yen(total),
            revenue_category: self.0.revenue_category.clone(),
        })
    }
}
