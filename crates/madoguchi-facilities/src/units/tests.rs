//! Conflicts between wholes and parts, and what a layout refuses.

use super::fixtures::*;
use super::*;
use uuid::Uuid;

#[test]
fn the_whole_conflicts_with_its_parts_and_the_parts_not_with_each_other() {
    let gym = gym();
    assert_eq!(
        gym.conflicting_units(WHOLE).unwrap(),
        BTreeSet::from([WHOLE, COURT_A, COURT_B])
    );
    assert_eq!(
        gym.conflicting_units(COURT_A).unwrap(),
        BTreeSet::from([COURT_A, WHOLE])
    );
    assert_eq!(gym.conflicting_units(ROOM).unwrap(), BTreeSet::from([ROOM]));
    assert!(gym.conflicts(COURT_A, WHOLE));
    assert!(gym.conflicts(WHOLE, COURT_B));
    assert!(!gym.conflicts(COURT_A, COURT_B));
    assert!(!gym.conflicts(ROOM, WHOLE));
    assert_eq!(gym.parts(WHOLE).unwrap(), vec![COURT_A, COURT_B]);
    assert_eq!(gym.ancestors(COURT_B).unwrap(), vec![WHOLE]);
}

#[test]
fn occupied_units_intersect_exactly_when_units_conflict() {
    // Three levels: the whole hall, its halves, and a quarter of half A.
    let mut spec = gym_spec();
    let quarter = UnitId(Uuid::from_u128(0x10a1));
    spec.units.push(UnitSpec {
        id: quarter,
        name_ja: "A1".into(),
        name_en: "A1".into(),
        capacity_people: 50,
        parent: Some(COURT_A),
    });
    let layout = FacilityLayout::new(spec).unwrap();
    let ids: Vec<UnitId> = layout.units().iter().map(|u| u.id).collect();
    for &a in &ids {
        for &b in &ids {
            let rows_a = layout.occupied_units(a).unwrap();
            let rows_b = layout.occupied_units(b).unwrap();
            let intersect = !rows_a.is_disjoint(&rows_b);
            assert_eq!(intersect, layout.conflicts(a, b), "{a} {b}");
            assert_eq!(
                layout.conflicting_units(a).unwrap().contains(&b),
                layout.conflicts(a, b)
            );
        }
    }
    assert_eq!(layout.ancestors(quarter).unwrap(), vec![COURT_A, WHOLE]);
}

#[test]
fn cycles_unknown_parents_and_duplicates_are_refused() {
    let mut looped = gym_spec();
    looped.units[0].parent = Some(COURT_A);
    assert_eq!(
        FacilityLayout::new(looped).unwrap_err().code(),
        "facility_unit_cycle"
    );
    let mut own_parent = gym_spec();
    own_parent.units[3].parent = Some(ROOM);
    assert_eq!(
        FacilityLayout::new(own_parent),
        Err(LayoutError::Cycle(ROOM))
    );
    let mut orphan = gym_spec();
    orphan.units[3].parent = Some(UnitId(Uuid::from_u128(9)));
    assert_eq!(
        FacilityLayout::new(orphan).unwrap_err().code(),
        "facility_unit_unknown_parent"
    );
    let mut twice = gym_spec();
    twice.units[1].id = WHOLE;
    assert_eq!(
        FacilityLayout::new(twice),
        Err(LayoutError::DuplicateUnit(WHOLE))
    );
}

#[test]
fn sizes_names_capacities_and_equipment_are_bounded() {
    let empty = LayoutSpec {
        units: vec![],
        equipment: vec![],
    };
    assert_eq!(FacilityLayout::new(empty), Err(LayoutError::UnitCount(0)));
    let mut many = gym_spec();
    many.units = (0..=UNITS_MAX as u128)
        .map(|i| UnitSpec {
            id: UnitId(Uuid::from_u128(i + 1)),
            name_ja: "室".into(),
            name_en: "Room".into(),
            capacity_people: 1,
            parent: None,
        })
        .collect();
    assert_eq!(
        FacilityLayout::new(many),
        Err(LayoutError::UnitCount(UNITS_MAX + 1))
    );
    let mut unnamed = gym_spec();
    unnamed.units[0].name_en = " ".into();
    assert_eq!(
        FacilityLayout::new(unnamed),
        Err(LayoutError::UnitName(WHOLE))
    );
    let mut nobody = gym_spec();
    nobody.units[0].capacity_people = 0;
    assert_eq!(
        FacilityLayout::new(nobody),
        Err(LayoutError::Capacity(WHOLE))
    );
    let mut dear = gym_spec();
    dear.equipment[0].fee_per_use_yen = -1;
    assert_eq!(
        FacilityLayout::new(dear).unwrap_err().code(),
        "facility_equipment_invalid"
    );
    let mut same = gym_spec();
    same.equipment[1].code = "piano".into();
    assert_eq!(
        FacilityLayout::new(same).unwrap_err().code(),
        "facility_equipment_duplicate"
    );
}

#[test]
fn a_layout_reads_back_from_json_checked_and_refuses_unknown_fields() {
    let json = serde_json::to_value(gym()).unwrap();
    let back: FacilityLayout = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, gym());
    let mut extra = json.clone();
    extra["colour"] = serde_json::json!("blue");
    assert!(serde_json::from_value::<FacilityLayout>(extra).is_err());
    let mut looped = json;
    looped["units"][0]["parent"] = serde_json::json!(COURT_A);
    assert!(serde_json::from_value::<FacilityLayout>(looped).is_err());
    assert!(matches!(
        gym().conflicting_units(UnitId(Uuid::from_u128(7))),
        Err(LayoutError::UnknownUnit(_))
    ));
}
