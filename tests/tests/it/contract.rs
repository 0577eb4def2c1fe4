//! The storage contract: one set of stories, each run against SQLite and PostgreSQL on a fresh
//! database, so both backends behave alike down to error names and instant precision.
//!
//! Every story becomes `contract::<story>::on_sqlite` and `contract::<story>::on_postgres`
//! (the same shape as the HTTP tests' `on_both_backends!`), so `cargo test on_postgres` runs
//! one backend's half. Instants are fixed (`T0`) rather than read from the clock, so lease,
//! lockout and expiry boundaries are tested exactly.

use futures::future::join_all;
use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, Email, OfficeId, OfficeKind, Role, RoleAssignment,
    TenantId,
};
use madoguchi_storage::{
    ActorKind, AuditEntry, AuditFilter, Department, JobStatus, LockoutPolicy, MigrationReport,
    NewAuditEntry, NewDepartment, NewJob, NewOffice, NewOneTimeToken, Office, PasswordHash,
    SignInFailureState, StorageError, StorageResult, TokenPurpose,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use serde_json::json;
use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use madoguchi_tests::on_both_databases;

on_both_databases!(
    migrating_again_applies_nothing_and_the_schema_checks_out,
    a_database_migrated_by_a_newer_madoguchi_is_refused,
    a_database_behind_this_binary_is_reported_as_behind,
    tenants_are_found_by_slug_and_by_host,
    a_second_tenant_with_the_same_slug_or_host_is_refused_by_name,
    offices_are_created_listed_and_updated_within_their_tenant,
    office_and_department_codes_are_unique_within_a_tenant_only,
    a_department_cannot_sit_in_another_tenants_office,
    a_resident_and_a_staff_member_may_share_an_email_address,
    a_duplicate_account_is_refused_and_leaves_nothing_half_written,
    roles_round_trip_and_setting_them_replaces_all,
    the_last_active_administrator_keeps_the_role,
    two_administrators_dropping_their_own_role_at_once_leave_one,
    a_role_scoped_to_another_tenants_office_is_refused_and_keeps_the_previous_roles,
    an_account_of_one_tenant_is_invisible_to_another,
    account_changes_are_stored,
    a_token_works_exactly_once,
    an_expired_token_is_refused,
    a_token_for_another_purpose_is_refused,
    a_token_is_refused_in_another_tenant,
    twenty_simultaneous_uses_of_a_token_succeed_exactly_once,
    five_failures_within_the_window_lock_the_account,
    failures_spaced_beyond_the_window_do_not_accumulate,
    a_successful_sign_in_resets_the_failure_count,
    simultaneous_failures_are_each_counted_exactly_once,
    the_rate_limit_allows_max_hits_per_window_then_refuses,
    sessions_are_inserted_once_saved_loaded_and_deleted,
    audit_entries_are_listed_newest_first_and_filtered,
    the_audit_log_refuses_to_be_rewritten,
    a_job_is_claimed_only_once_it_is_due,
    a_leased_job_is_taken_over_only_after_its_lease_expires,
    only_the_lease_holder_completes_a_job,
    a_failed_job_is_retried_with_its_error_or_failed_for_good,
    ten_workers_claim_a_hundred_jobs_each_exactly_once,
);

// ---------------------------------------------------------------------------------------------
// Builders and assertions
// ---------------------------------------------------------------------------------------------

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid email")
}

fn new_office(raw_code: &str, kind: OfficeKind) -> NewOffice {
    NewOffice {
        code: code(raw_code),
        kind,
        name_ja: format!("{raw_code}庁舎"),
        name_en: format!("{raw_code} office"),
    }
}

fn new_department(raw_code: &str, office_id: Option<OfficeId>) -> NewDepartment {
    NewDepartment {
        code: code(raw_code),
        name_ja: format!("{raw_code}課"),
        name_en: format!("{raw_code} division"),
        office_id,
    }
}

fn role(
    role: Role,
    office_id: Option<OfficeId>,
    department_id: Option<DepartmentId>,
) -> RoleAssignment {
    RoleAssignment::new(role, office_id, department_id).expect("valid role scope")
}

fn admin() -> RoleAssignment {
    role(Role::Admin, None, None)
}

fn new_token(
    account_id: AccountId,
    purpose: TokenPurpose,
    byte: u8,
    expires_at: OffsetDateTime,
) -> NewOneTimeToken {
    NewOneTimeToken {
        account_id,
        purpose,
        token_hash: vec![byte; 32],
        expires_at,
    }
}

fn new_job(tenant_id: Option<TenantId>, run_at: OffsetDateTime) -> NewJob {
    NewJob {
        tenant_id,
        kind: "mail.send".into(),
        payload: json!({"template": "verify_email", "n": 1}),
        run_at,
        max_attempts: 3,
    }
}

#[track_caller]
fn assert_duplicate<T: Debug>(result: StorageResult<T>, constraint: &str) {
    match result {
        Err(StorageError::Duplicate { constraint: actual }) if actual == constraint => {}
        other => panic!("expected Duplicate {{ constraint: {constraint:?} }}, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

async fn migrating_again_applies_nothing_and_the_schema_checks_out<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let binary = s.binary_schema_version();
    assert!(binary >= 1, "the binary ships at least one migration");
    s.check_schema().await?;
    assert_eq!(
        s.migrate().await?,
        MigrationReport {
            applied: vec![],
            current: binary
        }
    );
    assert_eq!(
        s.migrate().await?,
        MigrationReport {
            applied: vec![],
            current: binary
        }
    );
    s.check_schema().await?;
    s.ping().await?;
    Ok(())
}

const FUTURE_VERSION: i64 = 99_999_999_999_999;

async fn a_database_migrated_by_a_newer_madoguchi_is_refused<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    // `TRUE` and `''` are accepted by both databases for sqlx's boolean and blob columns.
    s.execute_raw(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99999999999999, 'from a future release', TRUE, '', 0)",
    )
    .await?;
    let binary = s.binary_schema_version();
    match s.migrate().await {
        Err(StorageError::SchemaTooNew {
            database,
            binary: b,
        }) => {
            assert_eq!((database, b), (FUTURE_VERSION, binary));
        }
        other => panic!("migrate: expected SchemaTooNew, got {other:?}"),
    }
    match s.check_schema().await {
        Err(StorageError::SchemaTooNew {
            database,
            binary: b,
        }) => {
            assert_eq!((database, b), (FUTURE_VERSION, binary));
        }
        other => panic!("check_schema: expected SchemaTooNew, got {other:?}"),
    }
    Ok(())
}

