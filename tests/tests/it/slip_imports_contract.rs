//! The contract of importing the agency's payment data, on SQLite and PostgreSQL: a 速報 pays
//! the slip's receivable and its 確報 confirms it; odd lines are posted and flagged, never
//! refused; a 速報取消 takes the money back; every line applies once however often it is sent;
//! the ledger balances after every story and another city sees none of it. A preview decides
//! exactly as applying does and writes nothing; an uploaded file is claimed once.

use madoguchi_domain::{ReceivableId, TenantId};
use madoguchi_konbini::apply::Exception;
use madoguchi_konbini::dsk::{Chain, PaymentRecord, RecordKind};
use madoguchi_konbini::{CompanyCode, Reference, SlipBarcode, StampFlag};
use madoguchi_payments::{PaymentAmount, ReceivableStatus, RevenueCategory, RevenueCategoryCode};
use madoguchi_storage::{
    ActorKind, Agency, Cycle, ImportStart, IssuedSlip, KonbiniSettings, NewAuditEntry,
    NewKonbiniImport, NewKonbiniUpload, NewReceivable, NewSlipBatch, UploadState,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use time::macros::{date, time};
use uuid::Uuid;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    a_sokuho_pays_the_slip_and_its_kakuho_confirms_it,
    odd_lines_are_posted_and_flagged_and_a_cancel_takes_the_money_back,
    every_line_applies_once_however_often_it_is_sent,
    another_city_sees_none_of_it,
    a_preview_decides_as_the_import_does_and_writes_nothing,
    an_uploaded_file_is_applied_by_one_claim,
);

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

/// A city with slip settings and `amounts` water bills due in May 2030, their slips issued.
async fn city_with_slips<S: Backend>(
    s: &S,
    slug: &str,
    amounts: &[i64],
) -> anyhow::Result<(TenantId, Vec<IssuedSlip>)> {
    let t = tenant(s, slug).await?.id;
    for c in RevenueCategory::standard() {
        s.save_revenue_category(t, &c).await?;
    }
    let settings = KonbiniSettings {
        company_code: CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?,
        agency: Agency::Dsk,
    };
    s.save_konbini_settings(t, &settings, T0, &audit("slips.configured"))
        .await?;
    for yen in amounts {
        s.create_receivable(
            t,
            &NewReceivable {
                id: ReceivableId::new(),
                category: RevenueCategoryCode::parse("water_charge").unwrap(),
                description: "上下水道料金".into(),
                payer_account: None,
                payer_name: "山田 太郎".into(),
                office: None,
                fiscal_year: 2030,
                due_on: date!(2030 - 05 - 31),
                amount: PaymentAmount::new(*yen).unwrap(),
                source: None,
                at: T0,
            },
            &audit("receivable.assessed"),
        )
        .await?;
    }
    if amounts.is_empty() {
        return Ok((t, Vec::new()));
    }
    let batch = NewSlipBatch {
        id: Uuid::now_v7(),
        category: RevenueCategoryCode::parse("water_charge").unwrap(),
        cycle: Cycle::parse("2030-05").unwrap(),
        at: T0,
    };
    let issued = s.issue_slips(t, &batch, &audit("slips.issued")).await?;
    Ok((t, issued.slips))
}

fn line(kind: RecordKind, barcode: SlipBarcode, amount_yen: u32, store: &str) -> PaymentRecord {
    PaymentRecord {
        kind,
        paid_on: date!(2030 - 05 - 20),
        paid_at: time!(14:05:09),
        barcode,
        user_field_1: String::new(),
        user_field_2: String::new(),
        stamp: StampFlag::None,
        amount_yen,
        chain: Chain::parse("010").unwrap(),
        chain_name: "セブン－イレブン".into(),
        store_code: store.into(),
        transfer_on: (kind == RecordKind::Kakuho).then_some(date!(2030 - 05 - 27)),
        created_on: date!(2030 - 05 - 21),
    }
}

async fn start<S: Backend>(s: &S, t: TenantId, checksum: char) -> anyhow::Result<Uuid> {
    let new = NewKonbiniImport {
        id: Uuid::now_v7(),
        agency: Agency::Dsk,
        file_name: "sokuho.csv".into(),
        checksum: checksum.to_string().repeat(64),
        lines: 1,
        at: T0,
    };
    match s
        .start_konbini_import(t, &new, &audit("slips.imported"))
        .await?
    {
        ImportStart::Fresh(import) => Ok(import.id),
        other => anyhow::bail!("expected a fresh import, got {other:?}"),
    }
}

