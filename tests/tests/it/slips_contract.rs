//! The convenience-store slips contract: settings, batch issue and reissue, one set of stories
//! run against SQLite and PostgreSQL on a fresh database each. References are drawn in order
//! and never twice, a receivable has one slip in force, a superseded barcode is still found,
//! and a refusal writes nothing.

use madoguchi_domain::{ErrorCode, ReceivableId, TenantId};
use madoguchi_konbini::{CompanyCode, SlipBarcode};
use madoguchi_payments::{PaymentAmount, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{
    ActorKind, Agency, AuditFilter, Cycle, KonbiniSettings, NewAuditEntry, NewReceivable,
    NewSlipBatch, SlipReissue, StorageError,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::Date;
use time::macros::date;
use uuid::Uuid;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_cycle_is_issued_once_with_references_drawn_in_order,
    without_settings_nothing_is_issued_and_nothing_is_written,
    a_reissue_supersedes_the_slip_and_the_old_barcode_is_still_found,
    a_reissue_is_refused_past_nine_over_the_outstanding_amount_and_once_paid,
    another_city_sees_none_of_it,
);

on_both_databases!(wide: two_batches_of_one_cycle_at_once_issue_each_slip_once);

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

fn water() -> RevenueCategoryCode {
    RevenueCategoryCode::parse("water_charge").unwrap()
}

fn settings(code: &str) -> KonbiniSettings {
    KonbiniSettings {
        company_code: CompanyCode::parse(code).unwrap(),
        agency: Agency::Dsk,
    }
}

async fn city<S: Backend>(s: &S, slug: &str, code: Option<&str>) -> anyhow::Result<TenantId> {
    let t = tenant(s, slug).await?;
    for c in RevenueCategory::standard() {
        s.save_revenue_category(t.id, &c).await?;
    }
    if let Some(code) = code {
        s.save_konbini_settings(t.id, &settings(code), T0, &audit("slips.configured"))
            .await?;
    }
    Ok(t.id)
}

async fn bill<S: Backend>(
    s: &S,
    t: TenantId,
    category: &str,
    yen: i64,
    due_on: Date,
) -> anyhow::Result<ReceivableId> {
    let id = ReceivableId::new();
    s.create_receivable(
        t,
        &NewReceivable {
            id,
            category: RevenueCategoryCode::parse(category).unwrap(),
            description: "上下水道料金".into(),
            payer_account: None,
            payer_name: "山田 太郎".into(),
            office: None,
            fiscal_year: 2030,
            due_on,
            amount: PaymentAmount::new(yen).unwrap(),
            source: None,
            at: T0,
        },
        &audit("receivable.assessed"),
    )
    .await?;
    Ok(id)
}

fn batch(cycle: &str) -> NewSlipBatch {
    NewSlipBatch {
        id: Uuid::now_v7(),
        category: water(),
        cycle: Cycle::parse(cycle).unwrap(),
        at: T0 + secs(60),
    }
}

fn reissue(receivable: ReceivableId, due_on: Date, amount_yen: Option<i64>) -> SlipReissue {
    SlipReissue {
        id: Uuid::now_v7(),
        receivable,
        due_on,
        amount_yen,
        at: T0 + secs(3600),
    }
}

fn slip_rule(result: Result<impl std::fmt::Debug, StorageError>) -> ErrorCode {
    match result {
        Err(StorageError::SlipRule(code)) => code,
        other => panic!("expected a slip rule, got {other:?}"),
    }
}

async fn audited<S: Backend>(s: &S, t: TenantId, action: &str) -> anyhow::Result<usize> {
    let entries = s
        .list_audit(
            t,
            &AuditFilter {
                action_prefix: Some(action.into()),
                limit: 100,
                ..AuditFilter::default()
            },
        )
        .await?;
    Ok(entries.len())
}

async fn a_cycle_is_issued_once_with_references_drawn_in_order<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "midori", Some("912345")).await?;
    let first = bill(s, t, "water_charge", 3_980, date!(2030 - 05 - 10)).await?;
    let second = bill(s, t, "water_charge", 12_400, date!(2030 - 05 - 31)).await?;
    let large = bill(s, t, "water_charge", 300_000, date!(2030 - 05 - 31)).await?;
    // Another month, another category: not in the cycle.
    bill(s, t, "water_charge", 2_000, date!(2030 - 06 - 01)).await?;
    bill(s, t, "sewer_charge", 2_000, date!(2030 - 05 - 15)).await?;

    let issued = s
        .issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    assert_eq!(issued.batch.slips, 2);
    assert_eq!(issued.batch.total_yen, 3_980 + 12_400);
    assert_eq!(issued.batch.cycle, "2030-05");
    let found: Vec<_> = issued
        .slips
        .iter()
        .map(|slip| {
            (
                slip.receivable,
                slip.reference_no,
                slip.amount_yen,
                slip.due_on,
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (first, 1, 3_980, date!(2030 - 05 - 10)),
            (second, 2, 12_400, date!(2030 - 05 - 31)),
        ]
    );
    for slip in &issued.slips {
        let read = SlipBarcode::parse(&slip.barcode.to_string()).unwrap();
        let fields = read.fields();
        assert_eq!(fields.company.to_string(), "912345");
        assert_eq!(
            fields.reference.to_string(),
            format!("{:021}", slip.reference_no)
        );
        assert_eq!(fields.reissue, 0);
        assert_eq!(fields.due, Some(slip.due_on));
        assert_eq!(fields.amount.map(i64::from), Some(slip.amount_yen));
        assert!(read.is_issuable());
        assert_eq!(slip.payer_name, "山田 太郎");
        assert_eq!(slip.superseded_at, None);
    }
    assert_eq!(issued.skipped.len(), 1);
    assert_eq!(issued.skipped[0].receivable, large);
    assert_eq!(issued.skipped[0].reason, ErrorCode::SlipAmountTooLarge);
    assert_eq!(audited(s, t, "slips.issued").await?, 1);

    // The same cycle again: nothing to issue, nothing written.
    assert_eq!(
        slip_rule(
            s.issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
                .await
        ),
        ErrorCode::SlipNothingToIssue
    );
    assert_eq!(audited(s, t, "slips.issued").await?, 1);
    assert_eq!(s.slip_batches(t, 10).await?.len(), 1);

    // A receivable added later gets the next reference in a batch of its own.
    let late = bill(s, t, "water_charge", 1_100, date!(2030 - 05 - 20)).await?;
    let again = s
        .issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    assert_eq!(again.slips.len(), 1);
    assert_eq!(
        (again.slips[0].receivable, again.slips[0].reference_no),
        (late, 3)
    );
    let batches = s.slip_batches(t, 10).await?;
    assert_eq!(batches.len(), 2);
    assert_eq!(s.slips_of_batch(t, issued.batch.id).await?, issued.slips);
    assert_eq!(s.slip_batch(t, issued.batch.id).await?, issued.batch);
    Ok(())
}