async fn a_database_behind_this_binary_is_reported_as_behind<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    s.execute_raw("DELETE FROM _sqlx_migrations").await?;
    match s.check_schema().await {
        Err(StorageError::SchemaBehind { database, binary }) => {
            assert_eq!((database, binary), (0, s.binary_schema_version()));
        }
        other => panic!("expected SchemaBehind, got {other:?}"),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tenants and organisation
// ---------------------------------------------------------------------------------------------

async fn tenants_are_found_by_slug_and_by_host<S: Backend>(s: &S) -> anyhow::Result<()> {
    let kita = s
        .create_tenant(&new_tenant("kitaaki", Some("kitaaki.example.jp")))
        .await?;
    let kita_wa = s.create_tenant(&new_tenant("kita-wa", None)).await?;
    // A second tenant without a host: hosts are unique only when present.
    let minami = s.create_tenant(&new_tenant("minami", None)).await?;

    assert_eq!(s.tenant_by_slug("kitaaki").await?, kita);
    assert_eq!(s.tenant_by_host("kitaaki.example.jp").await?, kita);
    assert_eq!(s.tenant_by_slug("kita-wa").await?, kita_wa);
    assert_eq!(kita.name_ja, "kitaaki市");
    assert_eq!(kita.host.as_deref(), Some("kitaaki.example.jp"));
    assert_not_found(s.tenant_by_slug("nishi").await);
    assert_not_found(s.tenant_by_host("minami.example.jp").await);
    // Bytewise order on both databases: '-' sorts before letters whatever the collation.
    assert_eq!(s.list_tenants().await?, vec![kita_wa, kita, minami]);
    Ok(())
}

async fn a_second_tenant_with_the_same_slug_or_host_is_refused_by_name<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let kita = s
        .create_tenant(&new_tenant("kita", Some("kita.example.jp")))
        .await?;
    assert_duplicate(
        s.create_tenant(&new_tenant("kita", Some("other.example.jp")))
            .await,
        "tenants_slug",
    );
    assert_duplicate(
        s.create_tenant(&new_tenant("minami", Some("kita.example.jp")))
            .await,
        "tenants_host",
    );
    assert_eq!(s.list_tenants().await?, vec![kita]);
    Ok(())
}

async fn offices_are_created_listed_and_updated_within_their_tenant<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let branch = s
        .create_office(t.id, &new_office("shisho-1", OfficeKind::Branch))
        .await?;
    let hall = s
        .create_office(t.id, &new_office("a-hall", OfficeKind::CommunityCentre))
        .await?;
    let hq = s
        .create_office(t.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    assert_eq!(
        (branch.tenant_id, branch.kind, branch.code.as_str()),
        (t.id, OfficeKind::Branch, "shisho-1")
    );

    // Headquarters first, then by kind, then by code.
    assert_eq!(
        s.list_offices(t.id).await?,
        vec![hq.clone(), branch.clone(), hall.clone()]
    );
    assert_eq!(s.office(t.id, branch.id).await?, branch);

    let renamed = s
        .update_office(
            t.id,
            branch.id,
            &new_office("shucchojo-2", OfficeKind::SubOffice),
        )
        .await?;
    assert_eq!(renamed.id, branch.id);
    assert_eq!(renamed.created_at, branch.created_at);
    assert_eq!(
        (
            renamed.kind,
            renamed.code.as_str(),
            renamed.name_ja.as_str()
        ),
        (OfficeKind::SubOffice, "shucchojo-2", "shucchojo-2庁舎")
    );
    assert_eq!(s.office(t.id, branch.id).await?, renamed);

    // Another tenant neither sees nor changes it.
    assert_not_found(s.office(other.id, branch.id).await);
    assert_not_found(
        s.update_office(
            other.id,
            branch.id,
            &new_office("stolen", OfficeKind::Branch),
        )
        .await,
    );
    assert_eq!(s.office(t.id, branch.id).await?, renamed);
    assert_eq!(s.list_offices(other.id).await?, Vec::<Office>::new());
    assert_not_found(
        s.update_office(
            t.id,
            OfficeId::new(),
            &new_office("ghost", OfficeKind::Branch),
        )
        .await,
    );
    Ok(())
}

