//! Staff pages: the staff home, an office's roster (scoped: branch staff see only their own
//! office), and the administrator's pages for offices, departments, staff and roles.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::input::{RoleInput, parse_roles};
use crate::state::AppState;
use crate::view::page::{form_errors, staff_base};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::{AccountId, AccountKind, ErrorCode, OfficeId, OfficeKind, Role};
use madoguchi_usecases::accounts::{self, NewStaffInput};
use madoguchi_usecases::{Actor, org};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(staff_home))
        .route("/staff/offices/{id}", get(office_page))
        .route("/admin/offices", get(offices).post(create_office))
        .route(
            "/admin/departments",
            get(departments).post(create_department),
        )
        .route("/admin/staff", get(staff_list).post(invite_staff))
        .route("/admin/staff/{id}/roles", post(add_role))
        .route("/admin/staff/{id}/roles/remove", post(remove_role))
}

#[derive(Serialize)]
struct RoleView {
    /// The role with its office and department, as one phrase.
    summary: String,
    role: String,
    office: Option<String>,
    department: Option<String>,
}

async fn role_views(
    state: &AppState,
    ctx: &Ctx,
    roles: &[madoguchi_domain::RoleAssignment],
) -> AppResult<Vec<RoleView>> {
    let offices = state.storage.list_offices(ctx.tenant.id).await?;
    let departments = state.storage.list_departments(ctx.tenant.id).await?;
    Ok(roles
        .iter()
        .map(|r| {
            let role = r.role.label(ctx.lang).to_owned();
            let office = r
                .office_id
                .and_then(|id| offices.iter().find(|o| o.id == id))
                .map(|o| o.name(ctx.lang).to_owned());
            let department = r
                .department_id
                .and_then(|id| departments.iter().find(|d| d.id == id))
                .map(|d| d.name(ctx.lang).to_owned());
            RoleView {
                summary: role_summary(ctx.lang, &role, office.as_deref(), department.as_deref()),
                role,
                office,
                department,
            }
        })
        .collect())
}

/// A role read as a role, with where it applies: 会計担当（会計課）, 支所職員（北支所）,
/// "Finance officer (Accounting Division)".
fn role_summary(
    lang: madoguchi_domain::Lang,
    role: &str,
    office: Option<&str>,
    department: Option<&str>,
) -> String {
    let scope: Vec<&str> = [office, department].into_iter().flatten().collect();
    if scope.is_empty() {
        return role.to_owned();
    }
    let joined = match lang {
        madoguchi_domain::Lang::Ja => scope.join("・"),
        madoguchi_domain::Lang::En => scope.join(", "),
    };
    crate::i18n::text(lang, "role_scope")
        .replace("{role}", role)
        .replace("{scope}", &joined)
}

#[derive(Serialize)]
struct OfficeView {
    id: String,
    code: String,
    kind: &'static str,
    name_ja: String,
    name_en: String,
    name: String,
    readable: bool,
}

async fn staff_home(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    let base = staff_base(&ctx, &staff, &session).await?;
    let roles = role_views(&state, &ctx, &staff.access.assignments).await?;
    let offices: Vec<OfficeView> = state
        .storage
        .list_offices(ctx.tenant.id)
        .await?
        .into_iter()
        .filter(|o| staff.access.may_read_office(o.id))
        .map(|o| office_view(&ctx, o, true))
        .collect();
    state.templates.page(
        "admin/index.html",
        &base,
        context! {
            display_name => staff.account.display_name.as_str(),
            roles,
            offices,
            tasks => context! {
                reservations => staff.access.handles_reservations(),
                admin => staff.access.is_admin(),
                finance => staff.access.may_read_finance(),
                counter => staff.access.may_take_counter_payment(None),
                office => staff.access.has_role(Role::BranchStaff)
                    || staff.access.has_role(Role::FacilityStaff),
            },
        },
    )
}

fn office_view(ctx: &Ctx, o: madoguchi_storage::Office, readable: bool) -> OfficeView {
    OfficeView {
        id: o.id.to_string(),
        code: o.code.as_str().to_owned(),
        kind: o.kind.label(ctx.lang),
        name: o.name(ctx.lang).to_owned(),
        name_ja: o.name_ja,
        name_en: o.name_en,
        readable,
    }
}

