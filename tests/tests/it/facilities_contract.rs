//! The facilities contract: facilities with their rules, and bookings of their units, one set
//! of stories run against SQLite and PostgreSQL on a fresh database each. The database itself
//! refuses a booking that overlaps another of the same unit, of its whole or of one of its
//! parts (buffer included), under a rush as well as one at a time; a refusal writes nothing;
//! a released booking frees its units once.

use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_facilities::{
    FacilityBookingId, FacilityId, FacilityLayout, Range, TimeRules, UnitId, UserClass,
    ranges_overlap,
};
use madoguchi_storage::{
    ActorKind, AuditFilter, Facility, FacilityBookingStatus, NewAuditEntry, NewFacilityBooking,
    StorageError,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::Duration;
use time::macros::{date, datetime};
use uuid::Uuid;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_facility_is_stored_with_its_rules_and_read_back,
    a_unit_is_booked_once_and_a_whole_and_its_part_never_overlap,
    a_released_booking_frees_its_units_once,
    another_city_sees_none_of_it,
);

on_both_databases!(wide: a_rush_on_a_hall_and_its_courts_never_double_books);

const WHOLE: UnitId = UnitId(Uuid::from_u128(0x100));
const COURT_A: UnitId = UnitId(Uuid::from_u128(0x10a));
const COURT_B: UnitId = UnitId(Uuid::from_u128(0x10b));

fn audit(action: &str) -> NewAuditEntry {
    NewAuditEntry {
        at: T0,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: action.into(),
        target: None,
        details: serde_json::json!({}),
    }
}

/// 体育館: the whole hall is court A plus court B.
fn gym(code: &str) -> Facility {
    let layout: FacilityLayout = serde_json::from_value(serde_json::json!({
        "units": [
            {"id": WHOLE, "name_ja": "全面", "name_en": "Whole hall", "capacity_people": 200},
            {"id": COURT_A, "name_ja": "Aコート", "name_en": "Court A", "capacity_people": 100, "parent": WHOLE},
            {"id": COURT_B, "name_ja": "Bコート", "name_en": "Court B", "capacity_people": 100, "parent": WHOLE}
        ]
    }))
    .unwrap();
    let band = |yen: i64| serde_json::json!({"base": {"per": "band", "yen": {"morning": yen, "afternoon": yen, "night": yen}}});
    Facility {
        id: FacilityId::new(),
        code: code.into(),
        name_ja: "市民体育館".into(),
        name_en: "City Gymnasium".into(),
        office: None,
        layout,
        time_rules: TimeRules::default_bands().unwrap(),
        fee_table: serde_json::from_value(serde_json::json!({
            "revenue_category": "facility_fee",
            "units": [
                {"unit": WHOLE, "city": band(6000)},
                {"unit": COURT_A, "city": band(3000)},
                {"unit": COURT_B, "city": band(3000)}
            ],
            "outside_percent": 150
        }))
        .unwrap(),
        refund_rule: serde_json::from_value(serde_json::json!({
            "tiers": [{"days_before_at_least": 7, "percent": 100}, {"days_before_at_least": 1, "percent": 50}]
        }))
        .unwrap(),
    }
}

async fn city_with_gym<S: Backend>(s: &S, slug: &str) -> anyhow::Result<(TenantId, Facility)> {
    let t = tenant(s, slug).await?;
    let facility = gym("gym");
    s.save_facility(t.id, &facility, T0, &audit("facility.saved"))
        .await?;
    Ok((t.id, facility))
}

/// 2030-06-01 (Tokyo) from `start` to `end` o'clock, with a 30-minute buffer after.
fn booking(facility: &Facility, unit: UnitId, start: u8, end: u8) -> NewFacilityBooking {
    let day = datetime!(2030-06-01 00:00:00 +09:00);
    let at = |hour: u8| (day + Duration::hours(i64::from(hour))).to_offset(time::UtcOffset::UTC);
    let used = Range::new(at(start), at(end)).unwrap();
    let occupied = Range::new(used.start(), used.end() + Duration::minutes(30)).unwrap();
    NewFacilityBooking {
        id: FacilityBookingId::new(),
        facility: facility.id,
        unit,
        occupied_units: facility
            .layout
            .occupied_units(unit)
            .unwrap()
            .into_iter()
            .collect(),
        date: date!(2030 - 06 - 01),
        used,
        occupied,
        holder: None,
        holder_name: "バドミントン愛好会".into(),
        class: UserClass::Resident,
        fee_yen: 3_000,
        status: FacilityBookingStatus::Provisional,
        pay_by: Some(T0 + Duration::days(7)),
        at: T0,
    }
}