async fn office_and_department_codes_are_unique_within_a_tenant_only<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    s.create_office(t.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    assert_duplicate(
        s.create_office(t.id, &new_office("honcho", OfficeKind::Branch))
            .await,
        "offices_code",
    );
    s.create_office(other.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    let branch = s
        .create_office(t.id, &new_office("shisho", OfficeKind::Branch))
        .await?;
    assert_duplicate(
        s.update_office(t.id, branch.id, &new_office("honcho", OfficeKind::Branch))
            .await,
        "offices_code",
    );
    assert_eq!(s.office(t.id, branch.id).await?, branch);

    s.create_department(t.id, &new_department("koseki", None))
        .await?;
    assert_duplicate(
        s.create_department(t.id, &new_department("koseki", None))
            .await,
        "departments_code",
    );
    s.create_department(other.id, &new_department("koseki", None))
        .await?;
    let zeimu = s
        .create_department(t.id, &new_department("zeimu", None))
        .await?;
    assert_duplicate(
        s.update_department(t.id, zeimu.id, &new_department("koseki", None))
            .await,
        "departments_code",
    );
    assert_eq!(s.list_offices(t.id).await?.len(), 2);
    assert_eq!(s.list_departments(t.id).await?.len(), 2);
    Ok(())
}

async fn a_department_cannot_sit_in_another_tenants_office<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hq = s
        .create_office(t.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    let other_hq = s
        .create_office(other.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;

    let shimin = s
        .create_department(t.id, &new_department("shimin", Some(hq.id)))
        .await?;
    assert_eq!((shimin.tenant_id, shimin.office_id), (t.id, Some(hq.id)));
    assert_eq!(s.department(t.id, shimin.id).await?, shimin);

    assert_any_constraint(
        s.create_department(t.id, &new_department("zeimu", Some(other_hq.id)))
            .await,
    );
    assert_any_constraint(
        s.create_department(t.id, &new_department("zeimu", Some(OfficeId::new())))
            .await,
    );
    assert_eq!(s.list_departments(t.id).await?, vec![shimin.clone()]);

    assert_not_found(
        s.update_department(
            t.id,
            shimin.id,
            &new_department("shimin", Some(other_hq.id)),
        )
        .await,
    );
    assert_eq!(s.department(t.id, shimin.id).await?, shimin);

    let moved = s
        .update_department(t.id, shimin.id, &new_department("shimin-ka", None))
        .await?;
    assert_eq!(
        (moved.id, moved.code.as_str(), moved.office_id),
        (shimin.id, "shimin-ka", None)
    );
    assert_eq!(s.department(t.id, shimin.id).await?, moved);
    assert_not_found(s.department(other.id, shimin.id).await);
    assert_eq!(
        s.list_departments(other.id).await?,
        Vec::<Department>::new()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Accounts and roles
// ---------------------------------------------------------------------------------------------

async fn a_resident_and_a_staff_member_may_share_an_email_address<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let mut verified = new_account(AccountKind::Resident, "Hanako@Example.jp", vec![]);
    // Nanoseconds are dropped the same way on both databases: the returned record equals
    // the stored one.
    verified.email_verified_at = Some(T0 + Duration::nanoseconds(123_456_789));
    let resident = s.create_account(t.id, &verified).await?;
    let staff = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "hanako@example.jp", vec![admin()]),
        )
        .await?;

    assert_ne!(resident.id, staff.id);
    assert_eq!(resident.email.as_str(), "hanako@example.jp");
    assert_eq!(
        resident.email_verified_at,
        Some(T0 + Duration::microseconds(123_456))
    );
    assert_eq!(
        (
            resident.failed_sign_ins,
            resident.locked_until,
            resident.disabled
        ),
        (0, None, false)
    );
    assert_eq!(s.account(t.id, resident.id).await?, resident);
    assert_eq!(s.account(t.id, staff.id).await?, staff);
    assert_eq!(
        s.account_by_email(t.id, AccountKind::Resident, &email("hanako@example.jp"))
            .await?,
        resident
    );
    assert_eq!(
        s.account_by_email(t.id, AccountKind::Staff, &email("hanako@example.jp"))
            .await?,
        staff
    );
    assert_eq!(
        s.list_accounts(t.id, AccountKind::Resident).await?,
        vec![resident]
    );
    assert_eq!(
        s.list_accounts(t.id, AccountKind::Staff).await?,
        vec![staff]
    );
    Ok(())
}

async fn a_duplicate_account_is_refused_and_leaves_nothing_half_written<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hq = s
        .create_office(t.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    let other_branch = s
        .create_office(other.id, &new_office("shisho", OfficeKind::Branch))
        .await?;

    let taro = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "taro@example.jp", vec![admin()]),
        )
        .await?;
    let again = new_account(
        AccountKind::Staff,
        "taro@example.jp",
        vec![role(Role::BranchStaff, Some(hq.id), None)],
    );
    assert_duplicate(s.create_account(t.id, &again).await, "accounts_email");
    assert_eq!(
        s.list_accounts(t.id, AccountKind::Staff).await?,
        vec![taro.clone()]
    );
    assert_eq!(s.roles(t.id, taro.id).await?, vec![admin()]);

    // Refused roles roll the account back too: no account without its roles.
    let scoped_elsewhere = vec![
        admin(),
        role(Role::BranchStaff, Some(other_branch.id), None),
    ];
    let jiro = new_account(AccountKind::Staff, "jiro@example.jp", scoped_elsewhere);
    assert_any_constraint(s.create_account(t.id, &jiro).await);
    assert_not_found(
        s.account_by_email(t.id, AccountKind::Staff, &email("jiro@example.jp"))
            .await,
    );
    assert_eq!(s.query_i64("SELECT count(*) FROM accounts").await?, 1);
    assert_eq!(
        s.query_i64("SELECT count(*) FROM role_assignments").await?,
        1
    );

    // And so the address is still free.
    let jiro = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "jiro@example.jp", vec![admin()]),
        )
        .await?;
    assert_eq!(s.roles(t.id, jiro.id).await?, vec![admin()]);
    Ok(())
}

async fn roles_round_trip_and_setting_them_replaces_all<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let hq = s
        .create_office(t.id, &new_office("honcho", OfficeKind::Headquarters))
        .await?;
    let branch = s
        .create_office(t.id, &new_office("shisho", OfficeKind::Branch))
        .await?;
    let shimin = s
        .create_department(t.id, &new_department("shimin", Some(hq.id)))
        .await?;

    let hq_staff = role(Role::HqStaff, None, Some(shimin.id));
    let branch_staff = role(Role::BranchStaff, Some(branch.id), None);
    let staff = s
        .create_account(
            t.id,
            &new_account(
                AccountKind::Staff,
                "staff@example.jp",
                vec![hq_staff.clone(), admin(), branch_staff.clone()],
            ),
        )
        .await?;
    // Listed by role name on both databases.
    assert_eq!(
        s.roles(t.id, staff.id).await?,
        vec![admin(), branch_staff, hq_staff]
    );
    // Another administrator, so this one may give up the role.
    s.create_account(
        t.id,
        &new_account(AccountKind::Staff, "admin@example.jp", vec![admin()]),
    )
    .await?;

    let facility = role(Role::FacilityStaff, Some(branch.id), None);
    let finance = role(Role::Finance, None, None);
    s.set_roles(t.id, staff.id, &[finance.clone(), facility.clone()])
        .await?;
    assert_eq!(s.roles(t.id, staff.id).await?, vec![facility, finance]);
    s.set_roles(t.id, staff.id, &[]).await?;
    assert_eq!(s.roles(t.id, staff.id).await?, vec![]);

    // Only staff hold roles, and only their own tenant may set them.
    let resident = resident(s, t.id, "resident@example.jp").await?;
    assert_not_found(s.set_roles(t.id, resident.id, &[admin()]).await);
    assert_not_found(s.set_roles(other.id, staff.id, &[admin()]).await);
    assert_eq!(s.roles(t.id, staff.id).await?, vec![]);
    Ok(())
}