#[derive(Serialize)]
struct StaffView {
    id: String,
    display_name: String,
    email: String,
    roles: Vec<RoleView>,
    disabled: bool,
}

async fn office_page(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
) -> AppResult<Html<String>> {
    let office_id = OfficeId(id);
    if !staff.access.may_read_office(office_id) {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let office = state.storage.office(ctx.tenant.id, office_id).await?;
    let mut members = Vec::new();
    for account in state
        .storage
        .list_accounts(ctx.tenant.id, AccountKind::Staff)
        .await?
    {
        let roles = state.storage.roles(ctx.tenant.id, account.id).await?;
        if roles.iter().any(|r| r.office_id == Some(office_id)) {
            members.push(StaffView {
                id: account.id.to_string(),
                display_name: account.display_name.as_str().to_owned(),
                email: account.email.as_str().to_owned(),
                roles: role_views(&state, &ctx, &roles).await?,
                disabled: account.disabled,
            });
        }
    }
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "admin/office.html",
        &base,
        context! { office => office_view(&ctx, office, true), members },
    )
}

#[derive(Serialize)]
struct KindOption {
    value: &'static str,
    label: &'static str,
}

async fn render_offices(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let base = staff_base(ctx, staff, session).await?;
    let offices: Vec<OfficeView> = state
        .storage
        .list_offices(ctx.tenant.id)
        .await?
        .into_iter()
        .map(|o| office_view(ctx, o, true))
        .collect();
    let kinds: Vec<KindOption> = OfficeKind::ALL
        .iter()
        .map(|k| KindOption {
            value: k.as_str(),
            label: k.label(ctx.lang),
        })
        .collect();
    state.templates.page(
        "admin/offices.html",
        &base,
        context! { offices, kinds, ..extra },
    )
}

async fn offices(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    render_offices(
        &state,
        &ctx,
        &session,
        &staff,
        context! { values => context!{} },
    )
    .await
}

#[derive(Deserialize, Serialize)]
struct OfficeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    name_en: String,
}

async fn create_office(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<OfficeForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let result = async {
        let new = org::parse_office(&form.code, &form.kind, &form.name_ja, &form.name_en)?;
        let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
        org::create_office(&*state.storage, &state, &scope, &new)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/offices").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error, ctx.lang)?;
            let page = render_offices(
                &state,
                &ctx,
                &session,
                &staff,
                context! { values => form, errors, alert },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Serialize)]
struct DepartmentView {
    code: String,
    name_ja: String,
    name_en: String,
    office: Option<String>,
}

async fn render_departments(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let base = staff_base(ctx, staff, session).await?;
    let offices = state.storage.list_offices(ctx.tenant.id).await?;
    let departments: Vec<DepartmentView> = state
        .storage
        .list_departments(ctx.tenant.id)
        .await?
        .into_iter()
        .map(|d| DepartmentView {
            office: d
                .office_id
                .and_then(|id| offices.iter().find(|o| o.id == id))
                .map(|o| o.name(ctx.lang).to_owned()),
            code: d.code.as_str().to_owned(),
            name_ja: d.name_ja,
            name_en: d.name_en,
        })
        .collect();
    let office_options: Vec<OfficeView> = offices
        .into_iter()
        .map(|o| office_view(ctx, o, true))
        .collect();
    state.templates.page(
        "admin/departments.html",
        &base,
        context! { departments, offices => office_options, ..extra },
    )
}

async fn departments(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    render_departments(
        &state,
        &ctx,
        &session,
        &staff,
        context! { values => context!{} },
    )
    .await
}

#[derive(Deserialize, Serialize)]
struct DepartmentForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_ja: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    office_id: String,
}

fn optional_uuid(field: &str, raw: &str) -> AppResult<Option<Uuid>> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(raw.trim())
        .map(Some)
        .map_err(|_| AppError::field(field, ErrorCode::ValidationFailed))
}

