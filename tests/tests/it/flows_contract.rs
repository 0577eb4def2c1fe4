//! The contract of the booking flows' storage, on SQLite and PostgreSQL alike: moving a
//! reservation, attendance and the no-show count, suspensions, the waiting list, the day sheet
//! and remote-consultation appointments. Built on the booking contract's town and helpers.

use crate::booking_contract::{
    Town, assert_refused, booking, created, new_service, office, slot_at, taken, town,
};
use futures::future::join_all;
use madoguchi_domain::AccountId;
use madoguchi_storage::{
    Attendance, DaySheetFilter, LimitCheck, NewReservation, NewSuspension, NewWaitlistEntry,
    Refusal, RemoteJoin, ReservationStatus, StorageError, WaitlistStatus, waitlist_idempotency_key,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::{T0, assert_constraint, assert_not_found, resident, secs, tenant};
use madoguchi_tests::on_both_databases;
use serde_json::json;
use std::sync::Arc;
use time::Duration;
use tokio::sync::Barrier;

on_both_databases!(
    a_reservation_moves_to_a_free_slot_of_its_service_only,
    attendance_is_marked_on_confirmed_reservations_and_keeps_the_seat_counted,
    a_suspension_is_imposed_once_and_lifted_once,
    the_waiting_list_serves_in_order_and_refuses_what_cannot_wait,
    two_promotions_of_one_entry_book_one_seat,
    the_day_sheet_lists_a_day_by_office_with_names,
    a_remote_consultation_books_its_appointment_in_the_same_transaction,
);

async fn a_reservation_moves_to_a_free_slot_of_its_service_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let town = town(s, "ido").await?;
    let from = slot_at(s, &town, T0, 2).await?;
    let to = slot_at(s, &town, T0 + secs(3600), 1).await?;
    let full = slot_at(s, &town, T0 + secs(7200), 1).await?;
    let other_service = s
        .create_service(town.tenant, &new_service("betsu", None))
        .await?;
    s.add_slots(
        town.tenant,
        other_service.id,
        &[crate::booking_contract::new_slot(town.office, T0, 1)],
    )
    .await?;
    let elsewhere = s
        .slots(town.tenant, other_service.id, T0, T0 + secs(1))
        .await?
        .remove(0);
    let r = created(s.reserve(town.tenant, &booking(&from, None), T0).await?);
    created(s.reserve(town.tenant, &booking(&full, None), T0).await?);

    assert_refused(
        s.move_reservation(town.tenant, r.id, full.id).await,
        Refusal::SlotFull,
    );
    assert_refused(
        s.move_reservation(town.tenant, r.id, elsewhere.id).await,
        Refusal::OtherService,
    );
    assert_not_found(
        s.move_reservation(town.tenant, r.id, madoguchi_domain::SlotId::new())
            .await,
    );
    assert_eq!(
        (
            taken(s, town.tenant, &from).await?,
            taken(s, town.tenant, &to).await?
        ),
        (1, 0),
        "a refused move changes nothing"
    );
    let moved = s.move_reservation(town.tenant, r.id, to.id).await?;
    assert_eq!(moved.slot_id, to.id);
    assert_eq!(
        (
            taken(s, town.tenant, &from).await?,
            taken(s, town.tenant, &to).await?
        ),
        (0, 1)
    );
    let cancelled = s.cancel_reservation(town.tenant, r.id, None, T0).await?;
    assert_eq!(
        taken(s, town.tenant, &to).await?,
        0,
        "the seat went back where it is now"
    );
    assert_refused(
        s.move_reservation(town.tenant, cancelled.id, from.id).await,
        Refusal::NotActive,
    );
    Ok(())
}