fn assert_last_admin<T: Debug>(result: StorageResult<T>) {
    match result {
        Err(StorageError::LastAdmin) => {}
        other => panic!("expected LastAdmin, got {other:?}"),
    }
}

async fn the_last_active_administrator_keeps_the_role<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let finance = role(Role::Finance, None, None);
    let only = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "admin@example.jp", vec![admin()]),
        )
        .await?;
    // The other town's administrator does not count for this one.
    s.create_account(
        other.id,
        &new_account(AccountKind::Staff, "admin@example.jp", vec![admin()]),
    )
    .await?;

    assert_last_admin(
        s.set_roles(t.id, only.id, std::slice::from_ref(&finance))
            .await,
    );
    assert_last_admin(s.set_roles(t.id, only.id, &[]).await);
    assert_last_admin(s.set_disabled(t.id, only.id, true).await);
    assert_eq!(
        s.roles(t.id, only.id).await?,
        vec![admin()],
        "nothing changed"
    );
    assert!(!s.account(t.id, only.id).await?.disabled);
    // Keeping the role while changing the others is fine.
    s.set_roles(t.id, only.id, &[admin(), finance.clone()])
        .await?;

    // A disabled administrator does not count.
    let second = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "second@example.jp", vec![admin()]),
        )
        .await?;
    s.set_disabled(t.id, second.id, true).await?;
    assert_last_admin(
        s.set_roles(t.id, only.id, std::slice::from_ref(&finance))
            .await,
    );

    // With a second active administrator, the first may go.
    s.set_disabled(t.id, second.id, false).await?;
    s.set_roles(t.id, only.id, std::slice::from_ref(&finance))
        .await?;
    assert_eq!(s.roles(t.id, only.id).await?, vec![finance]);
    assert_last_admin(s.set_disabled(t.id, second.id, true).await);
    Ok(())
}

async fn two_administrators_dropping_their_own_role_at_once_leave_one<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    for round in 0..5 {
        let t = tenant(s, &format!("kita-{round}")).await?;
        let finance = role(Role::Finance, None, None);
        let a = s
            .create_account(
                t.id,
                &new_account(AccountKind::Staff, "a@example.jp", vec![admin()]),
            )
            .await?;
        let b = s
            .create_account(
                t.id,
                &new_account(AccountKind::Staff, "b@example.jp", vec![admin()]),
            )
            .await?;
        let barrier = Barrier::new(2);
        let drop_own = |id: AccountId| {
            let finance = finance.clone();
            let barrier = &barrier;
            async move {
                barrier.wait().await;
                s.set_roles(t.id, id, &[finance]).await
            }
        };
        let (first, second) = tokio::join!(drop_own(a.id), drop_own(b.id));
        let refused = [&first, &second]
            .iter()
            .filter(|r| matches!(r, Err(StorageError::LastAdmin)))
            .count();
        assert_eq!(
            (refused, first.is_ok() || second.is_ok()),
            (1, true),
            "exactly one gives up the role: {first:?} {second:?}"
        );
        let admins = [
            s.roles(t.id, a.id).await?.contains(&admin()),
            s.roles(t.id, b.id).await?.contains(&admin()),
        ];
        assert_eq!(admins.iter().filter(|x| **x).count(), 1);
    }
    Ok(())
}

async fn a_role_scoped_to_another_tenants_office_is_refused_and_keeps_the_previous_roles<
    S: Backend,
>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let branch = s
        .create_office(t.id, &new_office("shisho", OfficeKind::Branch))
        .await?;
    let other_branch = s
        .create_office(other.id, &new_office("shisho", OfficeKind::Branch))
        .await?;
    let other_department = s
        .create_department(other.id, &new_department("zeimu", None))
        .await?;
    let mine = role(Role::BranchStaff, Some(branch.id), None);
    let staff = s
        .create_account(
            t.id,
            &new_account(AccountKind::Staff, "staff@example.jp", vec![mine.clone()]),
        )
        .await?;

    let elsewhere = role(Role::BranchStaff, Some(other_branch.id), None);
    assert_any_constraint(s.set_roles(t.id, staff.id, &[admin(), elsewhere]).await);
    assert_eq!(s.roles(t.id, staff.id).await?, vec![mine.clone()]);
    let other_hq_staff = role(Role::HqStaff, None, Some(other_department.id));
    assert_any_constraint(s.set_roles(t.id, staff.id, &[other_hq_staff]).await);
    assert_eq!(s.roles(t.id, staff.id).await?, vec![mine]);
    Ok(())
}

async fn an_account_of_one_tenant_is_invisible_to_another<S: Backend>(s: &S) -> anyhow::Result<()> {
    let a = tenant(s, "kita").await?;
    let b = tenant(s, "minami").await?;
    let hanako = resident(s, a.id, "hanako@example.jp").await?;

    assert_not_found(s.account(b.id, hanako.id).await);
    assert_not_found(
        s.account_by_email(b.id, AccountKind::Resident, &hanako.email)
            .await,
    );
    assert_eq!(s.list_accounts(b.id, AccountKind::Resident).await?, vec![]);
    assert_not_found(
        s.set_password_hash(b.id, hanako.id, &PasswordHash("stolen".into()), T0)
            .await,
    );
    assert_not_found(s.mark_email_verified(b.id, hanako.id, T0).await);
    assert_not_found(s.set_disabled(b.id, hanako.id, true).await);
    assert_not_found(
        s.record_sign_in_failure(b.id, hanako.id, T0, &LockoutPolicy::default())
            .await,
    );
    assert_not_found(
        s.create_token(
            b.id,
            &new_token(hanako.id, TokenPurpose::ResetPassword, 7, T0 + secs(3600)),
        )
        .await,
    );
    assert_eq!(s.roles(b.id, hanako.id).await?, vec![]);

    assert_eq!(s.account(a.id, hanako.id).await?, hanako);
    // The same address is a different person in the other town.
    let other_hanako = resident(s, b.id, "hanako@example.jp").await?;
    assert_ne!(other_hanako.id, hanako.id);
    Ok(())
}

