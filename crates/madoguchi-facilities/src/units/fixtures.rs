//! The gymnasium layout the tests of every module use.

use super::*;
use uuid::Uuid;

pub const WHOLE: UnitId = UnitId(Uuid::from_u128(0x100));
pub const COURT_A: UnitId = UnitId(Uuid::from_u128(0x10a));
pub const COURT_B: UnitId = UnitId(Uuid::from_u128(0x10b));
pub const ROOM: UnitId = UnitId(Uuid::from_u128(0x200));

fn unit(id: UnitId, ja: &str, en: &str, people: u32, parent: Option<UnitId>) -> UnitSpec {
    UnitSpec {
        id,
        name_ja: ja.into(),
        name_en: en.into(),
        capacity_people: people,
        parent,
    }
}

/// 体育館: the whole hall (全面) is court A plus court B; a meeting room beside it; a
/// piano (¥2,000 a use) and two projectors (¥500 each).
pub fn gym_spec() -> LayoutSpec {
    LayoutSpec {
        units: vec![
            unit(WHOLE, "全面", "Whole hall", 200, None),
            unit(COURT_A, "Aコート", "Court A", 100, Some(WHOLE)),
            unit(COURT_B, "Bコート", "Court B", 100, Some(WHOLE)),
            unit(ROOM, "会議室", "Meeting room", 30, None),
        ],
        equipment: vec![
            EquipmentSpec {
                code: "piano".into(),
                name_ja: "ピアノ".into(),
                name_en: "Piano".into(),
                quantity: 1,
                fee_per_use_yen: 2_000,
            },
            EquipmentSpec {
                code: "projector".into(),
                name_ja: "プロジェクター".into(),
                name_en: "Projector".into(),
                quantity: 2,
                fee_per_use_yen: 500,
            },
        ],
    }
}

pub fn gym() -> FacilityLayout {
    FacilityLayout::new(gym_spec()).unwrap()
}
