//! The capabilities contract: a city's switches (reservations, facilities, the remote counter,
//! payments), one set of stories run against SQLite and PostgreSQL on a fresh database each.
//! The HTTP side (the home page, the administrators' page, the audit) is in `capabilities.rs`.

use madoguchi_domain::{Capability, CityCapabilities};
use madoguchi_storage::StorageError;
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::Duration;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_city_that_never_switched_has_nothing_stored_and_offers_reservations,
    the_last_switch_of_a_capability_wins_and_stays_within_its_city,
    an_unknown_city_cannot_switch_a_capability,
    a_capability_name_from_a_newer_version_is_left_out,
);

async fn a_city_that_never_switched_has_nothing_stored_and_offers_reservations<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    assert_eq!(s.switched_capabilities(t.id).await?, vec![]);
    let city = CityCapabilities::from_switched(s.switched_capabilities(t.id).await?);
    assert_eq!(city.offered(), [Capability::Reservations]);
    Ok(())
}

async fn the_last_switch_of_a_capability_wins_and_stays_within_its_city<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = tenant(s, "kita").await?;
    let minami = tenant(s, "minami").await?;
    s.switch_capability(kita.id, Capability::Reservations, false, T0)
        .await?;
    s.switch_capability(kita.id, Capability::Payments, true, T0)
        .await?;
    s.switch_capability(
        kita.id,
        Capability::Reservations,
        true,
        T0 + Duration::minutes(1),
    )
    .await?;
    s.switch_capability(
        kita.id,
        Capability::Reservations,
        false,
        T0 + Duration::minutes(2),
    )
    .await?;
    let mut switched = s.switched_capabilities(kita.id).await?;
    switched.sort();
    assert_eq!(
        switched,
        vec![
            (Capability::Reservations, false),
            (Capability::Payments, true)
        ]
    );
    let city = CityCapabilities::from_switched(switched);
    assert_eq!(
        city.offered(),
        [Capability::Payments],
        "reservations off, payments on"
    );
    assert_eq!(
        s.switched_capabilities(minami.id).await?,
        vec![],
        "another city keeps its defaults"
    );
    Ok(())
}

async fn an_unknown_city_cannot_switch_a_capability<S: Backend>(s: &S) -> anyhow::Result<()> {
    let result = s
        .switch_capability(
            madoguchi_domain::TenantId::new(),
            Capability::Reservations,
            false,
            T0,
        )
        .await;
    assert!(
        matches!(result, Err(StorageError::Constraint { .. })),
        "refused by the tenant's foreign key: {result:?}"
    );
    Ok(())
}

async fn a_capability_name_from_a_newer_version_is_left_out<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    s.switch_capability(t.id, Capability::Reservations, false, T0)
        .await?;
    let inserted = match s
        .execute_raw(
            "INSERT INTO city_capabilities (tenant_id, capability, enabled, updated_at) \
         SELECT tenant_id, 'teleportation', enabled, updated_at FROM city_capabilities",
        )
        .await
    {
        Ok(n) => n,
        Err(e) => anyhow::bail!("raw insert: {e}"),
    };
    assert_eq!(inserted, 1);
    assert_eq!(
        s.switched_capabilities(t.id).await?,
        vec![(Capability::Reservations, false)]
    );
    Ok(())
}
