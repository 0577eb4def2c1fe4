//! The booking contract: services, slots and reservations, one set of stories run against
//! SQLite and PostgreSQL on a fresh database each, like `contract.rs`.
//!
//! Every story becomes `booking_contract::<story>::on_sqlite` and `::on_postgres`. The stories
//! of many simultaneous bookings are in `booking_rush_contract.rs`; the builders here serve
//! both, and `flows_contract.rs` too.

use madoguchi_domain::{
    AccountId, DepartmentId, OfficeId, OfficeKind, ReservationId, ServiceId, TenantId,
};
use madoguchi_storage::{
    Account, DayAvailability, LimitCheck, NewDepartment, NewOffice, NewReservation, NewService,
    NewSlot, Office, Refusal, Reservation, ReservationStatus, ReserveOutcome, ServiceKind, Slot,
    StorageError, StorageResult,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use serde_json::json;
use std::fmt::Debug;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use madoguchi_tests::on_both_databases;

on_both_databases!(
    services_are_created_listed_in_code_order_and_kept_within_their_tenant,
    a_service_in_another_tenants_department_or_with_a_taken_code_is_refused,
    slots_are_added_once_and_only_at_the_tenants_own_offices,
    slots_are_listed_in_a_half_open_range_in_start_order,
    a_confirmed_booking_takes_a_seat_and_keeps_what_was_asked,
    a_hold_takes_a_seat_and_is_confirmed_only_before_it_expires,
    expiring_holds_gives_their_seats_back_and_says_how_many,
    cancelling_gives_the_seat_back_exactly_once,
    a_reservation_of_another_tenant_cannot_be_seen_confirmed_or_cancelled,
    a_booking_names_a_slot_and_an_account_of_its_own_tenant_only,
    the_same_idempotency_key_twice_replays_the_first_reservation,
    a_personal_limit_of_one_refuses_a_second_booking_in_its_period_only,
    availability_is_summed_per_tokyo_day,
    a_service_whose_stored_rules_no_longer_decode_is_left_out_of_lists_and_refused_alone,
);

// ---------------------------------------------------------------------------------------------
// Builders and assertions
// ---------------------------------------------------------------------------------------------

pub(crate) async fn office<S: Backend>(
    s: &S,
    tenant: TenantId,
    raw_code: &str,
) -> anyhow::Result<Office> {
    Ok(s.create_office(
        tenant,
        &NewOffice {
            code: code(raw_code),
            kind: OfficeKind::Headquarters,
            name_ja: format!("{raw_code}庁舎"),
            name_en: format!("{raw_code} office"),
        },
    )
    .await?)
}

pub(crate) async fn department<S: Backend>(
    s: &S,
    tenant: TenantId,
    raw_code: &str,
) -> anyhow::Result<DepartmentId> {
    let department = s
        .create_department(
            tenant,
            &NewDepartment {
                code: code(raw_code),
                name_ja: format!("{raw_code}課"),
                name_en: format!("{raw_code} division"),
                office_id: None,
            },
        )
        .await?;
    Ok(department.id)
}

pub(crate) fn new_service(raw_code: &str, department_id: Option<DepartmentId>) -> NewService {
    NewService {
        code: code(raw_code),
        kind: ServiceKind::Consultation,
        name_ja: format!("{raw_code}相談"),
        name_en: format!("{raw_code} consultation"),
        department_id,
        rules: consultation_rules(),
    }
}

/// A month's window and a day's cancellation deadline, nothing else.
fn consultation_rules() -> madoguchi_booking::ServiceRules {
    rules(json!({
        "window": {"opens_days_before": 30, "opens_at_local": "00:00", "closes_hours_before": 24},
        "cancellation": {"deadline_hours_before": 24}
    }))
}

/// A tenant with one office and one service: the setting of most stories.
pub(crate) struct Town {
    pub(crate) tenant: TenantId,
    pub(crate) office: OfficeId,
    pub(crate) service: ServiceId,
}

pub(crate) async fn town<S: Backend>(s: &S, raw_slug: &str) -> anyhow::Result<Town> {
    let t = tenant(s, raw_slug).await?;
    let honcho = office(s, t.id, "honcho").await?;
    let service = s.create_service(t.id, &new_service("soudan", None)).await?;
    Ok(Town {
        tenant: t.id,
        office: honcho.id,
        service: service.id,
    })
}

/// A 30-minute slot.
pub(crate) fn new_slot(office: OfficeId, starts_at: OffsetDateTime, capacity: i64) -> NewSlot {
    NewSlot {
        office_id: office,
        starts_at,
        ends_at: starts_at + Duration::minutes(30),
        capacity,
    }
}

/// Adds one slot of the town's service and returns it.
pub(crate) async fn slot_at<S: Backend>(
    s: &S,
    town: &Town,
    starts_at: OffsetDateTime,
    capacity: i64,
) -> anyhow::Result<Slot> {
    let added = s
        .add_slots(
            town.tenant,
            town.service,
            &[new_slot(town.office, starts_at, capacity)],
        )
        .await?;
    assert_eq!(added, 1, "slot at {starts_at} added");
    let mut found = s
        .slots(town.tenant, town.service, starts_at, starts_at + secs(1))
        .await?;
    assert_eq!(found.len(), 1);
    Ok(found.remove(0))
}

/// A confirmed booking without key or limit.
pub(crate) fn booking(slot: &Slot, account: Option<AccountId>) -> NewReservation {
    NewReservation {
        booked_by: None,
        remote_join: None,
        slot_id: slot.id,
        account_id: account,
        idempotency_key: None,
        hold_until: None,
        details: json!({}),
        limit: None,
        fingerprint: None,
        notices: Vec::new(),
        reference: None,
    }
}

pub(crate) fn created(outcome: ReserveOutcome) -> Reservation {
    match outcome {
        ReserveOutcome::Created(r) => r,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub(crate) async fn taken<S: Backend>(s: &S, tenant: TenantId, slot: &Slot) -> anyhow::Result<i64> {
    Ok(s.slot(tenant, slot.id).await?.taken)
}

#[track_caller]
pub(crate) fn assert_refused<T: Debug>(result: StorageResult<T>, refusal: Refusal) {
    match result {
        Err(StorageError::Refused(actual)) if actual == refusal => {}
        other => panic!("expected Refused({refusal:?}), got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------------

/// Rules are decoded on every read. A row written in a shape this version no longer reads (an
/// older version's, or a hand edit) must not take the whole catalogue down with it.
async fn a_service_whose_stored_rules_no_longer_decode_is_left_out_of_lists_and_refused_alone<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let kept = s.create_service(t.id, &new_service("kodomo", None)).await?;
    let old = s
        .create_service(t.id, &new_service("old-shape", None))
        .await?;
    // The old draft's field names: `deny_unknown_fields` and the missing `cancellation` refuse it.
    let changed = s
        .execute_raw(
            "UPDATE services SET rules = '{\"window\": {\"opens_days\": 30}, \"limit\": null}' \
             WHERE code = 'old-shape'",
        )
        .await?;
    assert_eq!(changed, 1);

    assert_eq!(s.list_services(t.id).await?, vec![kept.clone()]);
    match s.service(t.id, old.id).await {
        Err(StorageError::UnreadableRules(id)) => assert_eq!(id, old.id),
        other => panic!("expected UnreadableRules, got {other:?}"),
    }
    assert_eq!(s.service(t.id, kept.id).await?, kept);
    Ok(())
}

async fn services_are_created_listed_in_code_order_and_kept_within_their_tenant<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let kenko = department(s, t.id, "kenko").await?;

    let checkup = s
        .create_service(
            t.id,
            &NewService {
                kind: ServiceKind::Checkup,
                ..new_service("kenshin", Some(kenko))
            },
        )
        .await?;
    assert_eq!(checkup.tenant_id, t.id);
    assert_eq!(checkup.code, code("kenshin"));
    assert_eq!(checkup.kind, ServiceKind::Checkup);
    assert_eq!(
        (checkup.name_ja.as_str(), checkup.name_en.as_str()),
        ("kenshin相談", "kenshin consultation")
    );
    assert_eq!(checkup.department_id, Some(kenko));
    assert_eq!(checkup.rules, consultation_rules());
    assert!(checkup.active);
    assert_eq!(s.service(t.id, checkup.id).await?, checkup);

    // Codes sort bytewise on both databases: '-' (0x2d) before 'c', whatever the collation.
    let abc = s.create_service(t.id, &new_service("abc", None)).await?;
    let ab_z = s.create_service(t.id, &new_service("ab-z", None)).await?;
    s.create_service(other.id, &new_service("aaa", None))
        .await?;
    let listed: Vec<ServiceId> = s
        .list_services(t.id)
        .await?
        .into_iter()
        .map(|svc| svc.id)
        .collect();
    assert_eq!(listed, vec![ab_z.id, abc.id, checkup.id]);

    assert_not_found(s.service(other.id, checkup.id).await);
    assert_not_found(s.service(t.id, ServiceId::new()).await);
    assert_eq!(s.list_services(other.id).await?.len(), 1);
    Ok(())
}

async fn a_service_in_another_tenants_department_or_with_a_taken_code_is_refused<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let theirs = department(s, other.id, "kenko").await?;

    assert_constraint(
        s.create_service(t.id, &new_service("kenshin", Some(theirs)))
            .await,
        "services_department",
    );
    assert_eq!(s.list_services(t.id).await?, vec![]);

    s.create_service(t.id, &new_service("kenshin", None))
        .await?;
    match s.create_service(t.id, &new_service("kenshin", None)).await {
        Err(StorageError::Duplicate { constraint }) if constraint == "services_code" => {}
        other => panic!("expected Duplicate {{ constraint: \"services_code\" }}, got {other:?}"),
    }
    // Codes are unique within a tenant only.
    s.create_service(other.id, &new_service("kenshin", Some(theirs)))
        .await?;
    assert_eq!(s.list_services(t.id).await?.len(), 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Slots
// ---------------------------------------------------------------------------------------------

async fn slots_are_added_once_and_only_at_the_tenants_own_offices<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let week = T0 + Duration::days(7);

    let batch = [
        new_slot(kita.office, T0, 4),
        new_slot(kita.office, T0 + secs(1800), 2),
    ];
    assert_eq!(s.add_slots(kita.tenant, kita.service, &batch).await?, 2);
    // The same starts again add nothing and change nothing; only the new one is added.
    assert_eq!(s.add_slots(kita.tenant, kita.service, &batch).await?, 0);
    let again = [
        new_slot(kita.office, T0, 9),
        new_slot(kita.office, T0 + secs(3600), 1),
    ];
    assert_eq!(s.add_slots(kita.tenant, kita.service, &again).await?, 1);
    let slots = s.slots(kita.tenant, kita.service, T0, week).await?;
    let shape: Vec<(OffsetDateTime, OffsetDateTime, i64, i64)> = slots
        .iter()
        .map(|slot| (slot.starts_at, slot.ends_at, slot.capacity, slot.taken))
        .collect();
    assert_eq!(
        shape,
        vec![
            (T0, T0 + secs(1800), 4, 0),
            (T0 + secs(1800), T0 + secs(3600), 2, 0),
            (T0 + secs(3600), T0 + secs(5400), 1, 0),
        ]
    );
    for slot in &slots {
        assert_eq!(
            (slot.tenant_id, slot.service_id, slot.office_id),
            (kita.tenant, kita.service, kita.office)
        );
        assert_eq!(s.slot(kita.tenant, slot.id).await?, *slot);
        assert_not_found(s.slot(minami.tenant, slot.id).await);
    }

    // A slot at another tenant's office is skipped; the rest of its batch is added.
    let foreign = [new_slot(minami.office, T0 + Duration::days(1), 3)];
    assert_eq!(s.add_slots(kita.tenant, kita.service, &foreign).await?, 0);
    let mixed = [
        new_slot(minami.office, T0 + Duration::days(2), 3),
        new_slot(kita.office, T0 + Duration::days(2), 3),
    ];
    assert_eq!(s.add_slots(kita.tenant, kita.service, &mixed).await?, 1);
    assert_eq!(s.slots(kita.tenant, kita.service, T0, week).await?.len(), 4);
    // Another tenant's service is not found, so nothing is added to it either.
    assert_not_found(
        s.add_slots(
            minami.tenant,
            kita.service,
            &[new_slot(minami.office, T0, 1)],
        )
        .await,
    );
    assert_eq!(
        s.slots(minami.tenant, minami.service, T0, week).await?,
        vec![]
    );
    assert_eq!(
        s.slots(minami.tenant, kita.service, T0, week).await?,
        vec![]
    );
    Ok(())
}

async fn slots_are_listed_in_a_half_open_range_in_start_order<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let t = kita.tenant;
    let annex = office(s, t, "bekkan").await?;
    let other_service = s.create_service(t, &new_service("kenshin", None)).await?;
    // Added out of order, two offices at one start, and one slot of another service.
    let added = s
        .add_slots(
            t,
            kita.service,
            &[
                new_slot(kita.office, T0 + secs(7200), 1),
                new_slot(kita.office, T0 - secs(1), 1),
                new_slot(annex.id, T0 + secs(3600), 1),
                new_slot(kita.office, T0 + secs(3600), 1),
                new_slot(kita.office, T0, 1),
            ],
        )
        .await?;
    assert_eq!(added, 5);
    s.add_slots(t, other_service.id, &[new_slot(kita.office, T0, 1)])
        .await?;

    let listed = s.slots(t, kita.service, T0, T0 + secs(7200)).await?;
    let mut at_3600 = [kita.office, annex.id];
    at_3600.sort_by_key(|o| o.0);
    let expected = vec![
        (T0, kita.office),
        (T0 + secs(3600), at_3600[0]),
        (T0 + secs(3600), at_3600[1]),
    ];
    let actual: Vec<(OffsetDateTime, OfficeId)> = listed
        .iter()
        .map(|slot| (slot.starts_at, slot.office_id))
        .collect();
    assert_eq!(actual, expected, "from is included, until is not");
    assert!(listed.iter().all(|slot| slot.service_id == kita.service));
    assert_eq!(
        s.slots(t, kita.service, T0 + secs(7200), T0 + secs(7201))
            .await?
            .len(),
        1
    );
    assert_eq!(s.slots(t, kita.service, T0, T0).await?, vec![]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Booking, holds, cancelling
// ---------------------------------------------------------------------------------------------

async fn a_confirmed_booking_takes_a_seat_and_keeps_what_was_asked<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 2).await?;

    let details = json!({"answers": {"topic": "介護保険", "count": 2}, "join_from": null});
    let reservation = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                details: details.clone(),
                ..booking(&slot, Some(hanako.id))
            },
            T0,
        )
        .await?,
    );
    assert_eq!(reservation.tenant_id, kita.tenant);
    assert_eq!(reservation.slot_id, slot.id);
    assert_eq!(reservation.service_id, kita.service);
    assert_eq!(reservation.account_id, Some(hanako.id));
    assert_eq!(reservation.status, ReservationStatus::Confirmed);
    assert_eq!(reservation.idempotency_key, None);
    assert_eq!(reservation.hold_expires_at, None);
    assert_eq!(reservation.details, details);
    assert_eq!(reservation.created_at, T0);
    assert_eq!(
        (
            reservation.cancelled_at,
            reservation.cancel_reason.as_deref()
        ),
        (None, None)
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);
    assert_eq!(
        s.reservation(kita.tenant, reservation.id).await?,
        reservation
    );

    // A proxy booking, without an account, takes the last seat; then the slot is full.
    let proxy = created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);
    assert_eq!(proxy.account_id, None);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);
    assert_refused(
        s.reserve(kita.tenant, &booking(&slot, Some(hanako.id)), T0)
            .await,
        Refusal::SlotFull,
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);
    assert_eq!(
        s.reservations_of_account(kita.tenant, hanako.id).await?,
        vec![reservation]
    );

    // An unknown slot is not found; a slot of capacity 0 is full from the start.
    assert_not_found(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                slot_id: madoguchi_domain::SlotId::new(),
                ..booking(&slot, None)
            },
            T0,
        )
        .await,
    );
    let closed = slot_at(s, &kita, T0 + Duration::days(4), 0).await?;
    assert_refused(
        s.reserve(kita.tenant, &booking(&closed, None), T0).await,
        Refusal::SlotFull,
    );
    assert_eq!(
        s.query_i64("SELECT count(*) FROM reservations").await?,
        2,
        "a refused booking leaves no row"
    );
    Ok(())
}