async fn without_settings_nothing_is_issued_and_nothing_is_written<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "midori", None).await?;
    let r = bill(s, t, "water_charge", 3_980, date!(2030 - 05 - 10)).await?;
    assert_eq!(s.konbini_settings(t).await?, None);
    assert_eq!(
        slip_rule(
            s.issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
                .await
        ),
        ErrorCode::SlipsNotConfigured
    );
    assert_eq!(
        slip_rule(
            s.reissue_slip(
                t,
                &reissue(r, date!(2030 - 06 - 30), None),
                &audit("slips.reissued")
            )
            .await
        ),
        ErrorCode::SlipsNotConfigured
    );
    assert!(s.slips_of_receivable(t, r).await?.is_empty());
    assert_eq!(audited(s, t, "slips.").await?, 0);

    // Settings saved twice keep one row; the company code changes.
    s.save_konbini_settings(t, &settings("912345"), T0, &audit("slips.configured"))
        .await?;
    s.save_konbini_settings(t, &settings("900001"), T0, &audit("slips.configured"))
        .await?;
    assert_eq!(s.konbini_settings(t).await?, Some(settings("900001")));
    Ok(())
}

async fn a_reissue_supersedes_the_slip_and_the_old_barcode_is_still_found<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "midori", Some("912345")).await?;
    let r = bill(s, t, "water_charge", 3_980, date!(2030 - 05 - 10)).await?;
    let issued = s
        .issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    let old = issued.slips[0].clone();

    let new = s
        .reissue_slip(
            t,
            &reissue(r, date!(2030 - 06 - 30), None),
            &audit("slips.reissued"),
        )
        .await?;
    assert_eq!(new.reference_no, old.reference_no);
    assert_eq!(new.reissue, 1);
    assert_eq!(new.amount_yen, 3_980);
    assert_eq!(new.due_on, date!(2030 - 06 - 30));
    assert_eq!(new.batch, None);
    assert_ne!(new.barcode, old.barcode);
    assert_eq!(new.barcode.fields().reissue, 1);

    // The old barcode is still recognised, as superseded.
    let found = s.slip_by_barcode(t, &old.barcode.to_string()).await?;
    assert_eq!(found.id, old.id);
    assert_eq!(found.superseded_at, Some(T0 + secs(3600)));
    let all = s.slips_of_receivable(t, r).await?;
    assert_eq!(all.len(), 2);
    assert_eq!(
        all.iter()
            .filter(|slip| slip.superseded_at.is_none())
            .count(),
        1
    );
    assert_eq!(audited(s, t, "slips.reissued").await?, 1);

    // A smaller amount (an instalment) is allowed.
    let part = s
        .reissue_slip(
            t,
            &reissue(r, date!(2030 - 07 - 31), Some(1_000)),
            &audit("slips.reissued"),
        )
        .await?;
    assert_eq!((part.reissue, part.amount_yen), (2, 1_000));
    assert!(matches!(
        s.slip_by_barcode(t, "91912345000000000000000000099").await,
        Err(StorageError::NotFound)
    ));
    Ok(())
}