fn is_taken(result: &Result<madoguchi_storage::FacilityBooking, StorageError>) -> bool {
    matches!(
        result,
        Err(StorageError::FacilityRule(ErrorCode::FacilityUnitTaken))
    )
}

fn day() -> Range {
    Range::new(
        datetime!(2030-05-31 15:00:00 UTC),
        datetime!(2030-06-01 15:00:00 UTC),
    )
    .unwrap()
}

async fn audit_count<S: Backend>(s: &S, t: TenantId) -> anyhow::Result<usize> {
    let filter = AuditFilter {
        limit: 1_000,
        ..AuditFilter::default()
    };
    Ok(s.list_audit(t, &filter).await?.len())
}

async fn a_facility_is_stored_with_its_rules_and_read_back<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, mut facility) = city_with_gym(s, "kita").await?;
    assert_eq!(s.facility(t, facility.id).await?, facility);
    facility.name_ja = "北市民体育館".into();
    s.save_facility(
        t,
        &facility,
        T0 + Duration::hours(1),
        &audit("facility.saved"),
    )
    .await?;
    let listed = s.facilities(t).await?;
    assert_eq!(listed, vec![facility.clone()]);
    // A second facility with the same code is refused.
    let twin = gym("gym");
    assert!(matches!(
        s.save_facility(t, &twin, T0, &audit("facility.saved"))
            .await,
        Err(StorageError::Duplicate { .. })
    ));
    assert_eq!(s.facilities(t).await?.len(), 1);
    Ok(())
}

async fn a_unit_is_booked_once_and_a_whole_and_its_part_never_overlap<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, gym) = city_with_gym(s, "minami").await?;
    let whole = s
        .book_facility(t, &booking(&gym, WHOLE, 9, 12), &audit("facility.booked"))
        .await?;
    assert_eq!(whole.status, FacilityBookingStatus::Provisional);
    assert_eq!(whole.unit, WHOLE);
    let audits = audit_count(s, t).await?;
    // The same unit, a part of it, or a part within the buffer: refused, nothing written.
    for (unit, start, end) in [
        (WHOLE, 9, 12),
        (COURT_A, 11, 13),
        (COURT_B, 8, 10),
        (COURT_A, 12, 13),
    ] {
        let refused = s
            .book_facility(
                t,
                &booking(&gym, unit, start, end),
                &audit("facility.booked"),
            )
            .await;
        assert!(is_taken(&refused), "{unit} {start}-{end}: {refused:?}");
    }
    assert_eq!(audit_count(s, t).await?, audits);
    assert_eq!(
        s.facility_bookings(t, gym.id, day()).await?,
        vec![whole.clone()]
    );
    // After the buffer the hall is free again; the two courts are independent of each other.
    let a = s
        .book_facility(
            t,
            &booking(&gym, COURT_A, 13, 17),
            &audit("facility.booked"),
        )
        .await?;
    let b = s
        .book_facility(
            t,
            &booking(&gym, COURT_B, 13, 17),
            &audit("facility.booked"),
        )
        .await?;
    // With a court taken, the whole hall is not free.
    assert!(is_taken(
        &s.book_facility(t, &booking(&gym, WHOLE, 14, 15), &audit("facility.booked"))
            .await
    ));
    let ids: Vec<_> = s
        .facility_bookings(t, gym.id, day())
        .await?
        .iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&whole.id) && ids.contains(&a.id) && ids.contains(&b.id));
    Ok(())
}