async fn a_hold_takes_a_seat_and_is_confirmed_only_before_it_expires<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 3).await?;
    let hold = |until: OffsetDateTime| NewReservation {
        booked_by: None,
        remote_join: None,
        hold_until: Some(until),
        ..booking(&slot, Some(hanako.id))
    };

    let first = created(s.reserve(kita.tenant, &hold(T0 + secs(600)), T0).await?);
    assert_eq!(first.status, ReservationStatus::Held);
    assert_eq!(first.hold_expires_at, Some(T0 + secs(600)));
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);

    let confirmed = s
        .confirm_hold(kita.tenant, first.id, T0 + secs(599))
        .await?;
    assert_eq!(confirmed.id, first.id);
    assert_eq!(confirmed.status, ReservationStatus::Confirmed);
    assert_eq!(confirmed.hold_expires_at, None);
    assert_eq!(s.reservation(kita.tenant, first.id).await?, confirmed);
    assert_eq!(
        taken(s, kita.tenant, &slot).await?,
        1,
        "confirming takes no second seat"
    );
    // A confirmed reservation is no longer a hold.
    assert_refused(
        s.confirm_hold(kita.tenant, first.id, T0 + secs(1)).await,
        Refusal::StaleHold,
    );

    // A hold is stale at the very instant it expires, even before `expire_holds` runs.
    let second = created(s.reserve(kita.tenant, &hold(T0 + secs(600)), T0).await?);
    assert_refused(
        s.confirm_hold(kita.tenant, second.id, T0 + secs(600)).await,
        Refusal::StaleHold,
    );
    let stored = s.reservation(kita.tenant, second.id).await?;
    assert_eq!(
        (stored.status, stored.hold_expires_at),
        (ReservationStatus::Held, Some(T0 + secs(600)))
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);

    // A confirmed booking is not a hold either.
    let direct = created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);
    assert_refused(
        s.confirm_hold(kita.tenant, direct.id, T0).await,
        Refusal::StaleHold,
    );
    assert_not_found(s.confirm_hold(kita.tenant, ReservationId::new(), T0).await);
    Ok(())
}

