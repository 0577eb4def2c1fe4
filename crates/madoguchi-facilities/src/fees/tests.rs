//! Worked examples, with the arithmetic written out.

use super::*;
use crate::bands::{BookingMode, OpeningHours, TimeRequest, TimeRulesSpec};
use crate::classes::PriceClass;
use crate::units::fixtures::{COURT_A, COURT_B, ROOM, WHOLE, gym};
use crate::wall::ClockTime;
use madoguchi_domain::{AccountId, Yen};
use time::macros::date;
use uuid::Uuid;

const STAFF: AccountId = AccountId(Uuid::from_u128(20));
const RESIDENT: AccountId = AccountId(Uuid::from_u128(10));

fn bands(morning: i64, afternoon: i64, night: i64) -> BaseFee {
    BaseFee::Band {
        yen: [
            ("morning", morning),
            ("afternoon", afternoon),
            ("night", night),
        ]
        .into_iter()
        .map(|(code, yen)| (BandCode::parse(code).unwrap(), yen))
        .collect(),
    }
}

/// The gymnasium's table: 市外 150%, +50% for an event charging admission, +100% for
/// commercial use.
fn gym_table() -> FeeTable {
    let court = UnitFees {
        unit: COURT_A,
        city: Rates {
            base: bands(2_000, 3_000, 3_500),
            extension_per_30_min_yen: None,
        },
        outside: None,
        air_conditioning_yen: Some(600),
    };
    FeeTable::new(FeeTableSpec {
        revenue_category: RevenueCategoryCode::parse("facility_fee").unwrap(),
        units: vec![
            UnitFees {
                unit: WHOLE,
                city: Rates {
                    base: bands(4_500, 6_000, 7_500),
                    extension_per_30_min_yen: Some(1_000),
                },
                outside: None,
                air_conditioning_yen: Some(1_200),
            },
            court.clone(),
            UnitFees {
                unit: COURT_B,
                ..court
            },
            UnitFees {
                unit: ROOM,
                city: Rates {
                    base: bands(2_300, 3_000, 3_000),
                    extension_per_30_min_yen: Some(400),
                },
                outside: Some(Rates {
                    base: bands(3_500, 4_500, 4_500),
                    extension_per_30_min_yen: Some(600),
                }),
                air_conditioning_yen: None,
            },
        ],
        outside_percent: 150,
        admission_event_percent: 50,
        commercial_percent: 100,
    })
    .unwrap()
}

fn time() -> TimeRules {
    TimeRules::default_bands().unwrap()
}

fn band(code: &str, extension_minutes: u16) -> TimeRequest {
    TimeRequest::Band {
        date: date!(2026 - 07 - 04),
        band: BandCode::parse(code).unwrap(),
        extension_minutes,
    }
}

fn plain(unit: UnitId, time: &TimeRequest, price: PriceClass) -> FeeRequest<'_> {
    FeeRequest {
        unit,
        time,
        price,
        admission_event: false,
        commercial: false,
        air_conditioning: false,
        equipment: &[],
        exemption: None,
    }
}

fn exemption(rate: ExemptionRate) -> ApprovedExemption {
    let request = ExemptionRequest {
        rate,
        requested_by: RESIDENT,
        reason: "障害者団体の定例活動".into(),
    };
    ApprovedExemption::approve(&request, STAFF).unwrap()
}

fn yen_of(b: &FeeBreakdown) -> Vec<(LineKind, i64)> {
    b.lines.iter().map(|l| (l.kind, l.yen.0)).collect()
}