async fn attendance_is_marked_on_confirmed_reservations_and_keeps_the_seat_counted<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let town = town(s, "raicho").await?;
    let hanako = resident(s, town.tenant, "hanako@example.jp").await?;
    let first = slot_at(s, &town, T0, 3).await?;
    let second = slot_at(s, &town, T0 + secs(3600), 3).await?;
    let r = created(
        s.reserve(town.tenant, &booking(&first, Some(hanako.id)), T0)
            .await?,
    );
    let mut hold = booking(&second, Some(hanako.id));
    hold.hold_until = Some(T0 + secs(600));
    let held = created(s.reserve(town.tenant, &hold, T0).await?);
    assert_refused(
        s.mark_attendance(town.tenant, held.id, Attendance::NoShow, T0)
            .await,
        Refusal::NotActive,
    );
    let marked = s
        .mark_attendance(town.tenant, r.id, Attendance::NoShow, T0 + secs(60))
        .await?;
    assert_eq!(marked.status, ReservationStatus::NoShow);
    assert_eq!(marked.attendance_at, Some(T0 + secs(60)));
    assert_eq!(taken(s, town.tenant, &first).await?, 1, "the seat was used");
    assert_eq!(
        s.no_shows_since(town.tenant, hanako.id, T0 - secs(1))
            .await?,
        1
    );
    assert_eq!(
        s.no_shows_since(town.tenant, hanako.id, T0 + secs(1))
            .await?,
        0
    );
    // A mistaken mark is corrected.
    let corrected = s
        .mark_attendance(town.tenant, r.id, Attendance::Attended, T0 + secs(120))
        .await?;
    assert_eq!(corrected.status, ReservationStatus::Attended);
    assert_eq!(
        s.no_shows_since(town.tenant, hanako.id, T0 - secs(1))
            .await?,
        0
    );
    assert_refused(
        s.cancel_reservation(town.tenant, r.id, None, T0).await,
        Refusal::NotActive,
    );
    // An attended reservation counts towards the personal limit.
    let mut limited = booking(&second, Some(hanako.id));
    limited.limit = Some(LimitCheck {
        max: 2,
        from: T0 - secs(3600),
        until: T0 + secs(86_400),
    });
    assert_refused(
        s.reserve(town.tenant, &limited, T0).await,
        Refusal::PersonalLimit,
    );
    Ok(())
}

async fn a_suspension_is_imposed_once_and_lifted_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let town = town(s, "teishi").await?;
    let hanako = resident(s, town.tenant, "hanako@example.jp").await?;
    let clerk = resident(s, town.tenant, "clerk@example.jp").await?;
    let other = town_b(s).await?;
    let foreign_office = office(s, other, "yoso").await?;
    let mut new = NewSuspension {
        account_id: hanako.id,
        office_id: Some(foreign_office.id),
        starts_at: T0,
        ends_at: T0 + Duration::days(90),
        no_shows: 3,
    };
    assert_not_found(s.suspend(town.tenant, &new, T0).await);
    new.office_id = Some(town.office);
    let first = s.suspend(town.tenant, &new, T0).await?;
    assert_eq!(
        first.office_id,
        Some(town.office),
        "the imposing office is kept"
    );
    assert_eq!(s.suspension(town.tenant, first.id).await?, first);
    assert_not_found(s.suspension(other, first.id).await);
    let again = s.suspend(town.tenant, &new, T0 + secs(5)).await?;
    assert_eq!(again.id, first.id, "one suspension in force at a time");
    assert!(
        s.suspension_in_force(town.tenant, hanako.id, T0 + secs(10))
            .await?
            .is_some()
    );
    assert!(
        s.suspension_in_force(town.tenant, hanako.id, T0 + Duration::days(91))
            .await?
            .is_none(),
        "it ends by itself"
    );
    assert_eq!(
        s.suspensions_in_force(town.tenant, T0 + secs(10))
            .await?
            .len(),
        1
    );
    assert!(
        s.suspensions_in_force(other, T0 + secs(10))
            .await?
            .is_empty()
    );
    assert_not_found(
        s.lift_suspension(other, first.id, clerk.id, "wrong tenant", T0 + secs(20))
            .await,
    );
    let lifted = s
        .lift_suspension(town.tenant, first.id, clerk.id, "事情を確認", T0 + secs(20))
        .await?;
    assert_eq!(lifted.lifted_by, Some(clerk.id));
    assert_not_found(
        s.lift_suspension(town.tenant, first.id, clerk.id, "twice", T0 + secs(30))
            .await,
    );
    assert!(
        s.suspension_in_force(town.tenant, hanako.id, T0 + secs(40))
            .await?
            .is_none()
    );
    assert!(s.booking_policy(town.tenant).await?.is_none());
    let policy = json!({"no_show": {"count": 2, "within_days": 180, "suspend_days": 30}});
    s.set_booking_policy(town.tenant, &policy, T0).await?;
    s.set_booking_policy(town.tenant, &policy, T0 + secs(1))
        .await?;
    assert_eq!(s.booking_policy(town.tenant).await?, Some(policy));
    Ok(())
}

async fn town_b<S: Backend>(s: &S) -> anyhow::Result<madoguchi_domain::TenantId> {
    Ok(tenant(s, "tonari").await?.id)
}

