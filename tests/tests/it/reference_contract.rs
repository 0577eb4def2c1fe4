//! The reservation-number contract (予約番号): every reservation gets a number of its own,
//! unique per city, drawn again on a clash; staff find a reservation by it in their city only.
//! Run on SQLite and PostgreSQL, with the builders of `booking_contract.rs`.

use crate::booking_contract::*;
use madoguchi_domain::ReservationRef;
use madoguchi_storage::{LimitCheck, NewReservation, ReservationStatus};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use madoguchi_tests::on_both_databases;
use time::Duration;

on_both_databases!(
    every_reservation_gets_its_own_number_and_is_found_by_it_in_its_city_only,
    a_number_the_city_already_has_is_drawn_again_and_the_booking_still_made,
);

async fn every_reservation_gets_its_own_number_and_is_found_by_it_in_its_city_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 5).await?;

    let first = created(
        s.reserve(kita.tenant, &booking(&slot, Some(hanako.id)), T0)
            .await?,
    );
    let second = created(s.reserve(kita.tenant, &booking(&slot, None), T0).await?);
    assert_ne!(first.reference, second.reference);
    assert_eq!(first.reference.compact().len(), 8);
    for r in [&first, &second] {
        assert_eq!(
            s.reservation_by_reference(kita.tenant, r.reference).await?,
            *r
        );
        assert_eq!(
            s.reservation(kita.tenant, r.id).await?.reference,
            r.reference
        );
    }
    // Another city has no reservation with that number.
    assert_not_found(
        s.reservation_by_reference(minami.tenant, first.reference)
            .await,
    );

    // A replayed request answers with the first reservation's number; a cancelled
    // reservation keeps its number and is still found by it.
    let keyed = NewReservation {
        idempotency_key: Some("ref-key".into()),
        ..booking(&slot, Some(hanako.id))
    };
    let booked = created(s.reserve(kita.tenant, &keyed, T0).await?);
    let replayed = s.reserve(kita.tenant, &keyed, T0).await?;
    assert_eq!(replayed.reservation().reference, booked.reference);
    let cancelled = s
        .cancel_reservation(kita.tenant, booked.id, None, T0)
        .await?;
    assert_eq!(cancelled.reference, booked.reference);
    assert_eq!(
        s.reservation_by_reference(kita.tenant, booked.reference)
            .await?
            .status,
        ReservationStatus::Cancelled
    );
    Ok(())
}

async fn a_number_the_city_already_has_is_drawn_again_and_the_booking_still_made<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = town(s, "kita").await?;
    let minami = town(s, "minami").await?;
    let hanako = resident(s, kita.tenant, "hanako@example.jp").await?;
    let slot = slot_at(s, &kita, T0 + Duration::days(3), 5).await?;
    let number = ReservationRef::parse("K7QX-3MPA").expect("a number");
    let first = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                reference: Some(number),
                ..booking(&slot, None)
            },
            T0,
        )
        .await?,
    );
    assert_eq!(first.reference, number);

    // The same number again in the same city: a fresh one is drawn, in the one-statement
    // booking and in the booking that locks the resident for a personal limit alike.
    let again = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                reference: Some(number),
                ..booking(&slot, None)
            },
            T0,
        )
        .await?,
    );
    assert_ne!(again.reference, number);
    let limited = created(
        s.reserve(
            kita.tenant,
            &NewReservation {
                reference: Some(number),
                limit: Some(LimitCheck {
                    max: 5,
                    from: T0,
                    until: T0 + Duration::days(30),
                }),
                ..booking(&slot, Some(hanako.id))
            },
            T0,
        )
        .await?,
    );
    assert_ne!(limited.reference, number);
    assert_ne!(limited.reference, again.reference);
    // A refused retry took no seat twice: three bookings, three seats.
    assert_eq!(taken(s, kita.tenant, &slot).await?, 3);
    assert_eq!(
        s.reservation_by_reference(kita.tenant, number).await?.id,
        first.id
    );

    // Another city may have the same number.
    let minami_slot = slot_at(s, &minami, T0 + Duration::days(3), 1).await?;
    let elsewhere = created(
        s.reserve(
            minami.tenant,
            &NewReservation {
                reference: Some(number),
                ..booking(&minami_slot, None)
            },
            T0,
        )
        .await?,
    );
    assert_eq!(elsewhere.reference, number);
    Ok(())
}
