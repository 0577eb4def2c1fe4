//! The lottery contract: a draw opened with its seed's commitment, applications filed under
//! the applicant's cap, and the draw recorded once with each application's place and win, one
//! set of stories run against SQLite and PostgreSQL on a fresh database each. The stored
//! record verifies byte for byte; a draw that missed an application is refused.

use madoguchi_domain::{ErrorCode, TenantId};
use madoguchi_facilities::{
    ApplicantId, Application, ApplicationId, AuditRecord, ClassRules, FacilityId, LotteryRules,
    Seed, UnitId, UnitSlot, UserClass, verify,
};
use madoguchi_storage::{ActorKind, Facility, NewAuditEntry, NewLottery, StorageError};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::Duration;
use time::macros::date;
use uuid::Uuid;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_draw_is_recorded_once_and_verifies_byte_for_byte,
    an_applicant_files_up_to_the_cap_and_nothing_after_the_draw,
    a_draw_that_missed_an_application_is_refused,
    another_city_sees_none_of_it,
);

const HALL: UnitId = UnitId(Uuid::from_u128(0x300));

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

fn hall() -> Facility {
    let yen = serde_json::json!({"base": {"per": "band", "yen": {"morning": 4000, "afternoon": 5000, "night": 6000}}});
    Facility {
        id: FacilityId::new(),
        code: "hall".into(),
        name_ja: "文化センター大ホール".into(),
        name_en: "Culture Centre Hall".into(),
        office: None,
        layout: serde_json::from_value(serde_json::json!({
            "units": [{"id": HALL, "name_ja": "大ホール", "name_en": "Main hall", "capacity_people": 800}]
        }))
        .unwrap(),
        time_rules: madoguchi_facilities::TimeRules::default_bands().unwrap(),
        fee_table: serde_json::from_value(serde_json::json!({
            "revenue_category": "facility_fee",
            "units": [{"unit": HALL, "city": yen}],
            "outside_percent": 150
        }))
        .unwrap(),
        refund_rule: serde_json::from_value(serde_json::json!({"tiers": []})).unwrap(),
    }
}

fn slot(day: u8, band: &str) -> UnitSlot {
    UnitSlot {
        date: date!(2030 - 08 - 01).replace_day(day).unwrap(),
        band: madoguchi_facilities::BandCode::parse(band).unwrap(),
        unit: HALL,
    }
}

fn rules() -> LotteryRules {
    LotteryRules::standard(&ClassRules::default()).unwrap()
}

async fn opened<S: Backend>(s: &S, slug: &str) -> anyhow::Result<(TenantId, Facility, Uuid, Seed)> {
    let t = tenant(s, slug).await?.id;
    let facility = hall();
    s.save_facility(t, &facility, T0, &audit("facility.saved"))
        .await?;
    let seed = Seed::from_bytes([7; 32]);
    let id = Uuid::now_v7();
    let draw = s
        .open_lottery(
            t,
            &NewLottery {
                id,
                facility: facility.id,
                use_month: "2030-08".into(),
                rules: rules(),
                slots: vec![slot(3, "morning"), slot(3, "afternoon"), slot(4, "night")],
                seed,
                at: T0,
            },
            &audit("lottery.opened"),
        )
        .await?;
    assert_eq!(draw.commitment, seed.commitment());
    assert!(draw.drawn.is_none());
    Ok((t, facility, id, seed))
}

fn application(applicant: ApplicantId, choices: Vec<UnitSlot>) -> Application {
    Application {
        id: ApplicationId::new(),
        applicant,
        class: UserClass::Resident,
        choices,
    }
}

async fn file<S: Backend>(
    s: &S,
    t: TenantId,
    draw: Uuid,
    application: &Application,
) -> Result<(), StorageError> {
    s.file_lottery_application(t, draw, application, None, 4, T0, &audit("lottery.applied"))
        .await
}

