//! The operators' pages of a city: the administrator's index, the mail outbox and background
//! jobs (the audit log is in `audit_page`).

use super::audit_page::table_text;
use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::page::staff_base;
use crate::view::present::instant_label;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use madoguchi_domain::{AccountKind, ErrorCode};
use madoguchi_mail::OutboxMailer;
use madoguchi_storage::JobStatus;
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(admin_home))
        .route("/admin/audit", get(super::audit_page::audit))
        .route("/admin/outbox", get(outbox))
        .route("/admin/outbox/{name}", get(outbox_message))
        .route("/admin/jobs", get(jobs))
}

async fn outbox(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    if !staff.access.may_read_outbox() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let messages = match &state.config.outbox_dir {
        Some(dir) => OutboxMailer::list(dir, ctx.tenant.id, 200)
            .await
            .map_err(AppError::internal)?,
        None => Vec::new(),
    };
    let names: Vec<BTreeMap<&str, String>> = messages
        .into_iter()
        .map(|m| BTreeMap::from([("name", m.name), ("size", m.size_bytes.to_string())]))
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "admin/outbox.html",
        &base,
        context! { messages => names, enabled => state.config.outbox_dir.is_some() },
    )
}

#[derive(Deserialize, Default)]
struct MessageQuery {
    /// `1` for the stored `.eml` file itself, as the mail server would have received it.
    #[serde(default)]
    raw: String,
}

/// One message of the outbox, decoded by the mail adapter: sender, recipient, subject and the
/// text as the resident reads them (or the stored file itself with `?raw=1`).
async fn outbox_message(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Path(name): Path<String>,
    Query(query): Query<MessageQuery>,
) -> AppResult<Response> {
    if !staff.access.may_read_outbox() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let dir = state
        .config
        .outbox_dir
        .as_ref()
        .ok_or_else(|| AppError::new(ErrorCode::NotFound))?;
    let raw = OutboxMailer::read(dir, ctx.tenant.id, &name)
        .await
        .map_err(|_| AppError::new(ErrorCode::NotFound))?;
    let readable = if query.raw == "1" {
        None
    } else {
        madoguchi_mail::read_message(&raw)
    };
    let Some(mail) = readable else {
        return Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], raw).into_response());
    };
    let base = staff_base(&ctx, &staff, &session).await?;
    let message = context! {
        name,
        from => mail.from,
        to => mail.to,
        subject => mail.subject,
        date => mail.date,
        text => mail.text,
        attachments => mail.attachments,
    };
    Ok(state
        .templates
        .page("admin/outbox_message.html", &base, context! { message })?
        .into_response())
}

#[derive(Serialize)]
struct JobView {
    id: String,
    kind: String,
    kind_id: String,
    status: String,
    status_id: &'static str,
    attempts: i64,
    max_attempts: i64,
    run_at: String,
    run_at_raw: String,
    last_error: Option<String>,
}

async fn jobs(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let lang = ctx.lang;
    let jobs: Vec<JobView> = state
        .storage
        .list_jobs(Some(ctx.tenant.id), None::<JobStatus>, 200)
        .await?
        .into_iter()
        .map(|j| JobView {
            id: j.id.to_string(),
            kind: table_text(lang, "job_kinds", &j.kind).unwrap_or_else(|| j.kind.clone()),
            kind_id: j.kind,
            status: table_text(lang, "job_statuses", j.status.as_str())
                .unwrap_or_else(|| j.status.as_str().to_owned()),
            status_id: j.status.as_str(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: instant_label(j.run_at, lang),
            run_at_raw: j.run_at.format(&Rfc3339).unwrap_or_default(),
            last_error: j.last_error,
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state
        .templates
        .page("admin/jobs.html", &base, context! { jobs })
}

/// `/admin`: what an administrator can do, grouped as in the header, with counts that cost one
/// query each.
async fn admin_home(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let tenant = ctx.tenant.id;
    let offices = state.storage.list_offices(tenant).await?.len();
    let departments = state.storage.list_departments(tenant).await?.len();
    let staff_count = state
        .storage
        .list_accounts(tenant, AccountKind::Staff)
        .await?
        .len();
    let services = state.storage.list_services(tenant).await?.len();
    let failed_jobs = state
        .storage
        .list_jobs(Some(tenant), Some(JobStatus::Failed), 1000)
        .await?
        .len();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "admin/home.html",
        &base,
        context! {
            counts => context! { offices, departments, staff => staff_count, services, failed_jobs },
            outbox => state.config.outbox_dir.is_some(),
        },
    )
}