async fn account_changes_are_stored<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    assert_eq!(hanako.email_verified_at, None);

    s.mark_email_verified(t.id, hanako.id, T0).await?;
    s.mark_email_verified(t.id, hanako.id, T0 + secs(60))
        .await?;
    s.set_disabled(t.id, hanako.id, true).await?;
    let changed = s.account(t.id, hanako.id).await?;
    assert_eq!(
        changed.email_verified_at,
        Some(T0),
        "the first verification is kept"
    );
    assert!(changed.disabled);

    // A new password lifts a lockout.
    let policy = LockoutPolicy {
        max_failures: 1,
        window_s: 60,
        lock_s: 600,
    };
    s.record_sign_in_failure(t.id, hanako.id, T0, &policy)
        .await?;
    assert!(s.account(t.id, hanako.id).await?.is_locked(T0));
    let changed_at = T0 + secs(30);
    s.set_password_hash(
        t.id,
        hanako.id,
        &PasswordHash("new-hash".into()),
        changed_at,
    )
    .await?;
    s.set_disabled(t.id, hanako.id, false).await?;
    let changed = s.account(t.id, hanako.id).await?;
    assert_eq!(changed.password_hash, PasswordHash("new-hash".into()));
    assert_eq!(
        changed.password_changed_at, changed_at,
        "sessions from before end"
    );
    assert_eq!(
        (
            changed.locked_until,
            changed.failed_sign_ins,
            changed.disabled
        ),
        (None, 0, false)
    );
    assert_not_found(s.set_disabled(t.id, AccountId::new(), true).await);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One-time tokens
// ---------------------------------------------------------------------------------------------

async fn a_token_works_exactly_once<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 1, T0 + secs(3600));
    s.create_token(t.id, &token).await?;
    assert_duplicate(s.create_token(t.id, &token).await, "one_time_tokens_pkey");

    assert_eq!(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_eq!(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_eq!(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.peek_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &[9; 32], T0)
            .await,
    );
    Ok(())
}

async fn an_expired_token_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::ResetPassword, 2, T0);
    s.create_token(t.id, &token).await?;

    assert_not_found(
        s.peek_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(
            t.id,
            TokenPurpose::ResetPassword,
            &token.token_hash,
            T0 + secs(1),
        )
        .await,
    );
    // Expiry is exclusive: at the instant itself the token is already dead.
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    let just_before = T0 - Duration::microseconds(1);
    assert_eq!(
        s.consume_token(
            t.id,
            TokenPurpose::ResetPassword,
            &token.token_hash,
            just_before
        )
        .await?,
        hanako.id
    );
    Ok(())
}

