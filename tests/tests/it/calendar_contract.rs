//! The calendar contract: each tenant's imported holidays, year-end closure and office closing
//! days, one set of stories run against SQLite and PostgreSQL on a fresh database each, like
//! `booking_contract.rs`. Every story becomes `calendar_contract::<story>::on_sqlite` and
//! `::on_postgres`.

use futures::future::join_all;
use madoguchi_calendar::{
    ClosingRule, ImportedHoliday, ImportedHolidays, MonthDay, OfficeClosingDays, OnHoliday,
    WeekOfMonth, YearEndClosure,
};
use madoguchi_domain::{OfficeId, OfficeKind, OrgCode, TenantId};
use madoguchi_storage::{NewOffice, StorageError};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::Date;
use time::Weekday;
use time::macros::date;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_tenant_without_settings_has_the_default_closure_and_nothing_imported,
    an_import_replaces_exactly_the_years_it_covers,
    imported_holidays_belong_to_their_tenant,
    a_year_can_be_given_back_to_the_computed_holidays,
    the_year_end_closure_is_set_changed_and_removed,
    closing_rules_of_every_kind_come_back_in_the_order_they_were_added,
    the_weekend_and_holiday_opening_is_kept_with_or_without_rules,
    replacing_an_office_calendar_swaps_the_whole_set,
    another_tenants_office_cannot_be_read_or_given_closing_days,
    the_database_refuses_a_period_that_ends_before_it_starts,
    simultaneous_imports_leave_one_complete_list,
);

// ---------------------------------------------------------------------------------------------
// Builders and assertions
// ---------------------------------------------------------------------------------------------

async fn office<S: Backend>(s: &S, tenant: TenantId, raw_code: &str) -> anyhow::Result<OfficeId> {
    Ok(s.create_office(
        tenant,
        &NewOffice {
            code: OrgCode::parse(raw_code).expect("valid code"),
            kind: OfficeKind::CommunityCentre,
            name_ja: format!("{raw_code}公民館"),
            name_en: format!("{raw_code} community centre"),
        },
    )
    .await?
    .id)
}

fn list(entries: &[(Date, &str)]) -> ImportedHolidays {
    ImportedHolidays::new(
        entries
            .iter()
            .map(|(date, name)| ImportedHoliday {
                date: *date,
                name: (*name).to_owned(),
            })
            .collect(),
    )
    .expect("no date twice")
}

fn dates(holidays: &ImportedHolidays) -> Vec<Date> {
    holidays.entries().iter().map(|e| e.date).collect()
}

fn closure(first: (u8, u8), last: (u8, u8)) -> YearEndClosure {
    YearEndClosure::new(
        MonthDay::new(first.0, first.1).expect("valid day"),
        MonthDay::new(last.0, last.1).expect("valid day"),
    )
    .expect("valid closure")
}

fn every_kind() -> Vec<ClosingRule> {
    vec![
        ClosingRule::Weekly {
            weekday: Weekday::Monday,
            on_holiday: OnHoliday::CloseNextWeekday,
        },
        ClosingRule::MonthlyWeekday {
            week: WeekOfMonth::Third,
            weekday: Weekday::Thursday,
        },
        ClosingRule::Date {
            date: date!(2027 - 04 - 01),
            note: Some("設備点検".into()),
        },
        ClosingRule::Period {
            first: date!(2027 - 07 - 01),
            last: date!(2027 - 09 - 30),
            note: None,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Stories
// ---------------------------------------------------------------------------------------------

async fn a_tenant_without_settings_has_the_default_closure_and_nothing_imported<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "shinki").await?.id;
    let honkan = office(s, t, "honkan").await?;
    assert!(s.imported_holidays(t).await?.is_empty());
    assert_eq!(
        s.year_end_closure(t).await?,
        Some(YearEndClosure::default())
    );
    assert!(s.office_calendars(t).await?.is_empty());
    let calendar = s.office_calendar(t, honkan).await?;
    assert_eq!(calendar.office_id, honkan);
    assert_eq!(calendar.closing_days(), OfficeClosingDays::default());
    Ok(())
}

async fn an_import_replaces_exactly_the_years_it_covers<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "torikomi").await?.id;
    let first = list(&[
        (date!(2026 - 01 - 01), "元日"),
        (date!(2026 - 06 - 01), "市制記念日"),
        (date!(2027 - 01 - 01), "元日"),
        (date!(2027 - 01 - 11), "成人の日"),
    ]);
    let report = s.replace_imported_holidays(t, &first).await?;
    assert_eq!(
        (report.years.clone(), report.removed, report.stored),
        (vec![2026, 2027], 0, 4)
    );
    assert_eq!(s.imported_holidays(t).await?, first);

    // A list of 2027 alone replaces 2027 entirely (a day can disappear) and leaves 2026.
    let second = list(&[
        (date!(2027 - 01 - 01), "元日"),
        (date!(2027 - 06 - 01), "市制記念日"),
    ]);
    let report = s.replace_imported_holidays(t, &second).await?;
    assert_eq!(
        (report.years.clone(), report.removed, report.stored),
        (vec![2027], 2, 2)
    );
    assert_eq!(
        dates(&s.imported_holidays(t).await?),
        vec![
            date!(2026 - 01 - 01),
            date!(2026 - 06 - 01),
            date!(2027 - 01 - 01),
            date!(2027 - 06 - 01),
        ]
    );
    let names: Vec<String> = s
        .imported_holidays(t)
        .await?
        .entries()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names, ["元日", "市制記念日", "元日", "市制記念日"]);

    // An empty list changes nothing.
    let report = s
        .replace_imported_holidays(t, &ImportedHolidays::default())
        .await?;
    assert_eq!((report.removed, report.stored), (0, 0));
    assert_eq!(s.imported_holidays(t).await?.len(), 4);
    Ok(())
}