async fn a_reissue_is_refused_past_nine_over_the_outstanding_amount_and_once_paid<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "midori", Some("912345")).await?;
    let r = bill(s, t, "water_charge", 3_980, date!(2030 - 05 - 10)).await?;
    // No slip yet: nothing to reissue.
    assert_eq!(
        slip_rule(
            s.reissue_slip(
                t,
                &reissue(r, date!(2030 - 06 - 30), None),
                &audit("slips.reissued")
            )
            .await
        ),
        ErrorCode::SlipNotReissuable
    );
    s.issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    assert_eq!(
        slip_rule(
            s.reissue_slip(
                t,
                &reissue(r, date!(2030 - 06 - 30), Some(3_981)),
                &audit("slips.reissued")
            )
            .await
        ),
        ErrorCode::PaymentExceedsOutstanding
    );
    for _ in 1..=9 {
        s.reissue_slip(
            t,
            &reissue(r, date!(2030 - 06 - 30), None),
            &audit("slips.reissued"),
        )
        .await?;
    }
    assert_eq!(
        slip_rule(
            s.reissue_slip(
                t,
                &reissue(r, date!(2030 - 06 - 30), None),
                &audit("slips.reissued")
            )
            .await
        ),
        ErrorCode::SlipReissueLimit
    );
    assert_eq!(s.slips_of_receivable(t, r).await?.len(), 10);
    assert_eq!(audited(s, t, "slips.reissued").await?, 9);

    // Once cancelled, nothing is outstanding: no reissue.
    let other = bill(s, t, "water_charge", 500, date!(2030 - 08 - 10)).await?;
    s.issue_slips(t, &batch("2030-08"), &audit("slips.issued"))
        .await?;
    s.close_receivable(
        t,
        other,
        false,
        "誤調定",
        T0,
        &audit("receivable.cancelled"),
    )
    .await?;
    assert_eq!(
        slip_rule(
            s.reissue_slip(
                t,
                &reissue(other, date!(2030 - 09 - 30), None),
                &audit("slips.reissued")
            )
            .await
        ),
        ErrorCode::SlipNotReissuable
    );
    Ok(())
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let midori = city(s, "midori", Some("912345")).await?;
    let aoba = city(s, "aoba", Some("912346")).await?;
    let r = bill(s, midori, "water_charge", 3_980, date!(2030 - 05 - 10)).await?;
    let issued = s
        .issue_slips(midori, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    let barcode = issued.slips[0].barcode.to_string();
    assert!(matches!(
        s.slip_by_barcode(aoba, &barcode).await,
        Err(StorageError::NotFound)
    ));
    assert!(matches!(
        s.slip_batch(aoba, issued.batch.id).await,
        Err(StorageError::NotFound)
    ));
    assert!(s.slips_of_batch(aoba, issued.batch.id).await?.is_empty());
    assert!(s.slips_of_receivable(aoba, r).await?.is_empty());
    assert!(s.slip_batches(aoba, 10).await?.is_empty());
    assert!(matches!(
        s.reissue_slip(
            aoba,
            &reissue(r, date!(2030 - 06 - 30), None),
            &audit("slips.reissued")
        )
        .await,
        Err(StorageError::SlipRule(ErrorCode::SlipNotReissuable) | StorageError::NotFound)
    ));
    // Aoba's own references start at 1: each city has its own counter.
    bill(s, aoba, "water_charge", 100, date!(2030 - 05 - 10)).await?;
    let theirs = s
        .issue_slips(aoba, &batch("2030-05"), &audit("slips.issued"))
        .await?;
    assert_eq!(theirs.slips[0].reference_no, 1);
    Ok(())
}

async fn two_batches_of_one_cycle_at_once_issue_each_slip_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = city(s, "midori", Some("912345")).await?;
    for n in 0..40 {
        bill(s, t, "water_charge", 1_000 + n, date!(2030 - 05 - 10)).await?;
    }
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.issue_slips(t, &batch("2030-05"), &audit("slips.issued"))
                    .await
            })
        })
        .collect();
    let mut issued = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await? {
            Ok(batch) => issued += batch.slips.len(),
            Err(StorageError::SlipRule(ErrorCode::SlipNothingToIssue)) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(issued, 40);
    assert_eq!(refused, 5);
    let batches = s.slip_batches(t, 10).await?;
    assert_eq!(batches.len(), 1);
    let slips = s.slips_of_batch(t, batches[0].id).await?;
    let references: Vec<_> = slips.iter().map(|slip| slip.reference_no).collect();
    assert_eq!(references, (1..=40).collect::<Vec<_>>());
    Ok(())
}