async fn expiring_holds_gives_their_seats_back_and_says_how_many<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 5).await?;
    let theirs = slot_at(s, &minami, T0 + Duration::days(3), 5).await?;
    let hold = |slot: &Slot, until: OffsetDateTime| NewReservation {
        booked_by: None,
        remote_join: None,
        hold_until: Some(until),
        ..booking(slot, None)
    };

    let soon = created(
        s.reserve(kita.tenant, &hold(&slot, T0 + secs(60)), T0)
            .await?,
    );
    let later = created(
        s.reserve(kita.tenant, &hold(&slot, T0 + secs(120)), T0)
            .await?,
    );
    let kept = created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);
    let theirs_soon = created(
        s.reserve(minami.tenant, &hold(&theirs, T0 + secs(60)), T0)
            .await?,
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 3);
    assert_eq!(taken(s, minami.tenant, &theirs).await?, 1);

    assert_eq!(s.expire_holds(T0 + secs(59)).await?, 0);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 3);

    // Due at `hold_expires_at` itself, in every tenant.
    assert_eq!(s.expire_holds(T0 + secs(60)).await?, 2);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);
    assert_eq!(taken(s, minami.tenant, &theirs).await?, 0);
    let expired = s.reservation(kita.tenant, soon.id).await?;
    assert_eq!(expired.status, ReservationStatus::Expired);
    assert_eq!(expired.cancelled_at, Some(T0 + secs(60)));
    assert_eq!(expired.cancel_reason, None);
    assert_eq!(
        s.reservation(minami.tenant, theirs_soon.id).await?.status,
        ReservationStatus::Expired
    );
    assert_eq!(
        s.reservation(kita.tenant, later.id).await?.status,
        ReservationStatus::Held
    );

    // Nothing is expired twice, and an expired hold can be neither confirmed nor cancelled.
    assert_eq!(s.expire_holds(T0 + secs(60)).await?, 0);
    assert_refused(
        s.confirm_hold(kita.tenant, soon.id, T0).await,
        Refusal::StaleHold,
    );
    assert_refused(
        s.cancel_reservation(kita.tenant, soon.id, None, T0).await,
        Refusal::NotActive,
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);

    assert_eq!(s.expire_holds(T0 + secs(3600)).await?, 1);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);
    assert_eq!(
        s.reservation(kita.tenant, kept.id).await?.status,
        ReservationStatus::Confirmed,
        "a confirmed booking never expires"
    );
    assert_eq!(
        s.query_i64("SELECT count(*) FROM reservations WHERE status = 'expired'")
            .await?,
        3
    );
    Ok(())
}