async fn a_draw_is_recorded_once_and_verifies_byte_for_byte<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, facility, draw, seed) = opened(s, "kita").await?;
    for n in 0..6u128 {
        let who = ApplicantId(Uuid::from_u128(0x1000 + n));
        file(
            s,
            t,
            draw,
            &application(who, vec![slot(3, "morning"), slot(3, "afternoon")]),
        )
        .await?;
    }
    let filed = s.lottery_applications(t, draw).await?;
    assert_eq!(filed.len(), 6);
    assert!(
        filed
            .iter()
            .all(|f| f.served_rank.is_none() && f.won.is_none())
    );
    assert_eq!(s.lottery_seed(t, draw).await?, seed);
    let opened = s.lottery(t, draw).await?;
    let record = AuditRecord::draw(
        opened.rules.clone(),
        facility.layout.clone(),
        opened.slots.clone(),
        filed.iter().map(|f| f.application.clone()).collect(),
        s.lottery_seed(t, draw).await?,
    )?;
    let at = T0 + Duration::days(12);
    let drawn = s
        .record_lottery_draw(t, draw, &record, at, &audit("lottery.drawn"))
        .await?;
    let stored = drawn.drawn.clone().unwrap();
    assert_eq!(stored.bytes, record.to_bytes());
    assert_eq!(stored.sha256, record.sha256_hex());
    assert_eq!(stored.at, at);
    verify(&stored.bytes)?;
    // Each application knows its place and its win; two slots, six applicants.
    let after = s.lottery_applications(t, draw).await?;
    let mut ranks: Vec<u32> = after.iter().filter_map(|f| f.served_rank).collect();
    ranks.sort();
    assert_eq!(ranks, (0..6).collect::<Vec<_>>());
    assert_eq!(after.iter().filter(|f| f.won.is_some()).count(), 2);
    for f in &after {
        if let Some(won) = &f.won {
            assert_eq!(record.winner(won), Some(f.application.id));
        }
    }
    // Drawn once: a second draw and a late application are refused and change nothing.
    assert!(matches!(
        s.record_lottery_draw(t, draw, &record, at, &audit("lottery.drawn"))
            .await,
        Err(StorageError::FacilityRule(ErrorCode::LotteryDrawn))
    ));
    let late = application(ApplicantId(Uuid::from_u128(0x2000)), vec![slot(4, "night")]);
    assert!(matches!(
        file(s, t, draw, &late).await,
        Err(StorageError::FacilityRule(ErrorCode::LotteryDrawn))
    ));
    assert_eq!(s.lottery(t, draw).await?.drawn, Some(stored));
    assert_eq!(s.lottery_applications(t, draw).await?.len(), 6);
    Ok(())
}

async fn an_applicant_files_up_to_the_cap_and_nothing_after_the_draw<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, facility, draw, _) = opened(s, "minami").await?;
    let who = ApplicantId(Uuid::from_u128(0x42));
    for _ in 0..4 {
        file(s, t, draw, &application(who, vec![slot(4, "night")])).await?;
    }
    assert!(matches!(
        file(s, t, draw, &application(who, vec![slot(4, "night")])).await,
        Err(StorageError::FacilityRule(ErrorCode::LotteryOverCap))
    ));
    assert_eq!(s.lottery_applications(t, draw).await?.len(), 4);
    // A second draw for the same facility and month is refused.
    let again = s
        .open_lottery(
            t,
            &NewLottery {
                id: Uuid::now_v7(),
                facility: facility.id,
                use_month: "2030-08".into(),
                rules: rules(),
                slots: vec![slot(3, "morning")],
                seed: Seed::from_bytes([9; 32]),
                at: T0,
            },
            &audit("lottery.opened"),
        )
        .await;
    assert!(
        matches!(again, Err(StorageError::Duplicate { .. })),
        "{again:?}"
    );
    Ok(())
}