async fn assert_balanced<S: Backend>(s: &S, t: TenantId) -> anyhow::Result<i64> {
    let rows = s.trial_balance(t, None, date!(2099 - 12 - 31)).await?;
    let debit: i64 = rows.iter().map(|r| r.debit_yen).sum();
    let credit: i64 = rows.iter().map(|r| r.credit_yen).sum();
    assert_eq!(debit, credit, "the ledger balances: {rows:?}");
    // What the convenience-store clearing account holds: what the agency owes us.
    Ok(rows
        .iter()
        .find(|r| r.account == "clearing:konbini")
        .map_or(0, |r| r.debit_yen - r.credit_yen))
}

async fn a_sokuho_pays_the_slip_and_its_kakuho_confirms_it<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, slips) = city_with_slips(s, "midori", &[3_980]).await?;
    let slip = &slips[0];
    let import = start(s, t, 'a').await?;
    let sokuho = line(RecordKind::Sokuho, slip.barcode, 3_980, "000123");
    let outcome = s
        .apply_konbini_records(t, import, &[(2, sokuho.clone())], T0 + secs(60))
        .await?;
    assert_eq!(
        (outcome.applied, outcome.sokuho, outcome.exceptions),
        (1, 1, 0)
    );
    let receivable = s.receivable(t, slip.receivable).await?;
    assert_eq!(receivable.status, ReceivableStatus::Paid);
    assert_eq!(assert_balanced(s, t).await?, 3_980);
    let lines = s
        .konbini_lines_of_barcode(t, &slip.barcode.to_string())
        .await?;
    assert_eq!(lines.len(), 1);
    assert!(lines[0].payment.is_some() && lines[0].confirmed_at.is_none());

    // The 確報 comes in the next file: confirmed, nothing posted twice.
    let next = start(s, t, 'b').await?;
    let kakuho = line(RecordKind::Kakuho, slip.barcode, 3_980, "000123");
    let outcome = s
        .apply_konbini_records(t, next, &[(2, kakuho)], T0 + secs(120))
        .await?;
    assert_eq!(
        (outcome.applied, outcome.kakuho, outcome.exceptions),
        (1, 1, 0)
    );
    let lines = s
        .konbini_lines_of_barcode(t, &slip.barcode.to_string())
        .await?;
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].confirmed_at, Some(T0 + secs(120)));
    assert_eq!(assert_balanced(s, t).await?, 3_980);
    let done = s
        .finish_konbini_import(t, next, T0 + secs(130), &audit("slips.import_finished"))
        .await?;
    assert!(done.done && done.kakuho == 1);
    assert!(s.konbini_exceptions(t, 10).await?.is_empty());
    Ok(())
}

async fn odd_lines_are_posted_and_flagged_and_a_cancel_takes_the_money_back<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, slips) = city_with_slips(s, "midori", &[3_980, 5_000, 1_200]).await?;
    let never_issued = SlipBarcode::issue(
        CompanyCode::parse("912345").map_err(|e| anyhow::anyhow!("{e}"))?,
        Reference::from_number(999_999),
        0,
        date!(2030 - 05 - 31),
        700,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let import = start(s, t, 'c').await?;
    let records = vec![
        (2, line(RecordKind::Sokuho, never_issued, 700, "000001")),
        (
            3,
            line(RecordKind::Sokuho, slips[0].barcode, 3_000, "000002"),
        ),
        (
            4,
            line(RecordKind::Sokuho, slips[1].barcode, 5_000, "000003"),
        ),
        // The same slip paid again at another store.
        (
            5,
            line(RecordKind::Sokuho, slips[1].barcode, 5_000, "000004"),
        ),
        (
            6,
            line(RecordKind::SokuhoCancel, slips[2].barcode, 1_200, "000005"),
        ),
        (
            7,
            line(RecordKind::Sokuho, slips[2].barcode, 1_200, "000006"),
        ),
        (
            8,
            line(RecordKind::SokuhoCancel, slips[2].barcode, 1_200, "000006"),
        ),
    ];
    let outcome = s
        .apply_konbini_records(t, import, &records, T0 + secs(60))
        .await?;
    assert_eq!(outcome.applied, 7);
    assert_eq!((outcome.sokuho, outcome.cancelled), (5, 2));
    let exceptions: Vec<_> = s
        .konbini_exceptions(t, 10)
        .await?
        .into_iter()
        .map(|l| (l.line_no, l.exception))
        .collect();
    assert_eq!(
        exceptions,
        vec![
            (2, Some(Exception::UnknownBarcode)),
            (3, Some(Exception::AmountMismatch)),
            (5, Some(Exception::DuplicatePayment)),
            (6, Some(Exception::CancelWithoutSokuho)),
        ]
    );
    assert_eq!(outcome.exceptions, 4);
    // Money the stores took stays in clearing: 700 + 3,000 + 5,000 + 5,000; the 1,200 taken
    // and cancelled is gone again.
    assert_eq!(assert_balanced(s, t).await?, 700 + 3_000 + 5_000 + 5_000);
    assert_eq!(
        s.receivable(t, slips[0].receivable).await?.status,
        ReceivableStatus::PartlyPaid
    );
    assert_eq!(
        s.receivable(t, slips[1].receivable).await?.status,
        ReceivableStatus::Overpaid
    );
    let cancelled = s.receivable(t, slips[2].receivable).await?;
    assert_eq!(cancelled.status, ReceivableStatus::Open);
    assert_eq!(cancelled.outstanding_yen(), 1_200);
    let lines = s
        .konbini_lines_of_barcode(t, &slips[2].barcode.to_string())
        .await?;
    let taken = lines.iter().find(|l| l.line_no == 7).unwrap();
    assert!(taken.cancelled_at.is_some());
    let payment = s.payment(t, taken.payment.unwrap()).await?;
    assert_eq!(payment.status, madoguchi_payments::PaymentStatus::Canceled);
    Ok(())
}