async fn the_waiting_list_serves_in_order_and_refuses_what_cannot_wait<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let town = town(s, "machi").await?;
    let slot = slot_at(s, &town, T0, 1).await?;
    let a = resident(s, town.tenant, "a@example.jp").await?;
    let b = resident(s, town.tenant, "b@example.jp").await?;
    let c = resident(s, town.tenant, "c@example.jp").await?;
    let join = |account: AccountId| NewWaitlistEntry {
        slot_id: slot.id,
        account_id: account,
        details: json!({"answers": {"q": "x"}}),
    };
    match s.join_waitlist(town.tenant, &join(a.id), T0).await {
        Err(StorageError::Refused(Refusal::SeatsLeft)) => {}
        other => panic!("a slot with seats is booked, not waited for: {other:?}"),
    }
    created(
        s.reserve(town.tenant, &booking(&slot, Some(a.id)), T0)
            .await?,
    );
    assert_refused(
        s.join_waitlist(town.tenant, &join(a.id), T0).await,
        Refusal::AlreadyBooked,
    );
    let first = s
        .join_waitlist(town.tenant, &join(b.id), T0 + secs(1))
        .await?;
    let second = s
        .join_waitlist(town.tenant, &join(c.id), T0 + secs(2))
        .await?;
    assert_eq!((first.position, second.position), (1, 2));
    match s
        .join_waitlist(town.tenant, &join(b.id), T0 + secs(3))
        .await
    {
        Err(StorageError::Duplicate { constraint }) => {
            assert_eq!(constraint, "waitlist_one_per_resident")
        }
        other => panic!("one entry per resident: {other:?}"),
    }
    let queue = s.waiting_for_slot(town.tenant, slot.id).await?;
    assert_eq!(
        queue.iter().map(|e| e.account_id).collect::<Vec<_>>(),
        vec![b.id, c.id]
    );
    assert!(
        s.slots_to_promote(T0 - secs(60), 10).await?.is_empty(),
        "no free seat yet"
    );
    s.cancel_reservation(
        town.tenant,
        s.reservations_of_account(town.tenant, a.id).await?[0].id,
        None,
        T0,
    )
    .await?;
    let due = s.slots_to_promote(T0 - secs(60), 10).await?;
    assert_eq!(due, vec![(town.tenant, slot.id)]);
    assert!(
        s.slots_to_promote(T0, 10).await?.is_empty(),
        "not once it has started"
    );
    // b withdraws; c is next and their place says so.
    assert!(
        s.settle_waitlist_entry(
            town.tenant,
            first.entry.id,
            WaitlistStatus::Withdrawn,
            None,
            T0
        )
        .await?
    );
    assert!(
        !s.settle_waitlist_entry(
            town.tenant,
            first.entry.id,
            WaitlistStatus::Skipped,
            None,
            T0
        )
        .await?,
        "settled once"
    );
    let places = s.waitlist_of_account(town.tenant, c.id).await?;
    assert_eq!(places[0].position, 1);
    assert_eq!(
        s.waitlist_entry(town.tenant, first.entry.id).await?.status,
        WaitlistStatus::Withdrawn
    );
    assert!(s.waitlist_of_account(town.tenant, b.id).await?.is_empty());
    // With a seat free again, nobody new queues: they book.
    assert_refused(
        s.join_waitlist(town.tenant, &join(b.id), T0 + secs(4))
            .await,
        Refusal::SeatsLeft,
    );
    let other = town_b(s).await?;
    assert_not_found(s.waitlist_entry(other, second.entry.id).await);
    match s
        .settle_waitlist_entry(
            town.tenant,
            second.entry.id,
            WaitlistStatus::Promoted,
            None,
            T0,
        )
        .await
    {
        Err(StorageError::Constraint { .. }) | Err(StorageError::Other(_)) => {}
        other => panic!("promoted needs its reservation: {other:?}"),
    }
    Ok(())
}

async fn two_promotions_of_one_entry_book_one_seat<S: Backend>(s: &S) -> anyhow::Result<()> {
    let town = town(s, "kyoso").await?;
    let slot = slot_at(s, &town, T0, 2).await?;
    let a = resident(s, town.tenant, "a@example.jp").await?;
    let b = resident(s, town.tenant, "b@example.jp").await?;
    created(
        s.reserve(town.tenant, &booking(&slot, Some(a.id)), T0)
            .await?,
    );
    let holder = resident(s, town.tenant, "h@example.jp").await?;
    let held = created(
        s.reserve(town.tenant, &booking(&slot, Some(holder.id)), T0)
            .await?,
    );
    let entry = s
        .join_waitlist(
            town.tenant,
            &NewWaitlistEntry {
                slot_id: slot.id,
                account_id: b.id,
                details: json!({}),
            },
            T0,
        )
        .await?
        .entry;
    s.cancel_reservation(town.tenant, held.id, None, T0).await?;
    // Two nodes promote the same entry at the same moment: the entry's key books one seat.
    let promotion = NewReservation {
        idempotency_key: Some(waitlist_idempotency_key(entry.id)),
        ..booking(&slot, Some(b.id))
    };
    let start = Arc::new(Barrier::new(4));
    let tasks = (0..4).map(|_| {
        let (s, start, promotion) = (s.clone(), start.clone(), promotion.clone());
        let tenant = town.tenant;
        tokio::spawn(async move {
            start.wait().await;
            s.reserve(tenant, &promotion, T0).await
        })
    });
    let mut ids = std::collections::HashSet::new();
    for outcome in join_all(tasks).await {
        ids.insert(outcome??.reservation().id);
    }
    assert_eq!(ids.len(), 1, "one reservation");
    assert_eq!(taken(s, town.tenant, &slot).await?, 2);
    Ok(())
}