async fn imported_holidays_belong_to_their_tenant<S: Backend>(s: &S) -> anyhow::Result<()> {
    let a = tenant(s, "kita").await?.id;
    let b = tenant(s, "minami").await?.id;
    s.replace_imported_holidays(a, &list(&[(date!(2027 - 06 - 01), "市制記念日")]))
        .await?;
    s.replace_imported_holidays(b, &list(&[(date!(2027 - 10 - 01), "町民の日")]))
        .await?;
    assert_eq!(
        dates(&s.imported_holidays(a).await?),
        [date!(2027 - 06 - 01)]
    );
    assert_eq!(
        dates(&s.imported_holidays(b).await?),
        [date!(2027 - 10 - 01)]
    );
    // B's import of the same year leaves A's list alone, and so does B's removal.
    assert_eq!(s.remove_imported_holidays(b, 2027).await?, 1);
    assert_eq!(s.imported_holidays(a).await?.len(), 1);
    Ok(())
}

async fn a_year_can_be_given_back_to_the_computed_holidays<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "modosu").await?.id;
    s.replace_imported_holidays(
        t,
        &list(&[
            (date!(2026 - 12 - 31), "大晦日"),
            (date!(2027 - 01 - 01), "元日"),
            (date!(2027 - 12 - 31), "大晦日"),
        ]),
    )
    .await?;
    assert_eq!(s.remove_imported_holidays(t, 2027).await?, 2);
    assert_eq!(
        dates(&s.imported_holidays(t).await?),
        [date!(2026 - 12 - 31)]
    );
    assert_eq!(
        s.remove_imported_holidays(t, 2027).await?,
        0,
        "twice is harmless"
    );
    Ok(())
}

async fn the_year_end_closure_is_set_changed_and_removed<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "nenmatsu").await?.id;
    let other = tenant(s, "yoso").await?.id;
    let longer = closure((12, 28), (1, 4));
    s.set_year_end_closure(t, Some(longer)).await?;
    assert_eq!(s.year_end_closure(t).await?, Some(longer));
    s.set_year_end_closure(t, None).await?;
    assert_eq!(
        s.year_end_closure(t).await?,
        None,
        "a city without a closure"
    );
    let within_the_year = closure((12, 1), (12, 3));
    s.set_year_end_closure(t, Some(within_the_year)).await?;
    assert_eq!(s.year_end_closure(t).await?, Some(within_the_year));
    assert_eq!(
        s.year_end_closure(other).await?,
        Some(YearEndClosure::default()),
        "another tenant keeps the default"
    );
    Ok(())
}

async fn closing_rules_of_every_kind_come_back_in_the_order_they_were_added<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kyukan").await?.id;
    let kominkan = office(s, t, "kominkan").await?;
    let _library = office(s, t, "toshokan").await?;
    let mut ids = Vec::new();
    for rule in every_kind() {
        let stored = s.add_office_closing_rule(t, kominkan, &rule).await?;
        assert_eq!(stored.rule, rule);
        ids.push(stored.id);
    }
    let calendar = s.office_calendar(t, kominkan).await?;
    assert_eq!(calendar.rules.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(calendar.closing_days().rules, every_kind());
    assert!(!calendar.open_on_weekends_and_holidays);
    let all = s.office_calendars(t).await?;
    assert_eq!(all.len(), 1, "only the office with rules is listed");
    assert_eq!(all[0], calendar);

    s.remove_office_closing_rule(t, kominkan, ids[1]).await?;
    assert_not_found(s.remove_office_closing_rule(t, kominkan, ids[1]).await);
    let left: Vec<ClosingRule> = s.office_calendar(t, kominkan).await?.closing_days().rules;
    let mut expected = every_kind();
    expected.remove(1);
    assert_eq!(left, expected);
    Ok(())
}

async fn the_weekend_and_holiday_opening_is_kept_with_or_without_rules<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kaikan").await?.id;
    let gym = office(s, t, "taiikukan").await?;
    s.set_office_open_on_weekends_and_holidays(t, gym, true)
        .await?;
    let listed = s.office_calendars(t).await?;
    assert_eq!(
        listed.len(),
        1,
        "an office open on weekends is listed without rules"
    );
    assert!(listed[0].open_on_weekends_and_holidays);
    assert!(listed[0].rules.is_empty());
    let rule = every_kind().remove(0);
    s.add_office_closing_rule(t, gym, &rule).await?;
    s.set_office_open_on_weekends_and_holidays(t, gym, false)
        .await?;
    let calendar = s.office_calendar(t, gym).await?;
    assert!(!calendar.open_on_weekends_and_holidays);
    assert_eq!(calendar.closing_days().rules, vec![rule], "the rule stays");
    Ok(())
}