async fn cancelling_gives_the_seat_back_exactly_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 1).await?;

    let first = created(
        s.reserve(kita.tenant, &booking(&slot, Some(hanako.id)), T0)
            .await?,
    );
    assert_refused(
        s.reserve(kita.tenant, &booking(&slot, None), T0).await,
        Refusal::SlotFull,
    );

    let cancelled = s
        .cancel_reservation(kita.tenant, first.id, Some("体調不良のため"), T0 + secs(10))
        .await?;
    assert_eq!(cancelled.id, first.id);
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    assert_eq!(cancelled.cancelled_at, Some(T0 + secs(10)));
    assert_eq!(cancelled.cancel_reason.as_deref(), Some("体調不良のため"));
    assert_eq!(s.reservation(kita.tenant, first.id).await?, cancelled);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 0);

    // Twice is refused and gives nothing back a second time.
    assert_refused(
        s.cancel_reservation(kita.tenant, first.id, None, T0 + secs(20))
            .await,
        Refusal::NotActive,
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 0);
    assert_eq!(s.reservation(kita.tenant, first.id).await?, cancelled);

    // The seat is really free again, and a hold gives its seat back the same way.
    let hold = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                hold_until: Some(T0 + secs(600)),
                ..booking(&slot, None)
            },
            T0 + secs(30),
        )
        .await?,
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);
    let released = s
        .cancel_reservation(kita.tenant, hold.id, None, T0 + secs(40))
        .await?;
    assert_eq!(
        (released.status, released.cancel_reason),
        (ReservationStatus::Cancelled, None)
    );
    assert_eq!(taken(s, kita.tenant, &slot).await?, 0);

    assert_not_found(
        s.cancel_reservation(kita.tenant, ReservationId::new(), None, T0)
            .await,
    );
    Ok(())
}

