//! The demo city's services: slots follow the municipal calendar.

use madoguchi_auth::PasswordHasher;
use madoguchi_domain::tokyo::JST;
use madoguchi_server::demo::{DEMO_TENANT_SLUG, seed_demo, seed_demo_services};
use madoguchi_storage::{BookingStore, TenantStore};
use madoguchi_tests::db::fresh_sqlite;
use time::macros::{date, datetime};

#[tokio::test]
async fn demo_slots_skip_holidays_and_the_year_end_closure() -> anyhow::Result<()> {
    let db = fresh_sqlite().await?;
    let storage = db.storage();
    seed_demo(storage, &PasswordHasher::with_cost(1024, 1)).await?;
    let added = seed_demo_services(storage, date!(2026 - 12 - 20), 30).await?;
    assert!(added > 100, "slots were added: {added}");
    assert_eq!(
        seed_demo_services(storage, date!(2026 - 12 - 20), 30).await?,
        0,
        "seeding twice adds nothing"
    );
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    let services = storage.list_services(tenant.id).await?;
    let days_of = |code: &str| {
        let service = services
            .iter()
            .find(|s| s.code.as_str() == code)
            .map(|s| s.id);
        async move {
            let slots = storage
                .slots(
                    tenant.id,
                    service.unwrap_or_default(),
                    datetime!(2026-12-01 00:00 UTC),
                    datetime!(2027-02-01 00:00 UTC),
                )
                .await?;
            anyhow::Ok(
                slots
                    .iter()
                    .map(|s| s.starts_at.to_offset(JST).date())
                    .collect::<std::collections::BTreeSet<_>>(),
            )
        }
    };
    // Mondays: 12/21 and 12/28 open; 1/4 open after the closure; 1/11 is 成人の日 (closed).
    let mondays = days_of("kosodate-soudan").await?;
    assert!(mondays.contains(&date!(2026 - 12 - 21)) && mondays.contains(&date!(2026 - 12 - 28)));
    assert!(mondays.contains(&date!(2027 - 01 - 04)));
    assert!(
        !mondays.contains(&date!(2027 - 01 - 11)),
        "成人の日 has no slots"
    );
    // Saturday classes: none on 1/2 (year-end closure), one on 1/9.
    let saturdays = days_of("rinyushoku-koshukai").await?;
    assert!(!saturdays.contains(&date!(2027 - 01 - 02)));
    assert!(saturdays.contains(&date!(2027 - 01 - 09)));
    // Weekday pick-ups: nothing from 12/29 to 1/3.
    let pickups = days_of("mynumber-koufu").await?;
    for closed in [
        date!(2026 - 12 - 29),
        date!(2026 - 12 - 30),
        date!(2026 - 12 - 31),
        date!(2027 - 01 - 01),
    ] {
        assert!(
            !pickups.contains(&closed),
            "{closed} is in the year-end closure"
        );
    }
    assert!(pickups.contains(&date!(2027 - 01 - 05)));
    Ok(())
}