async fn replacing_an_office_calendar_swaps_the_whole_set<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "okikae").await?.id;
    let library = office(s, t, "toshokan").await?;
    for rule in every_kind() {
        s.add_office_closing_rule(t, library, &rule).await?;
    }
    let wanted = OfficeClosingDays {
        open_on_weekends_and_holidays: true,
        rules: vec![
            ClosingRule::MonthlyWeekday {
                week: WeekOfMonth::Last,
                weekday: Weekday::Thursday,
            },
            ClosingRule::Weekly {
                weekday: Weekday::Monday,
                on_holiday: OnHoliday::StayClosed,
            },
        ],
    };
    let replaced = s.replace_office_calendar(t, library, &wanted).await?;
    assert_eq!(replaced.closing_days(), wanted);
    let read = s.office_calendar(t, library).await?;
    assert_eq!(
        read, replaced,
        "the ids returned are the stored ones, in order"
    );
    let emptied = s
        .replace_office_calendar(t, library, &OfficeClosingDays::default())
        .await?;
    assert!(emptied.rules.is_empty());
    assert_eq!(
        s.office_calendar(t, library).await?.closing_days(),
        OfficeClosingDays::default()
    );
    Ok(())
}

async fn another_tenants_office_cannot_be_read_or_given_closing_days<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let mine = tenant(s, "jibun").await?.id;
    let theirs = tenant(s, "tanin").await?.id;
    let their_office = office(s, theirs, "honkan").await?;
    let rule = every_kind().remove(2);
    let stored = s
        .add_office_closing_rule(theirs, their_office, &rule)
        .await?;

    assert_not_found(s.office_calendar(mine, their_office).await);
    assert_not_found(s.add_office_closing_rule(mine, their_office, &rule).await);
    assert_not_found(
        s.set_office_open_on_weekends_and_holidays(mine, their_office, true)
            .await,
    );
    assert_not_found(
        s.replace_office_calendar(mine, their_office, &OfficeClosingDays::default())
            .await,
    );
    assert_not_found(
        s.remove_office_closing_rule(mine, their_office, stored.id)
            .await,
    );
    assert_not_found(
        s.office_calendar(mine, OfficeId(uuid::Uuid::now_v7()))
            .await,
    );
    assert!(s.office_calendars(mine).await?.is_empty());
    let theirs_now = s.office_calendar(theirs, their_office).await?;
    assert_eq!(theirs_now.closing_days().rules, vec![rule], "untouched");
    assert!(!theirs_now.open_on_weekends_and_holidays);
    Ok(())
}

async fn the_database_refuses_a_period_that_ends_before_it_starts<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "gyaku").await?.id;
    let hall = office(s, t, "hall").await?;
    let reversed = ClosingRule::Period {
        first: date!(2027 - 09 - 30),
        last: date!(2027 - 07 - 01),
        note: None,
    };
    match s.add_office_closing_rule(t, hall, &reversed).await {
        Err(StorageError::Constraint { .. }) => {}
        other => panic!("expected a constraint violation, got {other:?}"),
    }
    let too_long = ClosingRule::Date {
        date: date!(2027 - 04 - 01),
        note: Some("長".repeat(101)),
    };
    match s.add_office_closing_rule(t, hall, &too_long).await {
        Err(StorageError::Constraint { .. }) => {}
        other => panic!("expected a constraint violation, got {other:?}"),
    }
    assert!(s.office_calendar(t, hall).await?.rules.is_empty());
    Ok(())
}

async fn simultaneous_imports_leave_one_complete_list<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "doji").await?.id;
    // Eight lists of 2027, each with its own number of days: whatever order the imports run
    // in, the year ends up as exactly one of them, never a mixture.
    let lists: Vec<ImportedHolidays> = (1..=8u8)
        .map(|n| {
            ImportedHolidays::new(
                (1..=n)
                    .map(|day| ImportedHoliday {
                        date: Date::from_calendar_date(2027, time::Month::March, day)
                            .expect("valid date"),
                        name: format!("記念日{n}"),
                    })
                    .collect(),
            )
            .expect("no date twice")
        })
        .collect();
    let results = join_all(lists.iter().map(|l| {
        let s = s.clone();
        let l = l.clone();
        tokio::spawn(async move { s.replace_imported_holidays(t, &l).await })
    }))
    .await;
    for result in results {
        if let Err(e) = result? {
            panic!("an import failed instead of waiting its turn: {e}");
        }
    }
    let stored = s.imported_holidays(t).await?;
    assert!(
        lists.contains(&stored),
        "the year is one complete list: {stored:?}"
    );
    Ok(())
}