async fn a_token_for_another_purpose_is_refused<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 3, T0 + secs(3600));
    s.create_token(t.id, &token).await?;

    assert_not_found(
        s.peek_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(t.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    // The refused attempt did not spend it.
    assert_eq!(
        s.consume_token(t.id, TokenPurpose::VerifyEmail, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    Ok(())
}

async fn a_token_is_refused_in_another_tenant<S: Backend>(s: &S) -> anyhow::Result<()> {
    let a = tenant(s, "kita").await?;
    let b = tenant(s, "minami").await?;
    let hanako = resident(s, a.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::ResetPassword, 4, T0 + secs(3600));
    s.create_token(a.id, &token).await?;

    assert_not_found(
        s.peek_token(b.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_not_found(
        s.consume_token(b.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await,
    );
    assert_eq!(
        s.consume_token(a.id, TokenPurpose::ResetPassword, &token.token_hash, T0)
            .await?,
        hanako.id
    );
    Ok(())
}

async fn twenty_simultaneous_uses_of_a_token_succeed_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const CLICKS: usize = 20;
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    let token = new_token(hanako.id, TokenPurpose::VerifyEmail, 5, T0 + secs(3600));
    s.create_token(t.id, &token).await?;

    let start = Arc::new(Barrier::new(CLICKS));
    let clicks = (0..CLICKS).map(|_| {
        let (s, start, hash) = (s.clone(), start.clone(), token.token_hash.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.consume_token(t.id, TokenPurpose::VerifyEmail, &hash, T0)
                .await
        })
    });
    let mut used = 0;
    for result in join_all(clicks).await {
        match result? {
            Ok(account) => {
                assert_eq!(account, hanako.id);
                used += 1;
            }
            Err(StorageError::NotFound) => {}
            Err(other) => panic!("a losing click must see NotFound, got {other:?}"),
        }
    }
    assert_eq!(used, 1);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lockout and rate limits
// ---------------------------------------------------------------------------------------------

async fn five_failures_within_the_window_lock_the_account<S: Backend>(s: &S) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    assert_eq!(
        (policy.max_failures, policy.window_s, policy.lock_s),
        (5, 900, 900)
    );
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;

    for n in 1..=4 {
        let state = s
            .record_sign_in_failure(t.id, hanako.id, T0 + secs(n * 60), &policy)
            .await?;
        assert_eq!(
            state,
            SignInFailureState {
                failed_sign_ins: n,
                locked_until: None
            }
        );
    }
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!((stored.failed_sign_ins, stored.locked_until), (4, None));

    let fifth = T0 + secs(5 * 60);
    let state = s
        .record_sign_in_failure(t.id, hanako.id, fifth, &policy)
        .await?;
    assert_eq!(
        state,
        SignInFailureState {
            failed_sign_ins: 5,
            locked_until: Some(fifth + secs(900))
        }
    );
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!(stored.locked_until, Some(fifth + secs(900)));
    assert!(stored.is_locked(fifth + secs(899)));
    assert!(!stored.is_locked(fifth + secs(900)));
    assert_not_found(
        s.record_sign_in_failure(t.id, AccountId::new(), fifth, &policy)
            .await,
    );
    Ok(())
}

async fn failures_spaced_beyond_the_window_do_not_accumulate<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    for n in 0..8 {
        let at = T0 + secs(n * (policy.window_s + 1));
        let state = s
            .record_sign_in_failure(t.id, hanako.id, at, &policy)
            .await?;
        assert_eq!(
            state,
            SignInFailureState {
                failed_sign_ins: 1,
                locked_until: None
            },
            "failure {n}"
        );
    }
    assert_eq!(s.account(t.id, hanako.id).await?.locked_until, None);
    Ok(())
}

async fn a_successful_sign_in_resets_the_failure_count<S: Backend>(s: &S) -> anyhow::Result<()> {
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;
    for n in 1..=4 {
        s.record_sign_in_failure(t.id, hanako.id, T0 + secs(n), &policy)
            .await?;
    }
    s.record_sign_in_success(t.id, hanako.id, T0 + secs(10))
        .await?;
    assert_eq!(s.account(t.id, hanako.id).await?.failed_sign_ins, 0);
    let state = s
        .record_sign_in_failure(t.id, hanako.id, T0 + secs(11), &policy)
        .await?;
    assert_eq!(
        state.failed_sign_ins, 1,
        "counting starts over after a success"
    );

    for n in 2..=5 {
        s.record_sign_in_failure(t.id, hanako.id, T0 + secs(10 + n), &policy)
            .await?;
    }
    assert!(s.account(t.id, hanako.id).await?.is_locked(T0 + secs(20)));
    s.record_sign_in_success(t.id, hanako.id, T0 + secs(30))
        .await?;
    let stored = s.account(t.id, hanako.id).await?;
    assert_eq!((stored.failed_sign_ins, stored.locked_until), (0, None));
    Ok(())
}

async fn simultaneous_failures_are_each_counted_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const GUESSES: usize = 10;
    let policy = LockoutPolicy::default();
    let t = tenant(s, "kita").await?;
    let hanako = resident(s, t.id, "hanako@example.jp").await?;

    let start = Arc::new(Barrier::new(GUESSES));
    let guesses = (0..GUESSES).map(|_| {
        let (s, start, policy) = (s.clone(), start.clone(), policy.clone());
        tokio::spawn(async move {
            start.wait().await;
            s.record_sign_in_failure(t.id, hanako.id, T0, &policy).await
        })
    });
    let mut states = Vec::new();
    for result in join_all(guesses).await {
        states.push(result??);
    }
    // Run one after another, ten failures count 1..5, lock, then 1..5 and lock again: any
    // lost or doubled update shows up as a missing or extra number.
    let mut counts: Vec<i64> = states.iter().map(|st| st.failed_sign_ins).collect();
    counts.sort_unstable();
    assert_eq!(counts, vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    let locks: Vec<_> = states.iter().filter_map(|st| st.locked_until).collect();
    assert_eq!(locks, vec![T0 + secs(900); 2]);
    assert!(
        states
            .iter()
            .all(|st| st.locked_until.is_some() == (st.failed_sign_ins == 5))
    );
    Ok(())
}

async fn the_rate_limit_allows_max_hits_per_window_then_refuses<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let key = "sign_in:203.0.113.7";
    // T0 is on a whole minute, so [T0, T0 + 60 s) is one window.
    for offset in [0, 10, 20] {
        assert!(
            s.rate_limit_hit(key, T0 + secs(offset), 60, 3).await?,
            "hit at +{offset}s"
        );
    }
    assert!(!s.rate_limit_hit(key, T0 + secs(30), 60, 3).await?);
    assert!(!s.rate_limit_hit(key, T0 + secs(59), 60, 3).await?);
    assert!(
        s.rate_limit_hit("sign_in:198.51.100.1", T0 + secs(30), 60, 3)
            .await?,
        "keys are counted apart"
    );
    assert!(
        s.rate_limit_hit(key, T0 + secs(60), 60, 3).await?,
        "a new window starts afresh"
    );
    assert!(s.rate_limit_hit(key, T0 + secs(61), 60, 3).await?);
    // A misconfigured window of zero seconds counts per second instead of failing.
    assert!(s.rate_limit_hit("zero", T0, 0, 1).await?);
    assert!(!s.rate_limit_hit("zero", T0, 0, 1).await?);
    assert!(s.rate_limit_hit("zero", T0 + secs(1), 0, 1).await?);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

async fn sessions_are_inserted_once_saved_loaded_and_deleted<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let first = r#"{"account":"a","csrf":"1"}"#;
    assert!(s.session_insert("s1", first, T0 + secs(3600)).await?);
    assert!(
        !s.session_insert("s1", "{}", T0 + secs(7200)).await?,
        "a taken id is refused"
    );
    assert_eq!(
        s.session_load("s1", T0).await?.as_deref(),
        Some(first),
        "and not overwritten"
    );

    let second = r#"{"account":"a","csrf":"2"}"#;
    s.session_save("s1", second, T0 + secs(7200)).await?;
    assert_eq!(
        s.session_load("s1", T0 + secs(5400)).await?.as_deref(),
        Some(second)
    );

    s.session_save("s2", "{}", T0 + secs(60)).await?;
    assert_eq!(s.session_load("s2", T0).await?.as_deref(), Some("{}"));
    assert_eq!(
        s.session_load("s2", T0 + secs(60)).await?,
        None,
        "expired at its expiry instant"
    );
    assert_eq!(s.session_load("missing", T0).await?, None);

    s.session_delete("s1").await?;
    assert_eq!(s.session_load("s1", T0).await?, None);
    s.session_delete("s1").await?;

    assert!(s.session_insert("s3", "{}", T0 + secs(10)).await?);
    assert!(s.session_insert("s4", "{}", T0 + secs(3600)).await?);
    assert_eq!(s.session_delete_expired(T0 + secs(60)).await?, 2);
    assert_eq!(s.session_load("s4", T0).await?.as_deref(), Some("{}"));
    assert_eq!(s.session_delete_expired(T0 + secs(60)).await?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

async fn audit_entries_are_listed_newest_first_and_filtered<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let other = tenant(s, "minami").await?;
    let (alice, bob) = (AccountId::new(), AccountId::new());
    let entry = |minutes: i64, actor: Option<AccountId>, action: &str| NewAuditEntry {
        at: T0 + Duration::minutes(minutes),
        actor_kind: if actor.is_some() {
            ActorKind::Staff
        } else {
            ActorKind::System
        },
        actor_id: actor,
        action: action.to_owned(),
        target: actor.map(|a| format!("account:{a}")),
        details: json!({"minute": minutes, "nested": {"ids": [1, 2]}}),
    };
    let mut first = entry(0, Some(alice), "staff.sign_in");
    first.at += Duration::nanoseconds(999); // dropped alike by both databases
    let e1 = s.append_audit(t.id, &first).await?;
    let e2 = s
        .append_audit(t.id, &entry(1, Some(alice), "staff.roles_changed"))
        .await?;
    let e3 = s
        .append_audit(t.id, &entry(2, Some(bob), "office.created"))
        .await?;
    let e4 = s
        .append_audit(t.id, &entry(3, Some(bob), "staff.sign_in"))
        .await?;
    let e5 = s.append_audit(t.id, &entry(4, None, "jobs.purged")).await?;
    let theirs = s
        .append_audit(other.id, &entry(5, None, "staff.sign_in"))
        .await?;
    assert_eq!(e1.at, T0);
    assert_eq!(e2.details, json!({"minute": 1, "nested": {"ids": [1, 2]}}));

    let list = |filter: AuditFilter| async move {
        s.list_audit(
            t.id,
            &AuditFilter {
                limit: 100,
                ..filter
            },
        )
        .await
    };
    let all = list(AuditFilter::default()).await?;
    assert_eq!(
        all,
        vec![e5.clone(), e4.clone(), e3.clone(), e2.clone(), e1.clone()]
    );

    let prefix = |p: &str| AuditFilter {
        action_prefix: Some(p.to_owned()),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(prefix("staff.")).await?,
        vec![e4.clone(), e2.clone(), e1.clone()]
    );
    assert_eq!(
        list(prefix("staff.sign_in")).await?,
        vec![e4.clone(), e1.clone()]
    );
    // A prefix is literal text, not a pattern.
    assert_eq!(list(prefix("staff%")).await?, Vec::<AuditEntry>::new());
    assert_eq!(list(prefix("_taff")).await?, Vec::<AuditEntry>::new());

    let by_actor = AuditFilter {
        actor_id: Some(alice),
        ..AuditFilter::default()
    };
    assert_eq!(list(by_actor).await?, vec![e2.clone(), e1.clone()]);
    let range = AuditFilter {
        from: Some(T0 + Duration::minutes(1)),
        until: Some(T0 + Duration::minutes(3)),
        ..AuditFilter::default()
    };
    assert_eq!(
        list(range).await?,
        vec![e3.clone(), e2.clone()],
        "from is inclusive, until exclusive"
    );
    let before = AuditFilter {
        before: Some(T0 + Duration::minutes(2)),
        ..AuditFilter::default()
    };
    assert_eq!(list(before).await?, vec![e2.clone(), e1.clone()]);
    let limited = s
        .list_audit(
            t.id,
            &AuditFilter {
                limit: 2,
                ..AuditFilter::default()
            },
        )
        .await?;
    assert_eq!(limited, vec![e5, e4]);
    assert_eq!(
        s.list_audit(
            other.id,
            &AuditFilter {
                limit: 100,
                ..AuditFilter::default()
            }
        )
        .await?,
        vec![theirs]
    );
    Ok(())
}

async fn the_audit_log_refuses_to_be_rewritten<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let entry = s
        .append_audit(
            t.id,
            &NewAuditEntry {
                at: T0,
                actor_kind: ActorKind::Anonymous,
                actor_id: None,
                action: "resident.sign_up".into(),
                target: None,
                details: json!({}),
            },
        )
        .await?;

    let update = s
        .execute_raw("UPDATE audit_log SET action = 'tampered'")
        .await;
    assert!(
        update
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "UPDATE: {update:?}"
    );
    let delete = s.execute_raw("DELETE FROM audit_log").await;
    assert!(
        delete
            .as_ref()
            .is_err_and(|e| e.to_string().contains("append-only")),
        "DELETE: {delete:?}"
    );
    // SQLite has no TRUNCATE; PostgreSQL refuses it with a statement trigger.
    assert!(
        s.execute_raw("TRUNCATE audit_log").await.is_err(),
        "TRUNCATE"
    );

    assert_eq!(
        s.list_audit(
            t.id,
            &AuditFilter {
                limit: 10,
                ..AuditFilter::default()
            }
        )
        .await?,
        vec![entry]
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------------

async fn a_job_is_claimed_only_once_it_is_due<S: Backend>(s: &S) -> anyhow::Result<()> {
    let t = tenant(s, "kita").await?;
    let due = s.enqueue_job(&new_job(Some(t.id), T0)).await?;
    let later = s.enqueue_job(&new_job(None, T0 + secs(3600))).await?;

    assert_eq!(s.claim_jobs("w1", T0 - secs(1), 60, 10).await?, vec![]);
    let claimed = s.claim_jobs("w1", T0, 60, 10).await?;
    assert_eq!(claimed.len(), 1);
    let job = &claimed[0];
    assert_eq!(
        (job.id, job.tenant_id, job.kind.as_str()),
        (due, Some(t.id), "mail.send")
    );
    assert_eq!(job.payload, json!({"template": "verify_email", "n": 1}));
    assert_eq!(
        (job.status, job.attempts, job.max_attempts),
        (JobStatus::Running, 1, 3)
    );
    assert_eq!(
        (job.locked_by.as_deref(), job.lease_until, job.run_at),
        (Some("w1"), Some(T0 + secs(60)), T0)
    );
    assert_eq!(s.job(due).await?, *job);

    assert_eq!(
        s.claim_jobs("w2", T0 + secs(30), 60, 10).await?,
        vec![],
        "leased and not yet due"
    );
    let waiting = s.job(later).await?;
    assert_eq!(
        (waiting.status, waiting.attempts, waiting.locked_by),
        (JobStatus::Queued, 0, None)
    );

    s.complete_job(due, "w1", T0 + secs(5)).await?;
    let claimed: Vec<_> = s
        .claim_jobs("w2", T0 + secs(3600), 60, 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(claimed, vec![later]);

    // At most `limit` at a time, and nothing for a limit of zero or less.
    for _ in 0..3 {
        s.enqueue_job(&new_job(Some(t.id), T0)).await?;
    }
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 0).await?, vec![]);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, -1).await?, vec![]);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 2);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 1);
    assert_eq!(s.claim_jobs("w3", T0 + secs(3600), 60, 2).await?.len(), 0);
    let done: Vec<_> = s
        .list_jobs(Some(t.id), Some(JobStatus::Done), 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(done, vec![due]);
    assert_eq!(
        s.list_jobs(Some(t.id), Some(JobStatus::Running), 10)
            .await?
            .len(),
        3
    );
    assert_eq!(s.list_jobs(None, None, 10).await?.len(), 5);
    Ok(())
}

