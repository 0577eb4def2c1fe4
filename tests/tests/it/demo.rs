//! The demo city's services: slots follow the municipal calendar.

use madoguchi_auth::PasswordHasher;
use madoguchi_domain::tokyo::JST;
use madoguchi_server::demo::{DEMO_TENANT_SLUG, seed_demo, seed_demo_services};
use madoguchi_storage::{BookingStore, OrgStore, TenantStore};
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

/// Every role has something to do in the demo: the branch and the sub-office hold
/// consultations and remote consultations of their own, and the 公民館 a lecture.
#[tokio::test]
async fn the_branches_hold_consultations_and_remote_ones_and_the_kominkan_a_lecture()
-> anyhow::Result<()> {
    let db = fresh_sqlite().await?;
    let storage = db.storage();
    seed_demo(storage, &PasswordHasher::with_cost(1024, 1)).await?;
    seed_demo_services(storage, date!(2026 - 12 - 7), 28).await?;
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    let offices = storage.list_offices(tenant.id).await?;
    let office = |code: &str| {
        offices
            .iter()
            .find(|o| o.code.as_str() == code)
            .map(|o| o.id)
            .unwrap_or_else(|| panic!("no office {code}"))
    };
    let services = storage.list_services(tenant.id).await?;
    // The kinds held at an office over the four weeks, with how many slots each.
    let kinds_at = |code: &str| {
        let at = office(code);
        let services = &services;
        async move {
            let mut kinds = std::collections::BTreeMap::<&'static str, usize>::new();
            for service in services {
                let slots = storage
                    .slots(
                        tenant.id,
                        service.id,
                        datetime!(2026-12-07 00:00 UTC),
                        datetime!(2027-01-10 00:00 UTC),
                    )
                    .await?;
                let here = slots.iter().filter(|s| s.office_id == at).count();
                if here > 0 {
                    *kinds.entry(service.kind.as_str()).or_default() += here;
                }
            }
            anyhow::Ok(kinds)
        }
    };
    for branch in ["kita-shisho", "higashi-shutchojo"] {
        let kinds = kinds_at(branch).await?;
        assert!(
            kinds.get("consultation").is_some_and(|n| *n >= 4),
            "{branch} holds consultations: {kinds:?}"
        );
        assert!(
            kinds.get("remote_consultation").is_some_and(|n| *n >= 4),
            "{branch} holds remote consultations: {kinds:?}"
        );
    }
    let kominkan = kinds_at("chuo-kominkan").await?;
    assert!(
        kominkan.get("lecture").is_some_and(|n| *n >= 2),
        "the 公民館 holds lectures: {kominkan:?}"
    );
    let koza = services
        .iter()
        .find(|s| s.code.as_str() == "kominkan-koza")
        .expect("the 公民館's own lecture");
    assert_eq!(koza.kind.as_str(), "lecture");
    Ok(())
}

#[tokio::test]
async fn the_demo_resident_owes_two_open_fees_and_seeding_again_adds_nothing() -> anyhow::Result<()>
{
    use madoguchi_storage::{PaymentStore, ReceivableFilter};
    let db = fresh_sqlite().await?;
    let storage = db.storage();
    let hasher = PasswordHasher::with_cost(1024, 1);
    seed_demo(storage, &hasher).await?;
    let first = madoguchi_server::demo::seed_demo_payments(storage, &hasher).await?;
    assert!(first.resident.is_some(), "the resident is created once");
    assert_eq!(first.receivables_added, 2);
    let again = madoguchi_server::demo::seed_demo_payments(storage, &hasher).await?;
    assert!(
        again.resident.is_none(),
        "and its password is not made again"
    );
    assert_eq!(again.receivables_added, 0, "seeding twice adds nothing");
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    assert_eq!(
        storage.revenue_categories(tenant.id).await?.len(),
        madoguchi_payments::RevenueCategory::standard().len()
    );
    let owed = storage
        .list_receivables(
            tenant.id,
            &ReceivableFilter {
                limit: 10,
                ..ReceivableFilter::default()
            },
        )
        .await?;
    let mut amounts: Vec<(String, i64)> = owed
        .iter()
        .map(|r| (r.category.to_string(), r.outstanding_yen()))
        .collect();
    amounts.sort();
    assert_eq!(
        amounts,
        [
            ("certificate_fee".to_owned(), 300),
            ("dog_registration_fee".to_owned(), 3_000)
        ]
    );
    assert!(owed.iter().all(|r| r.payer_account.is_some()));
    Ok(())
}

#[tokio::test]
async fn the_demo_water_cycle_has_its_slips_and_seeding_again_issues_none() -> anyhow::Result<()> {
    use madoguchi_storage::SlipStore;
    let db = fresh_sqlite().await?;
    let storage = db.storage();
    seed_demo(storage, &PasswordHasher::with_cost(1024, 1)).await?;
    let today = time::macros::date!(2026 - 12 - 07);
    assert_eq!(
        madoguchi_server::demo::seed_demo_slips(storage, today).await?,
        12
    );
    assert_eq!(
        madoguchi_server::demo::seed_demo_slips(storage, today).await?,
        0
    );
    let tenant = storage.tenant_by_slug(DEMO_TENANT_SLUG).await?;
    let batches = storage.slip_batches(tenant.id, 10).await?;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].cycle, "2027-01");
    assert_eq!(batches[0].category.as_str(), "water_charge");
    let slips = storage.slips_of_batch(tenant.id, batches[0].id).await?;
    assert_eq!(slips.len(), 12);
    assert!(
        slips
            .iter()
            .all(|slip| slip.due_on == time::macros::date!(2027 - 01 - 31))
    );
    assert!(
        slips
            .iter()
            .all(|slip| slip.barcode.fields().company.to_string() == "912345")
    );
    // A day's payment data waits on finance's import page, previewed, not applied.
    let uploads =
        madoguchi_storage::KonbiniImportStore::konbini_uploads(storage, tenant.id, 10).await?;
    assert_eq!(uploads.len(), 1, "seeding again uploads nothing more");
    assert_eq!(uploads[0].state, madoguchi_storage::UploadState::Previewed);
    assert_eq!(uploads[0].lines, 4);
    Ok(())
}