async fn a_reservation_of_another_tenant_cannot_be_seen_confirmed_or_cancelled<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 2).await?;
    let confirmed = created(
        s.reserve(kita.tenant, &booking(&slot, Some(hanako.id)), T0)
            .await?,
    );
    let hold = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                hold_until: Some(T0 + secs(600)),
                ..booking(&slot, None)
            },
            T0,
        )
        .await?,
    );

    assert_not_found(s.reservation(minami.tenant, confirmed.id).await);
    assert_not_found(
        s.cancel_reservation(minami.tenant, confirmed.id, Some("いたずら"), T0)
            .await,
    );
    assert_not_found(s.confirm_hold(minami.tenant, hold.id, T0).await);
    assert_eq!(
        s.reservations_of_account(minami.tenant, hanako.id).await?,
        vec![]
    );
    assert_eq!(s.reservation(kita.tenant, confirmed.id).await?, confirmed);
    assert_eq!(s.reservation(kita.tenant, hold.id).await?, hold);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 2);
    Ok(())
}

async fn a_booking_names_a_slot_and_an_account_of_its_own_tenant_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let taro = resident(s, minami.tenant, "taro@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 2).await?;
    let theirs = slot_at(s, &minami, T0 + Duration::days(3), 2).await?;

    assert_not_found(
        s.reserve(kita.tenant, &booking(&theirs, Some(hanako.id)), T0)
            .await,
    );
    // Another municipality's resident cannot be booked into this one, with or without a limit.
    assert_constraint(
        s.reserve(kita.tenant, &booking(&slot, Some(taro.id)), T0)
            .await,
        "reservations_account",
    );
    assert_constraint(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                limit: Some(LimitCheck {
                    max: 1,
                    from: T0,
                    until: T0 + Duration::days(7),
                }),
                ..booking(&slot, Some(taro.id))
            },
            T0,
        )
        .await,
        "reservations_account",
    );
    assert_eq!(
        taken(s, kita.tenant, &slot).await?,
        0,
        "the refused booking gave its seat back"
    );
    assert_eq!(taken(s, minami.tenant, &theirs).await?, 0);
    assert_eq!(s.query_i64("SELECT count(*) FROM reservations").await?, 0);
    Ok(())
}

