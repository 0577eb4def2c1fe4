//! The storage contract of the foundation (schema, tenants, offices, accounts and roles): one set of stories, each run against SQLite and PostgreSQL on a fresh
//! database, so both backends behave alike down to error names and instant precision.
//!
//! Every story becomes `contract::<story>::on_sqlite` and `contract::<story>::on_postgres`
//! (the same shape as the HTTP tests' `on_both_backends!`), so `cargo test on_postgres` runs
//! one backend's half. Instants are fixed (`T0`) rather than read from the clock, so lease,
//! lockout and expiry boundaries are tested exactly.

use madoguchi_domain::{
    AccountId, AccountKind, DepartmentId, Email, OfficeId, OfficeKind, Role, RoleAssignment,
    TenantId,
};
use madoguchi_storage::{
    Department, LockoutPolicy, MigrationReport, NewDepartment, NewJob, NewOffice, NewOneTimeToken,
    Office, PasswordHash, StorageError, StorageResult, TokenPurpose,
};
use madoguchi_tests::db::Backend;
use madoguchi_tests::fixtures::*;
use serde_json::json;
use std::fmt::Debug;
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
);

// ---------------------------------------------------------------------------------------------
// Builders and assertions
// ---------------------------------------------------------------------------------------------

pub(crate) fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid email")
}

pub(crate) fn new_office(raw_code: &str, kind: OfficeKind) -> NewOffice {
    NewOffice {
        code: code(raw_code),
        kind,
        name_ja: format!("{raw_code}庁舎"),
        name_en: format!("{raw_code} office"),
    }
}

pub(crate) fn new_department(raw_code: &str, office_id: Option<OfficeId>) -> NewDepartment {
    NewDepartment {
        code: code(raw_code),
        name_ja: format!("{raw_code}課"),
        name_en: format!("{raw_code} division"),
        office_id,
    }
}

pub(crate) fn role(
    role: Role,
    office_id: Option<OfficeId>,
    department_id: Option<DepartmentId>,
) -> RoleAssignment {
    RoleAssignment::new(role, office_id, department_id).expect("valid role scope")
}

pub(crate) fn admin() -> RoleAssignment {
    role(Role::Admin, None, None)
}

pub(crate) fn new_token(
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

pub(crate) fn new_job(tenant_id: Option<TenantId>, run_at: OffsetDateTime) -> NewJob {
    NewJob {
        tenant_id,
        kind: "mail.send".into(),
        payload: json!({"template": "verify_email", "n": 1}),
        run_at,
        max_attempts: 3,
    }
}

#[track_caller]
pub(crate) fn assert_duplicate<T: Debug>(result: StorageResult<T>, constraint: &str) {
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

pub(crate) fn assert_last_admin<T: Debug>(result: StorageResult<T>) {
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
