//! The calendar use cases run with no HTTP at all, as the command line or a job would call
//! them: a scope of an operator and a fixed clock, the storage of either database, and a
//! catalogue of cached calendars. Each change is stored, forgotten by the catalogue at once,
//! and audited at the scope's time.

use madoguchi_calendar::{
    ClosingRule, ImportedHoliday, ImportedHolidays, OfficeClosingDays, OnHoliday,
};
use madoguchi_domain::{ErrorCode, ManualClock, OfficeKind, OrgCode};
use madoguchi_storage::{ActorKind, AuditFilter, NewOffice};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use madoguchi_tests::on_both_databases;
use madoguchi_usecases::cache::Catalogue;
use madoguchi_usecases::calendar as uc;
use madoguchi_usecases::{Actor, Scope};
use std::sync::Arc;
use time::Weekday;
use time::macros::date;

on_both_databases!(
    an_operator_imports_holidays_and_the_cached_calendar_and_the_audit_follow,
    office_days_are_checked_and_a_rule_added_twice_is_stored_once,
);

fn operator_scope(tenant: madoguchi_domain::TenantId) -> Scope {
    Scope::new(tenant, Actor::Operator, Arc::new(ManualClock::new(T0)))
}

async fn an_operator_imports_holidays_and_the_cached_calendar_and_the_audit_follow<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "uc-shukujitsu").await?.id;
    let scope = operator_scope(t);
    let catalogue = Catalogue::default();
    let city_day = date!(2027 - 06 - 01);
    // Warm the cache first: the import must make this node forget it.
    let before = catalogue.calendar(s, t).await?;
    assert_eq!(before.holiday(city_day)?, None);

    let holidays = ImportedHolidays::new(vec![ImportedHoliday {
        date: city_day,
        name: "市制記念日".to_owned(),
    }])?;
    let import = uc::import_holidays(s, &catalogue, &scope, &holidays).await?;
    assert_eq!((import.years, import.stored), (vec![2027], 1));
    let after = catalogue.calendar(s, t).await?;
    assert!(
        after.holiday(city_day)?.is_some(),
        "the cache was forgotten"
    );

    uc::set_year_end_closure(s, &catalogue, &scope, None).await?;
    assert_eq!(catalogue.calendar(s, t).await?.year_end_closure(), None);

    let out_of_range = uc::remove_imported_year(s, &catalogue, &scope, 1900).await;
    let error = out_of_range.err().map(|e| (e.code, e.fields));
    assert_eq!(
        error.map(|(code, fields)| (code, fields.len())),
        Some((ErrorCode::DateOutOfRange, 1))
    );
    assert_eq!(
        uc::remove_imported_year(s, &catalogue, &scope, 2027).await?,
        1
    );
    assert_eq!(catalogue.calendar(s, t).await?.holiday(city_day)?, None);

    let entries = s
        .list_audit(
            t,
            &AuditFilter {
                action_prefix: Some("calendar.".to_owned()),
                limit: 10,
                ..AuditFilter::default()
            },
        )
        .await?;
    let mut actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    actions.sort_unstable();
    assert_eq!(
        actions,
        [
            "calendar.holidays_imported",
            "calendar.holidays_removed",
            "calendar.year_end_closure_set"
        ],
        "the refused year wrote nothing"
    );
    for entry in &entries {
        assert_eq!(entry.at, T0, "the time comes from the scope's clock");
        assert_eq!(
            (entry.actor_kind, entry.actor_id),
            (ActorKind::System, None)
        );
    }
    Ok(())
}

async fn office_days_are_checked_and_a_rule_added_twice_is_stored_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "uc-kyukan").await?.id;
    let office = s
        .create_office(
            t,
            &NewOffice {
                code: OrgCode::parse("uc-kominkan").map_err(anyhow::Error::msg)?,
                kind: OfficeKind::CommunityCentre,
                name_ja: "公民館".to_owned(),
                name_en: "Community centre".to_owned(),
            },
        )
        .await?
        .id;
    let scope = operator_scope(t);
    let catalogue = Catalogue::default();
    let monday = ClosingRule::Weekly {
        weekday: Weekday::Monday,
        on_holiday: OnHoliday::StayClosed,
    };
    let first = uc::add_closing_rule(s, &catalogue, &scope, office, monday.clone()).await?;
    assert!(first.is_some());
    let again = uc::add_closing_rule(s, &catalogue, &scope, office, monday).await?;
    assert!(again.is_none(), "the same rule twice is stored once");

    let every_day = OfficeClosingDays {
        open_on_weekends_and_holidays: true,
        rules: [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .into_iter()
        .map(|weekday| ClosingRule::Weekly {
            weekday,
            on_holiday: OnHoliday::StayClosed,
        })
        .collect(),
    };
    let refused = uc::replace_office_calendar(s, &catalogue, &scope, office, &every_day).await;
    assert_eq!(
        refused.err().map(|e| e.code),
        Some(ErrorCode::ValidationFailed)
    );
    assert_eq!(s.office_calendar(t, office).await?.rules.len(), 1);
    Ok(())
}