async fn a_released_booking_frees_its_units_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, gym) = city_with_gym(s, "higashi").await?;
    let whole = s
        .book_facility(t, &booking(&gym, WHOLE, 9, 12), &audit("facility.booked"))
        .await?;
    let later = T0 + Duration::days(8);
    let expired = s
        .release_facility_booking(
            t,
            whole.id,
            FacilityBookingStatus::Expired,
            later,
            &audit("facility.expired"),
        )
        .await?;
    assert_eq!(expired.status, FacilityBookingStatus::Expired);
    assert_eq!(expired.pay_by, None);
    assert_eq!(expired.updated_at, later);
    assert!(s.facility_bookings(t, gym.id, day()).await?.is_empty());
    // Its units are free: court A can be booked at the same time now.
    s.book_facility(t, &booking(&gym, COURT_A, 9, 12), &audit("facility.booked"))
        .await?;
    // A second release is refused and changes nothing.
    let again = s
        .release_facility_booking(
            t,
            whole.id,
            FacilityBookingStatus::Cancelled,
            later,
            &audit("facility.cancelled"),
        )
        .await;
    assert!(matches!(
        again,
        Err(StorageError::FacilityRule(
            ErrorCode::FacilityBookingNotHolding
        ))
    ));
    assert_eq!(
        s.facility_booking(t, whole.id).await?.status,
        FacilityBookingStatus::Expired
    );
    Ok(())
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, gym) = city_with_gym(s, "nishi").await?;
    let whole = s
        .book_facility(t, &booking(&gym, WHOLE, 9, 12), &audit("facility.booked"))
        .await?;
    let other = tenant(s, "yama").await?.id;
    assert!(matches!(
        s.facility(other, gym.id).await,
        Err(StorageError::NotFound)
    ));
    assert!(s.facilities(other).await?.is_empty());
    assert!(matches!(
        s.facility_booking(other, whole.id).await,
        Err(StorageError::NotFound)
    ));
    assert!(s.facility_bookings(other, gym.id, day()).await?.is_empty());
    // Nor may it book, rename or release what is not its own.
    assert!(matches!(
        s.book_facility(
            other,
            &booking(&gym, COURT_B, 14, 15),
            &audit("facility.booked")
        )
        .await,
        Err(StorageError::NotFound)
    ));
    let mut renamed = gym.clone();
    renamed.name_ja = "乗っ取り".into();
    assert!(matches!(
        s.save_facility(other, &renamed, T0, &audit("facility.saved"))
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.release_facility_booking(
            other,
            whole.id,
            FacilityBookingStatus::Cancelled,
            T0,
            &audit("facility.cancelled")
        )
        .await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(s.facility(t, gym.id).await?, gym);
    assert_eq!(
        s.facility_booking(t, whole.id).await?.status,
        FacilityBookingStatus::Provisional
    );
    Ok(())
}

async fn a_rush_on_a_hall_and_its_courts_never_double_books<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, gym) = city_with_gym(s, "umi").await?;
    // 120 clients at once: each of the three units at hours 9 to 12 (lengths 1 to 3), so
    // every request overlaps many others of its unit, its whole or its parts.
    let requests: Vec<NewFacilityBooking> = (0..120u8)
        .map(|n| {
            let unit = [WHOLE, COURT_A, COURT_B][usize::from(n % 3)];
            let start = 9 + n % 4;
            booking(&gym, unit, start, start + 1 + n % 3)
        })
        .collect();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let s = s.clone();
            tokio::spawn(async move {
                s.book_facility(t, &request, &audit("facility.booked"))
                    .await
            })
        })
        .collect();
    let mut booked = 0;
    for task in tasks {
        match task.await? {
            Ok(_) => booked += 1,
            Err(StorageError::FacilityRule(ErrorCode::FacilityUnitTaken)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(booked >= 1);
    let held = s.facility_bookings(t, gym.id, day()).await?;
    assert_eq!(held.len(), booked);
    for (i, a) in held.iter().enumerate() {
        for b in &held[i + 1..] {
            assert!(
                !(gym.layout.conflicts(a.unit, b.unit) && ranges_overlap(&a.occupied, &b.occupied)),
                "double booking: {a:?} and {b:?}"
            );
        }
    }
    Ok(())
}