async fn the_day_sheet_lists_a_day_by_office_with_names<S: Backend>(s: &S) -> anyhow::Result<()> {
    let town = town(s, "ichiran").await?;
    let branch = office(s, town.tenant, "shisho").await?;
    let hanako = resident(s, town.tenant, "hanako@example.jp").await?;
    let morning = slot_at(s, &town, T0, 5).await?;
    let next_day = slot_at(s, &town, T0 + Duration::days(1), 5).await?;
    s.add_slots(
        town.tenant,
        town.service,
        &[crate::booking_contract::new_slot(
            branch.id,
            T0 + secs(1800),
            5,
        )],
    )
    .await?;
    let at_branch = s
        .slots(town.tenant, town.service, T0 + secs(1800), T0 + secs(1801))
        .await?
        .remove(0);
    let mine = created(
        s.reserve(town.tenant, &booking(&morning, Some(hanako.id)), T0)
            .await?,
    );
    let proxy = NewReservation {
        details: json!({"caller": {"name_kanji": "山田 太郎", "name_kana": "ヤマダ タロウ"}}),
        booked_by: Some(hanako.id),
        ..booking(&at_branch, None)
    };
    created(s.reserve(town.tenant, &proxy, T0).await?);
    created(
        s.reserve(town.tenant, &booking(&next_day, None), T0)
            .await?,
    );
    let mut expiring = booking(&morning, None);
    expiring.hold_until = Some(T0 + secs(1));
    created(s.reserve(town.tenant, &expiring, T0).await?);
    s.expire_holds(T0 + secs(2)).await?;

    let day = |office| DaySheetFilter {
        from: T0 - secs(3600),
        until: T0 + Duration::hours(23),
        office,
        department: None,
    };
    let all = s.day_sheet(town.tenant, &day(None)).await?;
    assert_eq!(
        all.len(),
        2,
        "the day's two, not the expired hold nor the next day"
    );
    assert_eq!(all[0].reservation.id, mine.id, "in start order");
    assert_eq!(all[0].account_name.as_deref(), Some("山田 花子"));
    assert_eq!(all[0].account_email.as_deref(), Some("hanako@example.jp"));
    assert_eq!(all[1].account_name, None);
    assert_eq!(all[1].reservation.booked_by, Some(hanako.id));
    assert_eq!(all[1].service_code, "soudan");
    let branch_only = s.day_sheet(town.tenant, &day(Some(branch.id))).await?;
    assert_eq!(branch_only.len(), 1);
    assert_eq!(branch_only[0].slot.office_id, branch.id);
    let other = town_b(s).await?;
    assert!(s.day_sheet(other, &day(None)).await?.is_empty());
    Ok(())
}

async fn a_remote_consultation_books_its_appointment_in_the_same_transaction<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let town: Town = town(s, "enkaku").await?;
    let kiosk = office(s, town.tenant, "kiosk").await?;
    let slot = slot_at(s, &town, T0, 1).await?;
    let elsewhere = town_b(s).await?;
    let foreign_office = office(s, elsewhere, "yoso").await?;
    let at = |join| NewReservation {
        remote_join: Some(join),
        ..booking(&slot, None)
    };
    assert_constraint(
        s.reserve(
            town.tenant,
            &at(RemoteJoin::Kiosk {
                office_id: foreign_office.id,
            }),
            T0,
        )
        .await,
        "remote_appointments_office",
    );
    assert_eq!(taken(s, town.tenant, &slot).await?, 0, "nothing stored");
    let r = created(
        s.reserve(
            town.tenant,
            &at(RemoteJoin::Kiosk {
                office_id: kiosk.id,
            }),
            T0,
        )
        .await?,
    );
    let appointment = s
        .remote_appointment(town.tenant, r.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no appointment"))?;
    assert_eq!(
        appointment.join,
        RemoteJoin::Kiosk {
            office_id: kiosk.id
        }
    );
    assert_eq!(s.remote_appointment(elsewhere, r.id).await?, None);
    Ok(())
}