async fn every_line_applies_once_however_often_it_is_sent<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, slips) = city_with_slips(s, "midori", &[3_980, 2_000]).await?;
    let records = vec![
        (
            2,
            line(RecordKind::Sokuho, slips[0].barcode, 3_980, "000123"),
        ),
        (
            3,
            line(RecordKind::Sokuho, slips[1].barcode, 2_000, "000124"),
        ),
    ];
    let import = start(s, t, 'd').await?;
    let first = s
        .apply_konbini_records(t, import, &records[..1], T0 + secs(60))
        .await?;
    assert_eq!((first.applied, first.skipped), (1, 0));
    // Killed here; the same file started again resumes and skips what is stored.
    let again = NewKonbiniImport {
        id: Uuid::now_v7(),
        agency: Agency::Dsk,
        file_name: "sokuho.csv".into(),
        checksum: "d".repeat(64),
        lines: 2,
        at: T0 + secs(90),
    };
    let ImportStart::Resume(resumed) = s
        .start_konbini_import(t, &again, &audit("slips.imported"))
        .await?
    else {
        anyhow::bail!("expected to resume");
    };
    assert_eq!(resumed.id, import);
    let second = s
        .apply_konbini_records(t, import, &records, T0 + secs(100))
        .await?;
    assert_eq!((second.applied, second.skipped), (1, 1));
    let done = s
        .finish_konbini_import(t, import, T0 + secs(110), &audit("slips.import_finished"))
        .await?;
    assert_eq!((done.applied, done.sokuho), (2, 2));
    let ImportStart::AlreadyDone(_) = s
        .start_konbini_import(t, &again, &audit("slips.imported"))
        .await?
    else {
        anyhow::bail!("expected the finished import");
    };
    // The same lines in another file: nothing applied twice.
    let other = start(s, t, 'e').await?;
    let third = s
        .apply_konbini_records(t, other, &records, T0 + secs(200))
        .await?;
    assert_eq!((third.applied, third.skipped), (0, 2));
    assert_eq!(assert_balanced(s, t).await?, 5_980);
    Ok(())
}

async fn another_city_sees_none_of_it<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (midori, slips) = city_with_slips(s, "midori", &[3_980]).await?;
    // Aoba has slip settings and nothing issued.
    let (aoba, _) = city_with_slips(s, "aoba", &[]).await?;
    let import = start(s, midori, 'f').await?;
    s.apply_konbini_records(
        midori,
        import,
        &[(
            2,
            line(RecordKind::Sokuho, slips[0].barcode, 3_980, "000123"),
        )],
        T0,
    )
    .await?;
    assert!(
        s.konbini_lines_of_barcode(aoba, &slips[0].barcode.to_string())
            .await?
            .is_empty()
    );
    assert!(s.konbini_imports(aoba, 10).await?.is_empty());
    assert!(matches!(
        s.konbini_import(aoba, import).await,
        Err(madoguchi_storage::StorageError::NotFound)
    ));
    // The same line in Aoba's import is a barcode Aoba never issued.
    let theirs = start(s, aoba, 'f').await?;
    let outcome = s
        .apply_konbini_records(
            aoba,
            theirs,
            &[(
                2,
                line(RecordKind::Sokuho, slips[0].barcode, 3_980, "000123"),
            )],
            T0,
        )
        .await?;
    assert_eq!((outcome.applied, outcome.exceptions), (1, 1));
    Ok(())
}

