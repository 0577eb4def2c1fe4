//! The operators' pages of a city: the audit log, the mail outbox and background jobs.

use crate::http::Ctx;
use crate::http::auth::StaffSession;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::page::staff_base;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use madoguchi_domain::tokyo::format_tokyo_minutes;
use madoguchi_mail::OutboxMailer;
use madoguchi_storage::{AuditFilter, JobStatus};
use minijinja::context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit))
        .route("/admin/outbox", get(outbox))
        .route("/admin/outbox/{name}", get(outbox_message))
        .route("/admin/jobs", get(jobs))
}

#[derive(Deserialize, Serialize, Default)]
struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    before: String,
}

#[derive(Serialize)]
struct AuditView {
    at: String,
    at_raw: String,
    actor_kind: &'static str,
    actor_id: Option<String>,
    action: String,
    target: Option<String>,
    details: String,
}

async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    Query(query): Query<AuditQuery>,
) -> AppResult<Html<String>> {
    if !staff.access.may_read_audit_log() {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let before = if query.before.is_empty() {
        None
    } else {
        Some(
            time::OffsetDateTime::parse(
                &query.before,
                &time::format_description::well_known::Rfc3339,
            )
            .map_err(|_| AppError::new(ErrorCode::ValidationFailed))?,
        )
    };
    const PAGE: i64 = 50;
    let filter = AuditFilter {
        action_prefix: Some(query.action.trim().to_owned()).filter(|a| !a.is_empty()),
        before,
        limit: PAGE,
        ..AuditFilter::default()
    };
    let entries = state.storage.list_audit(ctx.tenant.id, &filter).await?;
    let next_before = (entries.len() as i64 == PAGE)
        .then(|| {
            entries.last().and_then(|e| {
                e.at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
        })
        .flatten();
    let rows: Vec<AuditView> = entries
        .into_iter()
        .map(|e| AuditView {
            at: format_tokyo_minutes(e.at),
            at_raw: e
                .at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            actor_kind: e.actor_kind.as_str(),
            actor_id: e.actor_id.map(|a| a.to_string()),
            action: e.action,
            target: e.target,
            details: e.details.to_string(),
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state.templates.page(
        "admin/audit.html",
        &base,
        context! { rows, action => query.action, next_before },
    )
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
    status: &'static str,
    attempts: i64,
    max_attempts: i64,
    run_at: String,
    last_error: Option<String>,
}

async fn jobs(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let jobs: Vec<JobView> = state
        .storage
        .list_jobs(Some(ctx.tenant.id), None::<JobStatus>, 200)
        .await?
        .into_iter()
        .map(|j| JobView {
            id: j.id.to_string(),
            kind: j.kind,
            status: j.status.as_str(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: format_tokyo_minutes(j.run_at),
            last_error: j.last_error,
        })
        .collect();
    let base = staff_base(&ctx, &staff, &session).await?;
    state
        .templates
        .page("admin/jobs.html", &base, context! { jobs })
}