async fn a_draw_that_missed_an_application_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, facility, draw, seed) = opened(s, "higashi").await?;
    file(
        s,
        t,
        draw,
        &application(ApplicantId(Uuid::from_u128(1)), vec![slot(3, "morning")]),
    )
    .await?;
    let inputs = s.lottery_applications(t, draw).await?;
    // One more is filed after the inputs were read.
    file(
        s,
        t,
        draw,
        &application(ApplicantId(Uuid::from_u128(2)), vec![slot(3, "morning")]),
    )
    .await?;
    let record = AuditRecord::draw(
        rules(),
        facility.layout.clone(),
        vec![slot(3, "morning"), slot(3, "afternoon"), slot(4, "night")],
        inputs.into_iter().map(|f| f.application).collect(),
        seed,
    )?;
    assert!(matches!(
        s.record_lottery_draw(t, draw, &record, T0, &audit("lottery.drawn"))
            .await,
        Err(StorageError::FacilityRule(ErrorCode::LotteryInputsChanged))
    ));
    assert!(s.lottery(t, draw).await?.drawn.is_none());
    assert!(
        s.lottery_applications(t, draw)
            .await?
            .iter()
            .all(|f| f.served_rank.is_none())
    );
    Ok(())
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, facility, draw, _) = opened(s, "nishi").await?;
    file(
        s,
        t,
        draw,
        &application(ApplicantId(Uuid::from_u128(1)), vec![slot(3, "morning")]),
    )
    .await?;
    let other = tenant(s, "yama").await?.id;
    assert!(matches!(
        s.lottery(other, draw).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.lottery_seed(other, draw).await,
        Err(StorageError::NotFound)
    ));
    assert!(s.lottery_applications(other, draw).await?.is_empty());
    assert!(matches!(
        file(
            s,
            other,
            draw,
            &application(ApplicantId(Uuid::from_u128(2)), vec![slot(3, "morning")])
        )
        .await,
        Err(StorageError::NotFound)
    ));
    let record = AuditRecord::draw(
        rules(),
        facility.layout.clone(),
        vec![slot(3, "morning")],
        vec![],
        Seed::from_bytes([1; 32]),
    )?;
    assert!(matches!(
        s.record_lottery_draw(other, draw, &record, T0, &audit("lottery.drawn"))
            .await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.open_lottery(
            other,
            &NewLottery {
                id: Uuid::now_v7(),
                facility: facility.id,
                use_month: "2030-09".into(),
                rules: rules(),
                slots: vec![slot(3, "morning")],
                seed: Seed::from_bytes([2; 32]),
                at: T0,
            },
            &audit("lottery.opened"),
        )
        .await,
        Err(StorageError::NotFound)
    ));
    assert_eq!(s.lottery_applications(t, draw).await?.len(), 1);
    Ok(())
}

/// `madoguchi lottery verify` through the real program: a published record checks (exit 0,
/// its SHA-256 as JSON); the same record with one winner swapped does not (exit 2, the code
/// named), nor does a record whose seed is not the committed one.
#[tokio::test]
async fn a_published_draw_is_verified_by_the_program_and_a_forged_one_is_not() -> anyhow::Result<()>
{
    let facility = hall();
    let applications: Vec<Application> = (0..5u128)
        .map(|n| {
            application(
                ApplicantId(Uuid::from_u128(n + 1)),
                vec![slot(3, "morning"), slot(4, "night")],
            )
        })
        .collect();
    let record = AuditRecord::draw(
        rules(),
        facility.layout,
        vec![slot(3, "morning"), slot(4, "night")],
        applications,
        Seed::from_bytes([5; 32]),
    )?;
    let dir = tempfile::tempdir()?;
    let run = |bytes: Vec<u8>, name: &str| {
        let path = dir.path().join(name);
        async move {
            std::fs::write(&path, bytes)?;
            let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_madoguchi-under-test"))
                .arg("lottery")
                .arg("verify")
                .arg(&path)
                .env("RUST_LOG", "warn")
                .output()
                .await?;
            anyhow::Ok((
                output.status.code().unwrap_or(-1),
                String::from_utf8(output.stdout)?,
                String::from_utf8(output.stderr)?,
            ))
        }
    };
    let (code, out, _) = run(record.to_bytes(), "draw.json").await?;
    assert_eq!(code, 0);
    let printed: serde_json::Value = serde_json::from_str(out.trim())?;
    assert_eq!(printed["verified"], true);
    assert_eq!(printed["sha256"], record.sha256_hex());
    assert_eq!(printed["applications"], 5);
    // A forged outcome: the first slot's winner replaced by another applicant.
    let mut forged = record.clone();
    let other = forged
        .applications
        .iter()
        .map(|a| a.id)
        .find(|id| *id != forged.outcome.winners[0].application)
        .unwrap();
    forged.outcome.winners[0].application = other;
    let (code, _, err) = run(forged.to_bytes(), "forged.json").await?;
    assert_eq!(code, 2);
    assert!(err.contains("lottery_outcome_mismatch"), "{err}");
    // A seed other than the committed one.
    let mut reseeded = record.clone();
    reseeded.seed = Seed::from_bytes([6; 32]);
    let (code, _, err) = run(reseeded.to_bytes(), "reseeded.json").await?;
    assert_eq!(code, 2);
    assert!(err.contains("lottery_commitment_mismatch"), "{err}");
    let (code, _, _) = run(b"not json".to_vec(), "junk.json").await?;
    assert_eq!(code, 2);
    Ok(())
}