async fn the_same_idempotency_key_twice_replays_the_first_reservation<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 5).await?;
    let other_slot = slot_at(s, &kita, T0 + Duration::days(4), 5).await?;
    let keyed = |slot: &Slot, key: &str| NewReservation {
        booked_by: None,
        remote_join: None,
        idempotency_key: Some(key.to_owned()),
        details: json!({"attempt": 1}),
        ..booking(slot, None)
    };

    let first = created(
        s.reserve(kita.tenant, &keyed(&slot, "req-0001"), T0)
            .await?,
    );
    assert_eq!(first.idempotency_key.as_deref(), Some("req-0001"));
    let again = s
        .reserve(kita.tenant, &keyed(&slot, "req-0001"), T0 + secs(5))
        .await?;
    assert_eq!(again, ReserveOutcome::Replayed(first.clone()));
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);

    // The key decides, whatever else the retry says.
    let changed = NewReservation {
        booked_by: None,
        remote_join: None,
        details: json!({"attempt": 2}),
        hold_until: Some(T0 + secs(600)),
        ..keyed(&other_slot, "req-0001")
    };
    assert_eq!(
        s.reserve(kita.tenant, &changed, T0 + secs(6)).await?,
        ReserveOutcome::Replayed(first.clone())
    );
    assert_eq!(taken(s, kita.tenant, &other_slot).await?, 0);

    // Keys are per tenant.
    let theirs = slot_at(s, &minami, T0 + Duration::days(3), 5).await?;
    let their_first = created(
        s.reserve(minami.tenant, &keyed(&theirs, "req-0001"), T0)
            .await?,
    );
    assert_ne!(their_first.id, first.id);

    // A replay on a slot that is full now is still the replay, not "full".
    let single = slot_at(s, &kita, T0 + Duration::days(5), 1).await?;
    let only = created(
        s.reserve(kita.tenant, &keyed(&single, "req-0002"), T0)
            .await?,
    );
    assert_eq!(
        s.reserve(kita.tenant, &keyed(&single, "req-0002"), T0)
            .await?,
        ReserveOutcome::Replayed(only.clone())
    );
    assert_eq!(taken(s, kita.tenant, &single).await?, 1);

    // After cancelling, the key still names the first reservation: it is not booked again.
    let cancelled = s
        .cancel_reservation(kita.tenant, only.id, None, T0 + secs(10))
        .await?;
    assert_eq!(
        s.reserve(kita.tenant, &keyed(&single, "req-0002"), T0 + secs(20))
            .await?,
        ReserveOutcome::Replayed(cancelled)
    );
    assert_eq!(taken(s, kita.tenant, &single).await?, 0);
    assert_eq!(s.query_i64("SELECT count(*) FROM reservations").await?, 3);
    Ok(())
}