#[test]
fn the_whole_hall_in_the_afternoon_from_outside_with_air_conditioning_half_exempted() {
    // base 6,000
    // 市外 150%: ⌊6,000 × 50 / 100⌋ = 3,000 → 9,000
    // 冷暖房 1,200 → subtotal 10,200
    // 5割減免: due ⌊10,200 × 50 / 100⌋ = 5,100, the line −5,100.
    let half = exemption(ExemptionRate::Half);
    let when = band("afternoon", 0);
    let request = FeeRequest {
        air_conditioning: true,
        exemption: Some(&half),
        ..plain(WHOLE, &when, PriceClass::Outside)
    };
    let got = gym_table().quote(&gym(), &time(), &request).unwrap();
    assert_eq!(
        yen_of(&got),
        [
            (LineKind::Base, 6_000),
            (LineKind::Outside, 3_000),
            (LineKind::AirConditioning, 1_200),
            (LineKind::Exemption, -5_100),
        ]
    );
    assert_eq!(got.subtotal, Yen(10_200));
    assert_eq!(got.total, Yen(5_100));
    assert_eq!(got.lines[0].label_ja, "基本使用料（全面・午後）");
    assert_eq!(got.lines[1].label_en, "Non-resident rate (150%)");
    assert_eq!(got.payable().unwrap().get(), 5_100);
}

#[test]
fn surcharges_are_each_taken_on_the_use_fee_and_added() {
    // 会議室 午前, 市内: base 2,300
    // 入場料徴収 +50%: ⌊2,300 × 50 / 100⌋ = 1,150
    // 営利目的 +100%: ⌊2,300 × 100 / 100⌋ = 2,300 (on the use fee, not on 3,450)
    // total 2,300 + 1,150 + 2,300 = 5,750.
    let when = band("morning", 0);
    let request = FeeRequest {
        admission_event: true,
        commercial: true,
        ..plain(ROOM, &when, PriceClass::City)
    };
    let got = gym_table().quote(&gym(), &time(), &request).unwrap();
    assert_eq!(
        yen_of(&got),
        [
            (LineKind::Base, 2_300),
            (LineKind::AdmissionEvent, 1_150),
            (LineKind::Commercial, 2_300),
        ]
    );
    assert_eq!(got.total, Yen(5_750));
}

#[test]
fn an_extension_is_part_of_the_use_fee_raised_for_outside_and_for_commercial_use() {
    // 全面 午後 + 60 minutes, 市外, commercial:
    // base 6,000; extension 2 × 1,000 = 2,000 → use fee 8,000
    // 市外 ⌊8,000 × 50 / 100⌋ = 4,000 → 12,000
    // 営利目的 ⌊12,000 × 100 / 100⌋ = 12,000 → total 24,000.
    let when = band("afternoon", 60);
    let request = FeeRequest {
        commercial: true,
        ..plain(WHOLE, &when, PriceClass::Outside)
    };
    let got = gym_table().quote(&gym(), &time(), &request).unwrap();
    assert_eq!(
        yen_of(&got),
        [
            (LineKind::Base, 6_000),
            (LineKind::Extension, 2_000),
            (LineKind::Outside, 4_000),
            (LineKind::Commercial, 12_000),
        ]
    );
    assert_eq!(got.total, Yen(24_000));
}

#[test]
fn explicit_outside_rates_replace_the_percentage() {
    // 会議室 午前, 市外, with its own 市外 rate 3,500 (not ⌊2,300 × 1.5⌋ = 3,450).
    let when = band("morning", 30);
    let got = gym_table()
        .quote(&gym(), &time(), &plain(ROOM, &when, PriceClass::Outside))
        .unwrap();
    // base 3,500 + extension 1 × 600 (the 市外 extension rate) = 4,100; no 市外 line.
    assert_eq!(
        yen_of(&got),
        [(LineKind::Base, 3_500), (LineKind::Extension, 600)]
    );
    assert_eq!(got.lines[0].label_ja, "基本使用料（会議室・午前・市外）");
}