async fn a_preview_decides_as_the_import_does_and_writes_nothing<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let (t, slips) = city_with_slips(s, "midori", &[3_980, 5_000]).await?;
    let records = vec![
        (
            2,
            line(RecordKind::Sokuho, slips[0].barcode, 3_980, "000001"),
        ),
        (
            3,
            line(RecordKind::Sokuho, slips[1].barcode, 4_000, "000002"),
        ),
        // Paid again at another store, and cancelled in the same file.
        (
            4,
            line(RecordKind::Sokuho, slips[0].barcode, 3_980, "000003"),
        ),
        (
            5,
            line(RecordKind::SokuhoCancel, slips[0].barcode, 3_980, "000003"),
        ),
        (
            6,
            line(RecordKind::Kakuho, slips[0].barcode, 3_980, "000001"),
        ),
    ];
    let preview = s.preview_konbini_records(t, &records).await?;
    assert_eq!(assert_balanced(s, t).await?, 0, "a preview posts nothing");
    assert!(s.konbini_exceptions(t, 10).await?.is_empty());
    let import = start(s, t, '1').await?;
    let applied = s
        .apply_konbini_records(t, import, &records, T0 + secs(60))
        .await?;
    assert_eq!(preview, applied);
    assert_eq!(
        (
            applied.applied,
            applied.sokuho,
            applied.kakuho,
            applied.cancelled
        ),
        (5, 3, 1, 1)
    );
    // The amount mismatch and the second payment.
    assert_eq!(applied.exceptions, 2);
    assert_eq!(applied.taken_yen, 3_980 + 4_000 + 3_980);
    assert_eq!(assert_balanced(s, t).await?, 3_980 + 4_000);
    let again = s.preview_konbini_records(t, &records).await?;
    assert_eq!((again.applied, again.skipped), (0, 5));
    Ok(())
}

async fn an_uploaded_file_is_applied_by_one_claim<S: Backend>(s: &S) -> anyhow::Result<()> {
    let (t, _) = city_with_slips(s, "midori", &[]).await?;
    let (aoba, _) = city_with_slips(s, "aoba", &[]).await?;
    let new = NewKonbiniUpload {
        id: Uuid::now_v7(),
        file_name: "sokuho-20300601.csv".into(),
        content: b"header\r\n".to_vec(),
        checksum: "a".repeat(64),
        lines: 0,
        uploaded_by: None,
        at: T0,
    };
    let saved = s.save_konbini_upload(t, &new).await?;
    assert_eq!(saved.state, UploadState::Previewed);
    assert_eq!(s.konbini_upload_content(t, new.id).await?, new.content);
    assert!(matches!(
        s.konbini_upload(aoba, new.id).await,
        Err(madoguchi_storage::StorageError::NotFound)
    ));
    assert!(!s.claim_konbini_upload(aoba, new.id, T0, T0).await?);
    assert!(s.claim_konbini_upload(t, new.id, T0, T0).await?);
    assert!(
        !s.claim_konbini_upload(t, new.id, T0 + secs(60), T0).await?,
        "claimed once"
    );
    // A claim left by a stopped node is taken over once it is stale, once.
    assert!(
        s.claim_konbini_upload(t, new.id, T0 + secs(3_600), T0 + secs(1))
            .await?
    );
    assert!(
        !s.claim_konbini_upload(t, new.id, T0 + secs(3_601), T0 + secs(1))
            .await?
    );
    s.settle_konbini_upload(t, new.id, None, Some("file_changed"))
        .await?;
    let failed = s.konbini_upload(t, new.id).await?;
    assert_eq!(
        (failed.state, failed.problem.as_deref()),
        (UploadState::Failed, Some("file_changed"))
    );
    // A failed upload can be applied again.
    assert!(
        s.claim_konbini_upload(t, new.id, T0 + secs(7_200), T0)
            .await?
    );
    let import = start(s, t, '2').await?;
    s.settle_konbini_upload(t, new.id, Some(import), None)
        .await?;
    let applied = s.konbini_upload(t, new.id).await?;
    assert_eq!(
        (applied.state, applied.import, applied.problem),
        (UploadState::Applied, Some(import), None)
    );
    assert!(
        !s.claim_konbini_upload(t, new.id, T0 + secs(99_999), T0 + secs(99_998))
            .await?,
        "an applied upload is never claimed again"
    );
    assert_eq!(s.konbini_uploads(t, 10).await?.len(), 1);
    assert!(s.konbini_uploads(aoba, 10).await?.is_empty());
    Ok(())
}
