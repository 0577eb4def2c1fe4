//! The booking contract under a rush, on SQLite and PostgreSQL alike: many tasks released
//! together by a `Barrier` book, cancel or expire the same seats, and any outcome other than the
//! expected ones (a driver error, a constraint violation surfacing from
//! `CHECK (taken <= capacity)`) fails the story. On PostgreSQL they run on a wider pool than the
//! other stories, so that the database, not the pool, decides who waits.

use crate::booking_contract::*;
use futures::future::join_all;
use madoguchi_domain::TenantId;
use madoguchi_storage::{
    LimitCheck, NewReservation, NewSlot, Refusal, ReservationStatus, ReserveOutcome, StorageError,
    StorageResult,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use time::Duration;
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    wide:
    three_hundred_simultaneous_bookings_of_fifty_seats_give_exactly_fifty,
    fifty_simultaneous_requests_with_one_idempotency_key_book_one_seat,
    twenty_simultaneous_bookings_by_one_resident_with_a_limit_of_one_succeed_once,
    simultaneous_bookings_of_one_resident_with_and_without_a_limit_all_succeed,
    twenty_simultaneous_cancellations_give_one_seat_back,
    five_nodes_expiring_holds_at_once_expire_each_hold_exactly_once,
);

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

/// Runs `requests` at once (released together by a barrier) and returns each outcome, in the
/// order of `requests`.
async fn all_at_once<S: Backend>(
    s: &S,
    tenant: TenantId,
    requests: Vec<NewReservation>,
) -> anyhow::Result<Vec<StorageResult<ReserveOutcome>>> {
    let start = Arc::new(Barrier::new(requests.len()));
    let tasks = requests.into_iter().map(|new| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.reserve(tenant, &new, T0).await
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|joined| Ok(joined?))
        .collect()
}

async fn three_hundred_simultaneous_bookings_of_fifty_seats_give_exactly_fifty<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const SEATS: i64 = 50;
    const REQUESTS: usize = 300;
    let kita = town(s, "kita").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), SEATS).await?;
    let requests = (0..REQUESTS)
        .map(|n| NewReservation {
            booked_by: None,
            remote_join: None,
            details: json!({"request": n}),
            ..booking(&slot, None)
        })
        .collect();

    let started = Instant::now();
    let outcomes = all_at_once(s, kita.tenant, requests).await?;
    let elapsed = started.elapsed();
    eprintln!(
        "{} bookings of {SEATS} seats on {}: {elapsed:?}",
        REQUESTS,
        s.backend_name()
    );

    let mut booked = HashSet::new();
    let mut full = 0;
    for outcome in outcomes {
        match outcome {
            Ok(ReserveOutcome::Created(r)) => {
                assert_eq!(
                    (r.slot_id, r.status),
                    (slot.id, ReservationStatus::Confirmed)
                );
                assert!(booked.insert(r.id), "one id per booking");
            }
            Err(StorageError::Refused(Refusal::SlotFull)) => full += 1,
            other => panic!("a booking must be Created or refused as SlotFull, got {other:?}"),
        }
    }
    assert_eq!(booked.len(), 50);
    assert_eq!(full, 250);
    assert_eq!(taken(s, kita.tenant, &slot).await?, SEATS);
    assert_eq!(
        s.query_i64("SELECT count(*) FROM reservations WHERE status IN ('held', 'confirmed')")
            .await?,
        SEATS
    );
    assert_eq!(
        s.query_i64("SELECT count(*) FROM reservations").await?,
        SEATS,
        "refused bookings leave no rows"
    );
    Ok(())
}

async fn fifty_simultaneous_requests_with_one_idempotency_key_book_one_seat<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const REQUESTS: usize = 50;
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    // A roomy slot, a slot whose only seat goes to the first request, and a resident at her
    // personal limit after the first request: every twin must still see a replay.
    let cases = [
        ("same-key-roomy", 50, None),
        ("same-key-last-seat", 1, None),
        (
            "same-key-limited",
            50,
            Some(LimitCheck {
                max: 1,
                from: T0 + Duration::days(3),
                until: T0 + Duration::days(4),
            }),
        ),
    ];
    for (day, (key, capacity, limit)) in (1_i64..).zip(cases) {
        let slot = slot_at(s, &kita, T0 + Duration::days(day), capacity).await?;
        let request = NewReservation {
            booked_by: None,
            remote_join: None,
            idempotency_key: Some(key.to_owned()),
            limit,
            ..booking(&slot, Some(hanako.id))
        };
        let outcomes = all_at_once(s, kita.tenant, vec![request; REQUESTS]).await?;

        let mut first = None;
        let mut replayed = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(ReserveOutcome::Created(r)) => {
                    assert!(first.is_none(), "{key}: booked twice");
                    first = Some(r);
                }
                Ok(ReserveOutcome::Replayed(r)) => replayed.push(r),
                other => panic!("{key}: a twin request must be Created or Replayed, got {other:?}"),
            }
        }
        let first = first.expect("one request books");
        assert_eq!(replayed.len(), REQUESTS - 1, "{key}");
        assert!(
            replayed.iter().all(|r| *r == first),
            "{key}: every replay is the first"
        );
        assert_eq!(first.idempotency_key.as_deref(), Some(key));
        assert_eq!(taken(s, kita.tenant, &slot).await?, 1, "{key}");
    }
    assert_eq!(s.query_i64("SELECT count(*) FROM reservations").await?, 3);
    Ok(())
}