async fn a_leased_job_is_taken_over_only_after_its_lease_expires<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    assert_eq!(s.claim_jobs("w1", T0, 60, 10).await?.len(), 1);

    assert_eq!(s.claim_jobs("w2", T0 + secs(59), 60, 10).await?, vec![]);
    assert_eq!(
        s.claim_jobs("w2", T0 + secs(60), 60, 10).await?,
        vec![],
        "a lease runs until its last instant"
    );
    let taken = s.claim_jobs("w2", T0 + secs(61), 60, 10).await?;
    assert_eq!(taken.len(), 1);
    assert_eq!((taken[0].id, taken[0].attempts), (id, 2));
    assert_eq!(
        (taken[0].locked_by.as_deref(), taken[0].lease_until),
        (Some("w2"), Some(T0 + secs(121)))
    );

    // The worker that lost its lease can no longer finish or fail the job.
    assert_not_found(s.complete_job(id, "w1", T0 + secs(62)).await);
    assert_not_found(s.fail_job(id, "w1", "late", None, T0 + secs(62)).await);
    s.complete_job(id, "w2", T0 + secs(63)).await?;
    assert_eq!(s.job(id).await?.status, JobStatus::Done);
    Ok(())
}

async fn only_the_lease_holder_completes_a_job<S: Backend>(s: &S) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    s.claim_jobs("w1", T0, 60, 10).await?;
    assert_not_found(s.complete_job(id, "w2", T0 + secs(1)).await);
    assert_eq!(s.job(id).await?.status, JobStatus::Running);

    s.complete_job(id, "w1", T0 + secs(2)).await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.finished_at, job.lease_until, job.last_error),
        (JobStatus::Done, Some(T0 + secs(2)), None, None)
    );
    assert_not_found(s.complete_job(id, "w1", T0 + secs(3)).await);
    assert_eq!(
        s.claim_jobs("w2", T0 + secs(3600), 60, 10).await?,
        vec![],
        "a done job never runs again"
    );
    assert_not_found(
        s.complete_job(madoguchi_domain::JobId::new(), "w1", T0)
            .await,
    );
    Ok(())
}