async fn create_department(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<DepartmentForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let result = async {
        let office_id = optional_uuid("office_id", &form.office_id)?;
        let new = org::parse_department(&form.code, &form.name_ja, &form.name_en, office_id)?;
        let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
        org::create_department(&*state.storage, &scope, &new)
            .await
            .map_err(AppError::from)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/departments").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error, ctx.lang)?;
            let page = render_departments(
                &state,
                &ctx,
                &session,
                &staff,
                context! { values => form, errors, alert },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Serialize)]
struct StaffRow {
    id: String,
    display_name: String,
    email: String,
    roles: Vec<(usize, RoleView)>,
    disabled: bool,
}

async fn render_staff(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let base = staff_base(ctx, staff, session).await?;
    let mut rows = Vec::new();
    for account in state
        .storage
        .list_accounts(ctx.tenant.id, AccountKind::Staff)
        .await?
    {
        let roles = state.storage.roles(ctx.tenant.id, account.id).await?;
        rows.push(StaffRow {
            id: account.id.to_string(),
            display_name: account.display_name.as_str().to_owned(),
            email: account.email.as_str().to_owned(),
            roles: role_views(state, ctx, &roles)
                .await?
                .into_iter()
                .enumerate()
                .collect(),
            disabled: account.disabled,
        });
    }
    let offices: Vec<OfficeView> = state
        .storage
        .list_offices(ctx.tenant.id)
        .await?
        .into_iter()
        .map(|o| office_view(ctx, o, true))
        .collect();
    let departments: Vec<BTreeMap<&str, String>> = state
        .storage
        .list_departments(ctx.tenant.id)
        .await?
        .into_iter()
        .map(|d| {
            BTreeMap::from([
                ("id", d.id.to_string()),
                ("name", d.name(ctx.lang).to_owned()),
            ])
        })
        .collect();
    let roles: Vec<KindOption> = Role::ALL
        .iter()
        .map(|r| KindOption {
            value: r.as_str(),
            label: r.label(ctx.lang),
        })
        .collect();
    state.templates.page(
        "admin/staff.html",
        &base,
        context! { staff => rows, offices, departments, roles, ..extra },
    )
}

async fn staff_list(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    render_staff(
        &state,
        &ctx,
        &session,
        &staff,
        context! { values => context!{} },
    )
    .await
}

#[derive(Deserialize, Serialize)]
struct InviteForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    office_id: String,
    #[serde(default)]
    department_id: String,
}

fn role_from_form(
    role: &str,
    office_id: &str,
    department_id: &str,
) -> AppResult<Vec<madoguchi_domain::RoleAssignment>> {
    let input = RoleInput {
        role: role.to_owned(),
        office_id: optional_uuid("office_id", office_id)?,
        department_id: optional_uuid("department_id", department_id)?,
    };
    parse_roles(&[input])
}

async fn invite_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<InviteForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let result = async {
        let roles = role_from_form(&form.role, &form.office_id, &form.department_id)?;
        let input = NewStaffInput {
            display_name: form.display_name.clone(),
            email: form.email.clone(),
            locale: ctx.lang,
            roles,
        };
        let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
        let deps = state.accounts(&ctx.tenant);
        Ok(accounts::invite_staff(&deps, &scope, input).await?)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error, ctx.lang)?;
            let page = render_staff(
                &state,
                &ctx,
                &session,
                &staff,
                context! { values => form, errors, alert },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    office_id: String,
    #[serde(default)]
    department_id: String,
}

async fn add_role(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<RoleForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let result = async {
        let added = role_from_form(&form.role, &form.office_id, &form.department_id)?;
        let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
        Ok(accounts::add_roles(&*state.storage, &scope, AccountId(id), added).await?)
    }
    .await;
    match result {
        Ok(()) => Ok(Redirect::to("/admin/staff").into_response()),
        Err(error) => {
            let (status, errors, alert) = form_errors(error, ctx.lang)?;
            let page = render_staff(
                &state,
                &ctx,
                &session,
                &staff,
                context! { values => context!{}, errors, alert },
            )
            .await?;
            Ok((status, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct RemoveRoleForm {
    index: usize,
}

async fn remove_role(
    State(state): State<AppState>,
    ctx: Ctx,
    staff: StaffSession,
    Path(id): Path<Uuid>,
    PageForm(form): PageForm<RemoveRoleForm>,
) -> AppResult<Redirect> {
    staff.require_admin()?;
    let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
    accounts::remove_role(&*state.storage, &scope, AccountId(id), form.index).await?;
    Ok(Redirect::to("/admin/staff"))
}