async fn a_personal_limit_of_one_refuses_a_second_booking_in_its_period_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let jiro = resident(s, kita.tenant, "jiro@example.jp").await?;
    let this_week = LimitCheck {
        max: 1,
        from: T0,
        until: T0 + Duration::days(7),
    };
    let next_week = LimitCheck {
        from: T0 + Duration::days(7),
        until: T0 + Duration::days(14),
        ..this_week
    };
    let monday = slot_at(s, &kita, T0 + secs(3600), 5).await?;
    let thursday = slot_at(s, &kita, T0 + Duration::days(3), 5).await?;
    let last_instant = slot_at(s, &kita, T0 + Duration::days(7) - secs(60), 5).await?;
    let next_monday = slot_at(s, &kita, T0 + Duration::days(7), 5).await?;
    let limited = |slot: &Slot, account: &Account, limit: LimitCheck| NewReservation {
        booked_by: None,
        remote_join: None,
        limit: Some(limit),
        ..booking(slot, Some(account.id))
    };

    let first = created(
        s.reserve(kita.tenant, &limited(&monday, &hanako, this_week), T0)
            .await?,
    );
    assert_refused(
        s.reserve(kita.tenant, &limited(&thursday, &hanako, this_week), T0)
            .await,
        Refusal::PersonalLimit,
    );
    assert_refused(
        s.reserve(kita.tenant, &limited(&last_instant, &hanako, this_week), T0)
            .await,
        Refusal::PersonalLimit,
    );
    assert_eq!(
        taken(s, kita.tenant, &thursday).await?,
        0,
        "a refusal takes no seat"
    );
    // The period is half-open: a slot at `until` belongs to the next one.
    created(
        s.reserve(kita.tenant, &limited(&next_monday, &hanako, next_week), T0)
            .await?,
    );
    // Other residents and other services are not counted.
    created(
        s.reserve(kita.tenant, &limited(&thursday, &jiro, this_week), T0)
            .await?,
    );
    let kenshin = s
        .create_service(kita.tenant, &new_service("kenshin", None))
        .await?;
    s.add_slots(
        kita.tenant,
        kenshin.id,
        &[new_slot(kita.office, T0 + Duration::days(2), 5)],
    )
    .await?;
    let checkup = s
        .slots(kita.tenant, kenshin.id, T0, T0 + Duration::days(7))
        .await?
        .remove(0);
    created(
        s.reserve(kita.tenant, &limited(&checkup, &hanako, this_week), T0)
            .await?,
    );
    // Staff booking without a limit is not refused.
    created(
        s.reserve(kita.tenant, &booking(&thursday, Some(hanako.id)), T0)
            .await?,
    );
    // Now two seat-holding bookings of hanako in this week: still refused at max 2.
    assert_refused(
        s.reserve(
            kita.tenant,
            &limited(
                &last_instant,
                &hanako,
                LimitCheck {
                    max: 2,
                    ..this_week
                },
            ),
            T0,
        )
        .await,
        Refusal::PersonalLimit,
    );

    // Cancelled bookings do not count.
    let extra = s.reservations_of_account(kita.tenant, hanako.id).await?;
    for r in extra
        .iter()
        .filter(|r| r.service_id == kita.service && r.slot_id != next_monday.id)
    {
        s.cancel_reservation(kita.tenant, r.id, None, T0).await?;
    }
    assert_eq!(
        s.reservation(kita.tenant, first.id).await?.status,
        ReservationStatus::Cancelled
    );
    let rebooked = created(
        s.reserve(kita.tenant, &limited(&thursday, &hanako, this_week), T0)
            .await?,
    );
    assert_eq!(rebooked.slot_id, thursday.id);
    // An expired hold does not count either.
    s.cancel_reservation(kita.tenant, rebooked.id, None, T0)
        .await?;
    created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                booked_by: None,
                remote_join: None,
                hold_until: Some(T0 + secs(60)),
                ..limited(&monday, &hanako, this_week)
            },
            T0,
        )
        .await?,
    );
    assert_eq!(s.expire_holds(T0 + secs(60)).await?, 1);
    created(
        s.reserve(kita.tenant, &limited(&last_instant, &hanako, this_week), T0)
            .await?,
    );
    Ok(())
}

