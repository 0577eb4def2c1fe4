//! LINE pages: the resident's "link with LINE" code and unlinking (from the account page), and
//! the administrator's channel settings.

use crate::http::Ctx;
use crate::http::auth::{ResidentSession, StaffSession};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::PageForm;
use crate::state::AppState;
use crate::view::line::set_flash;
use crate::view::page::page_base;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use madoguchi_domain::{AccountKind, ErrorCode};
use madoguchi_storage::LineChannel;
use madoguchi_usecases::Actor;
use madoguchi_usecases::line::{self, ChannelForm};
use minijinja::context;
use std::collections::BTreeMap;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/line/code", post(issue_code))
        .route("/account/line/unlink", post(unlink))
        .route("/admin/line", get(settings).post(save_settings))
}

async fn issue_code(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
) -> AppResult<Html<String>> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    let issued = line::issue_link_code(&*state.storage, &scope, resident.account.id).await?;
    // Tokyo time, `2026-11-21 09:35`.
    let expires_at = madoguchi_domain::tokyo::format_tokyo_minutes(issued.expires_at);
    let base = page_base(&ctx, Some(AccountKind::Resident), Some(&session), false).await?;
    state.templates.page(
        "line_link.html",
        &base,
        context! {
            issued => context! {
                code => issued.code,
                expires_at,
                add_friend_url => issued.add_friend_url,
                send_url => issued.send_url,
            },
            minutes => line::LINK_CODE_TTL_MIN.to_string(),
        },
    )
}

async fn unlink(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
) -> AppResult<Redirect> {
    let scope = state.scope(ctx.tenant.id, Actor::Resident(resident.account.id));
    if line::unlink(&*state.storage, &scope, resident.account.id).await? {
        set_flash(&session, "unlinked").await?;
    }
    Ok(Redirect::to("/account"))
}

/// Renders the settings page for `values`, with the stored secrets masked in the hints.
async fn render_settings(
    state: &AppState,
    ctx: &Ctx,
    session: &Session,
    staff: &StaffSession,
    stored: Option<&LineChannel>,
    values: &ChannelForm,
    extra: minijinja::Value,
) -> AppResult<Html<String>> {
    let base = page_base(
        ctx,
        Some(AccountKind::Staff),
        Some(session),
        staff.access.is_admin(),
    )
    .await?;
    let lang = ctx.lang;
    let stored_hint = |masked: String| {
        crate::i18n::text(lang, "line_admin_secret_stored").replace("{masked}", &masked)
    };
    let secret_hint = match stored {
        Some(c) => stored_hint(line::mask(&c.channel_secret)),
        None => crate::i18n::text(lang, "line_admin_secret_hint"),
    };
    let token_hint = match stored {
        Some(c) => stored_hint(line::mask(&c.channel_access_token)),
        None => crate::i18n::text(lang, "line_admin_token_hint"),
    };
    let webhook_url = format!(
        "{}/hooks/line/{}",
        madoguchi_usecases::accounts::base_url_for(
            &state.config.public_url,
            ctx.tenant.host.as_deref(),
        ),
        ctx.tenant.slug.as_str()
    );
    state.templates.page(
        "admin/line.html",
        &base,
        context! {
            values,
            enabled => values.enabled.is_some(),
            configured => stored.is_some(),
            secret_hint,
            token_hint,
            webhook_url,
            ..extra
        },
    )
}

async fn settings(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
) -> AppResult<Html<String>> {
    staff.require_admin()?;
    let saved: Option<bool> = session
        .remove("line_saved")
        .await
        .map_err(AppError::internal)?;
    let stored = state.storage.line_channel(ctx.tenant.id).await?;
    let values = ChannelForm::from_channel(stored.as_ref());
    render_settings(
        &state,
        &ctx,
        &session,
        &staff,
        stored.as_ref(),
        &values,
        context! { saved => saved.unwrap_or(false) },
    )
    .await
}

async fn save_settings(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    staff: StaffSession,
    PageForm(form): PageForm<ChannelForm>,
) -> AppResult<Response> {
    staff.require_admin()?;
    let stored = state.storage.line_channel(ctx.tenant.id).await?;
    match line::parse_channel(&form, stored.as_ref()) {
        Ok(new) => {
            let scope = state.scope(ctx.tenant.id, Actor::Staff(staff.account.id));
            line::save_channel(&*state.storage, &scope, stored.as_ref(), &new).await?;
            session
                .insert("line_saved", true)
                .await
                .map_err(AppError::internal)?;
            Ok(Redirect::to("/admin/line").into_response())
        }
        Err(problems) => {
            let errors: BTreeMap<&str, String> = problems
                .iter()
                .map(|(field, key)| (*field, crate::i18n::text(ctx.lang, key)))
                .collect();
            let alert = ErrorCode::ValidationFailed.message(ctx.lang);
            let page = render_settings(
                &state,
                &ctx,
                &session,
                &staff,
                stored.as_ref(),
                &form,
                context! { errors, alert },
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}