#[test]
fn by_the_hour_every_step_rounds_down_and_the_exemption_favours_the_payer() {
    // 会議室 ¥750 an hour, 冷暖房 ¥300 an hour, 10:00–11:30 (90 minutes), 市外 150%, 3割減免:
    // base ⌊750 × 90 / 60⌋ = 1,125
    // 市外 ⌊1,125 × 50 / 100⌋ = ⌊562.5⌋ = 562
    // 冷暖房 ⌊300 × 90 / 60⌋ = 450 → subtotal 1,125 + 562 + 450 = 2,137
    // due ⌊2,137 × 70 / 100⌋ = ⌊1,495.9⌋ = 1,495; the exemption line −642.
    let hourly = TimeRules::new(TimeRulesSpec {
        hours: OpeningHours {
            opens: ClockTime::parse("09:00").unwrap(),
            closes: ClockTime::parse("22:00").unwrap(),
        },
        mode: BookingMode::Hourly {
            min_minutes: 60,
            max_minutes: 240,
            granularity_minutes: 30,
        },
        buffer_minutes: 15,
    })
    .unwrap();
    let table = FeeTable::new(FeeTableSpec {
        revenue_category: RevenueCategoryCode::parse("facility_fee").unwrap(),
        units: vec![UnitFees {
            unit: ROOM,
            city: Rates {
                base: BaseFee::Hour { yen: 750 },
                extension_per_30_min_yen: None,
            },
            outside: None,
            air_conditioning_yen: Some(300),
        }],
        outside_percent: 150,
        admission_event_percent: 0,
        commercial_percent: 0,
    })
    .unwrap();
    table.check_against(&gym(), &hourly).unwrap();
    let when = TimeRequest::Hours {
        date: date!(2026 - 07 - 04),
        start: ClockTime::parse("10:00").unwrap(),
        end: ClockTime::parse("11:30").unwrap(),
    };
    let thirty = exemption(ExemptionRate::ThreeTenths);
    let request = FeeRequest {
        air_conditioning: true,
        exemption: Some(&thirty),
        ..plain(ROOM, &when, PriceClass::Outside)
    };
    let got = table.quote(&gym(), &hourly, &request).unwrap();
    assert_eq!(
        yen_of(&got),
        [
            (LineKind::Base, 1_125),
            (LineKind::Outside, 562),
            (LineKind::AirConditioning, 450),
            (LineKind::Exemption, -642),
        ]
    );
    assert_eq!(got.total, Yen(1_495));
    assert_eq!(got.lines[0].label_en, "Base fee (Meeting room, 90 min)");
}

#[test]
fn equipment_is_charged_per_piece_and_a_full_exemption_leaves_nothing_to_pay() {
    // Aコート 午前 2,000 + piano 1 × 2,000 + projectors 2 × 500 = 5,000; 全額免除 → 0.
    let full = exemption(ExemptionRate::Full);
    let when = band("morning", 0);
    let request = FeeRequest {
        equipment: &[("piano", 1), ("projector", 2)],
        exemption: Some(&full),
        ..plain(COURT_A, &when, PriceClass::City)
    };
    let got = gym_table().quote(&gym(), &time(), &request).unwrap();
    assert_eq!(
        yen_of(&got),
        [
            (LineKind::Base, 2_000),
            (LineKind::Equipment, 2_000),
            (LineKind::Equipment, 1_000),
            (LineKind::Exemption, -5_000),
        ]
    );
    assert_eq!(got.lines[2].label_ja, "プロジェクター × 2");
    assert_eq!(got.total, Yen(0));
    assert_eq!(got.payable(), None);
}

#[test]
fn what_the_unit_does_not_offer_is_refused() {
    let table = gym_table();
    let (layout, time) = (gym(), time());
    let when = band("morning", 0);
    let code = |request: FeeRequest<'_>| table.quote(&layout, &time, &request).unwrap_err().code();
    let base = plain(ROOM, &when, PriceClass::City);
    assert_eq!(
        code(FeeRequest {
            air_conditioning: true,
            ..base
        }),
        "fee_air_conditioning_unavailable"
    );
    let extended = band("morning", 30);
    assert_eq!(
        code(plain(COURT_A, &extended, PriceClass::City)),
        "fee_extension_unpriced"
    );
    for (equipment, expected) in [
        (&[("organ", 1)][..], "fee_equipment_unknown"),
        (&[("projector", 3)][..], "fee_equipment_quantity"),
        (&[("piano", 0)][..], "fee_equipment_quantity"),
        (&[("piano", 1), ("piano", 1)][..], "fee_equipment_quantity"),
    ] {
        assert_eq!(code(FeeRequest { equipment, ..base }), expected);
    }
    let hours = TimeRequest::Hours {
        date: date!(2026 - 07 - 04),
        start: ClockTime::parse("10:00").unwrap(),
        end: ClockTime::parse("11:00").unwrap(),
    };
    assert_eq!(
        code(plain(ROOM, &hours, PriceClass::City)),
        "fee_mode_mismatch"
    );
    assert_eq!(
        code(plain(UnitId(Uuid::from_u128(99)), &when, PriceClass::City)),
        "fee_unit_unknown"
    );
}