async fn availability_is_summed_per_tokyo_day<S: Backend>(s: &S) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let t = kita.tenant;
    let kenshin = s.create_service(t, &new_service("kenshin", None)).await?;
    let slots = [
        // Tokyo 2030-04-01 09:00, 14:00 and 23:59.
        new_slot(kita.office, datetime!(2030-04-01 00:00 UTC), 3),
        new_slot(kita.office, datetime!(2030-04-01 05:00 UTC), 2),
        new_slot(kita.office, datetime!(2030-04-01 14:59 UTC), 1),
        // Tokyo 2030-04-02 00:00 and 08:30: the next Tokyo day, still April 1st in UTC.
        new_slot(kita.office, datetime!(2030-04-01 15:00 UTC), 4),
        new_slot(kita.office, datetime!(2030-04-01 23:30 UTC), 5),
        // Tokyo 2030-04-03 10:00.
        new_slot(kita.office, datetime!(2030-04-03 01:00 UTC), 1),
        // Tokyo 2030-04-05: after the range.
        new_slot(kita.office, datetime!(2030-04-05 01:00 UTC), 7),
    ];
    assert_eq!(s.add_slots(t, kita.service, &slots).await?, 7);
    s.add_slots(
        t,
        kenshin.id,
        &[new_slot(kita.office, datetime!(2030-04-01 00:00 UTC), 9)],
    )
    .await?;
    let listed = s
        .slots(
            t,
            kita.service,
            datetime!(2030-04-01 00:00 UTC),
            datetime!(2030-04-02 00:00 UTC),
        )
        .await?;
    let by_start = |at: OffsetDateTime| {
        listed
            .iter()
            .find(|slot| slot.starts_at == at)
            .copied()
            .expect("slot listed")
    };
    let morning = by_start(datetime!(2030-04-01 00:00 UTC));
    let late = by_start(datetime!(2030-04-01 23:30 UTC));
    s.reserve(t, &booking(&morning, None), T0).await?;
    s.reserve(t, &booking(&late, None), T0).await?;
    s.reserve(
        t,
        &NewReservation {
            booked_by: None,
            remote_join: None,
            hold_until: Some(T0 + secs(600)),
            ..booking(&late, None)
        },
        T0,
    )
    .await?;

    // Tokyo 2030-04-01 00:00 to 2030-04-04 00:00.
    let from = datetime!(2030-03-31 15:00 UTC);
    let until = datetime!(2030-04-03 15:00 UTC);
    assert_eq!(
        s.availability_by_day(t, kita.service, from, until).await?,
        vec![
            DayAvailability {
                date: date!(2030 - 04 - 01),
                slots: 3,
                capacity: 6,
                taken: 1
            },
            DayAvailability {
                date: date!(2030 - 04 - 02),
                slots: 2,
                capacity: 9,
                taken: 2
            },
            DayAvailability {
                date: date!(2030 - 04 - 03),
                slots: 1,
                capacity: 1,
                taken: 0
            },
        ]
    );
    // The range is half-open on the slot's start instant.
    assert_eq!(
        s.availability_by_day(
            t,
            kita.service,
            datetime!(2030-04-01 05:00 UTC),
            datetime!(2030-04-01 23:30 UTC)
        )
        .await?,
        vec![
            DayAvailability {
                date: date!(2030 - 04 - 01),
                slots: 2,
                capacity: 3,
                taken: 0
            },
            DayAvailability {
                date: date!(2030 - 04 - 02),
                slots: 1,
                capacity: 4,
                taken: 0
            },
        ]
    );
    assert_eq!(
        s.availability_by_day(minami.tenant, kita.service, from, until)
            .await?,
        vec![]
    );
    Ok(())
}