async fn twenty_simultaneous_bookings_by_one_resident_with_a_limit_of_one_succeed_once<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    const REQUESTS: i64 = 20;
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let limit = LimitCheck {
        max: 1,
        from: T0,
        until: T0 + Duration::days(7),
    };
    let starts: Vec<NewSlot> = (0..REQUESTS)
        .map(|n| new_slot(kita.office, T0 + Duration::hours(n + 1), 5))
        .collect();
    assert_eq!(
        s.add_slots(kita.tenant, kita.service, &starts).await?,
        REQUESTS as u64
    );
    let slots = s
        .slots(kita.tenant, kita.service, T0, T0 + Duration::days(7))
        .await?;
    let requests = slots
        .iter()
        .map(|slot| NewReservation {
            booked_by: None,
            remote_join: None,
            limit: Some(limit),
            ..booking(slot, Some(hanako.id))
        })
        .collect();

    let outcomes = all_at_once(s, kita.tenant, requests).await?;
    let mut booked = 0;
    let mut refused = 0;
    for outcome in outcomes {
        match outcome {
            Ok(ReserveOutcome::Created(_)) => booked += 1,
            Err(StorageError::Refused(Refusal::PersonalLimit)) => refused += 1,
            other => panic!("expected Created or PersonalLimit, got {other:?}"),
        }
    }
    assert_eq!((booked, refused), (1, 19));
    let mut seats = 0;
    for slot in &slots {
        seats += taken(s, kita.tenant, slot).await?;
    }
    assert_eq!(seats, 1);
    assert_eq!(s.query_i64("SELECT count(*) FROM reservations").await?, 1);
    Ok(())
}

async fn simultaneous_bookings_of_one_resident_with_and_without_a_limit_all_succeed<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    // Staff booking for a resident (no limit) while the resident books herself (limit) on the
    // same slot: one kind locks the account then the slot, the other holds the slot while its
    // insert checks the account's foreign key. Neither may deadlock or fail the other.
    const REQUESTS: usize = 40;
    let kita = town(s, "kita").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 100).await?;
    let roomy = LimitCheck {
        max: 1000,
        from: T0,
        until: T0 + Duration::days(7),
    };
    let requests = (0..REQUESTS)
        .map(|n| NewReservation {
            booked_by: None,
            remote_join: None,
            limit: (n % 2 == 0).then_some(roomy),
            ..booking(&slot, Some(hanako.id))
        })
        .collect();
    for outcome in all_at_once(s, kita.tenant, requests).await? {
        match outcome {
            Ok(ReserveOutcome::Created(_)) => {}
            other => panic!("every booking has room, got {other:?}"),
        }
    }
    assert_eq!(taken(s, kita.tenant, &slot).await?, REQUESTS as i64);
    Ok(())
}

async fn twenty_simultaneous_cancellations_give_one_seat_back<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const CLICKS: usize = 20;
    let kita = town(s, "kita").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 2).await?;
    let target = created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);
    created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);

    let start = Arc::new(Barrier::new(CLICKS));
    let clicks = (0..CLICKS).map(|_| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.cancel_reservation(kita.tenant, target.id, None, T0 + secs(10))
                .await
        })
    });
    let mut cancelled = 0;
    for joined in join_all(clicks).await {
        match joined? {
            Ok(r) => {
                assert_eq!(r.status, ReservationStatus::Cancelled);
                cancelled += 1;
            }
            Err(StorageError::Refused(Refusal::NotActive)) => {}
            Err(other) => panic!("a losing click must see NotActive, got {other:?}"),
        }
    }
    assert_eq!(cancelled, 1);
    assert_eq!(taken(s, kita.tenant, &slot).await?, 1);
    Ok(())
}

async fn five_nodes_expiring_holds_at_once_expire_each_hold_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const NODES: usize = 5;
    const HOLDS_PER_SLOT: i64 = 20;
    let kita = town(s, "kita").await?;
    let mut slots = Vec::new();
    for day in 1..=3 {
        let slot = slot_at(s, &kita, T0 + Duration::days(day), HOLDS_PER_SLOT + 1).await?;
        for n in 0..HOLDS_PER_SLOT {
            let hold = NewReservation {
                booked_by: None,
                remote_join: None,
                // Due at different instants, all by T0 + 60 s.
                hold_until: Some(T0 + secs(1 + n)),
                ..booking(&slot, None)
            };
            created(s.reserve(kita.tenant, &hold, T0).await?);
        }
        slots.push(slot);
    }
    // A hold that is not due yet stays, and keeps its seat.
    let kept = NewReservation {
        booked_by: None,
        remote_join: None,
        hold_until: Some(T0 + secs(3600)),
        ..booking(&slots[0], None)
    };
    let kept = created(s.reserve(kita.tenant, &kept, T0).await?);

    let start = Arc::new(Barrier::new(NODES));
    let nodes = (0..NODES).map(|_| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.expire_holds(T0 + secs(60)).await
        })
    });
    let mut expired = 0;
    for joined in join_all(nodes).await {
        expired += joined??;
    }
    assert_eq!(
        expired,
        3 * HOLDS_PER_SLOT as u64,
        "each hold expired once, by one node"
    );
    let seats: Vec<i64> = join_all(slots.iter().map(|slot| taken(s, kita.tenant, slot)))
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    assert_eq!(seats, vec![1, 0, 0]);
    assert_eq!(
        s.query_i64("SELECT count(*) FROM reservations WHERE status = 'expired'")
            .await?,
        3 * HOLDS_PER_SLOT
    );
    assert_eq!(
        s.reservation(kita.tenant, kept.id).await?.status,
        ReservationStatus::Held
    );
    Ok(())
}