#[test]
fn a_table_with_a_negative_or_huge_fee_or_a_wild_percentage_is_refused() {
    let spec = gym_table().spec().clone();
    let mut negative = spec.clone();
    negative.units[0].air_conditioning_yen = Some(-1);
    assert_eq!(FeeTable::new(negative), Err(FeeError::Negative));
    let mut huge = spec.clone();
    huge.units[0].city.base = bands(4_500, FEE_YEN_MAX + 1, 7_500);
    assert_eq!(FeeTable::new(huge), Err(FeeError::OverCap));
    for (outside, admission) in [(99, 0), (301, 0), (150, 301)] {
        let mut wild = spec.clone();
        wild.outside_percent = outside;
        wild.admission_event_percent = admission;
        assert_eq!(FeeTable::new(wild), Err(FeeError::PercentOutOfRange));
    }
    let mut twice = spec.clone();
    twice.units[1].unit = WHOLE;
    assert_eq!(FeeTable::new(twice), Err(FeeError::UnitDuplicate(WHOLE)));
    let mut shape = spec;
    shape.units[3].outside = Some(Rates {
        base: BaseFee::Hour { yen: 800 },
        extension_per_30_min_yen: None,
    });
    assert_eq!(FeeTable::new(shape), Err(FeeError::OutsideShape(ROOM)));
}

#[test]
fn a_table_must_price_exactly_the_facilitys_bands_for_its_units() {
    let table = gym_table();
    assert_eq!(table.check_against(&gym(), &time()), Ok(()));
    let mut spec = table.spec().clone();
    spec.units[0].city.base = bands(4_500, 6_000, 7_500);
    if let BaseFee::Band { yen } = &mut spec.units[0].city.base {
        yen.remove(&BandCode::parse("night").unwrap());
    }
    let missing = FeeTable::new(spec.clone()).unwrap();
    assert_eq!(
        missing.check_against(&gym(), &time()).unwrap_err().code(),
        "fee_band_unpriced"
    );
    spec.units[0].unit = UnitId(Uuid::from_u128(99));
    let stranger = FeeTable::new(spec).unwrap();
    assert_eq!(
        stranger.check_against(&gym(), &time()).unwrap_err().code(),
        "fee_unit_unknown"
    );
}

#[test]
fn a_table_reads_from_the_json_administrators_edit_and_refuses_unknown_fields() {
    let json = serde_json::json!({
        "revenue_category": "facility_fee",
        "units": [{
            "unit": WHOLE,
            "city": {"base": {"per": "band", "yen": {"morning": 4500, "afternoon": 6000, "night": 7500}},
                     "extension_per_30_min_yen": 1000},
            "air_conditioning_yen": 1200
        }],
        "outside_percent": 200,
        "admission_event_percent": 100,
        "commercial_percent": 100
    });
    let table: FeeTable = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&table).unwrap(), json);
    let mut extra = json.clone();
    extra["units"][0]["discount"] = serde_json::json!(10);
    assert!(serde_json::from_value::<FeeTable>(extra).is_err());
    let mut negative = json;
    negative["units"][0]["city"]["base"]["yen"]["night"] = serde_json::json!(-7500);
    assert!(serde_json::from_value::<FeeTable>(negative).is_err());
}