async fn a_failed_job_is_retried_with_its_error_or_failed_for_good<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    let id = s.enqueue_job(&new_job(None, T0)).await?;
    s.claim_jobs("w1", T0, 60, 10).await?;
    s.fail_job(
        id,
        "w1",
        "smtp 451 try later",
        Some(T0 + secs(300)),
        T0 + secs(1),
    )
    .await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.run_at, job.attempts),
        (JobStatus::Queued, T0 + secs(300), 1)
    );
    assert_eq!(
        (
            job.last_error.as_deref(),
            job.locked_by,
            job.lease_until,
            job.finished_at
        ),
        (Some("smtp 451 try later"), None, None, None)
    );

    assert_eq!(
        s.claim_jobs("w2", T0 + secs(299), 60, 10).await?,
        vec![],
        "not before the retry time"
    );
    let retried = s.claim_jobs("w2", T0 + secs(300), 60, 10).await?;
    assert_eq!(retried.len(), 1);
    assert_eq!((retried[0].id, retried[0].attempts), (id, 2));

    s.fail_job(id, "w2", "smtp 550 no such user", None, T0 + secs(301))
        .await?;
    let job = s.job(id).await?;
    assert_eq!(
        (job.status, job.finished_at, job.attempts),
        (JobStatus::Failed, Some(T0 + secs(301)), 2)
    );
    assert_eq!(job.last_error.as_deref(), Some("smtp 550 no such user"));
    assert_eq!(
        s.claim_jobs("w3", T0 + secs(86_400), 60, 10).await?,
        vec![],
        "a failed job never runs again"
    );
    assert_not_found(s.fail_job(id, "w2", "again", None, T0 + secs(302)).await);
    let failed: Vec<_> = s
        .list_jobs(None, Some(JobStatus::Failed), 10)
        .await?
        .into_iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(failed, vec![id]);
    assert_eq!(
        s.list_jobs(None, Some(JobStatus::Queued), 10).await?,
        vec![]
    );
    Ok(())
}

async fn ten_workers_claim_a_hundred_jobs_each_exactly_once<S: Backend>(
    s: &S,
) -> anyhow::Result<()> {
    const JOBS: usize = 100;
    const WORKERS: usize = 10;
    let mut enqueued = HashSet::new();
    for _ in 0..JOBS {
        enqueued.insert(s.enqueue_job(&new_job(None, T0)).await?);
    }

    let start = Arc::new(Barrier::new(WORKERS));
    let workers = (0..WORKERS).map(|n| {
        let (s, start) = (s.clone(), start.clone());
        tokio::spawn(async move {
            let worker = format!("worker-{n}");
            start.wait().await;
            let mut mine = Vec::new();
            loop {
                let batch = s.claim_jobs(&worker, T0, 300, 5).await?;
                assert!(batch.len() <= 5, "{worker} got {} jobs", batch.len());
                if batch.is_empty() {
                    return anyhow::Ok((worker, mine));
                }
                mine.extend(batch.into_iter().map(|job| job.id));
            }
        })
    });
    let mut claimed = HashSet::new();
    let mut total = 0;
    for result in join_all(workers).await {
        let (worker, mine) = result??;
        total += mine.len();
        for id in mine {
            let job = s.job(id).await?;
            assert_eq!(
                (job.locked_by.as_deref(), job.attempts),
                (Some(worker.as_str()), 1),
                "job {id}"
            );
            claimed.insert(id);
        }
    }
    assert_eq!(total, JOBS, "no job was claimed twice");
    assert_eq!(claimed, enqueued, "every job was claimed");
    assert_eq!(
        s.list_jobs(None, Some(JobStatus::Queued), 1000).await?,
        vec![]
    );
    Ok(())
}
