//! The resident's calendar feed over HTTP: the feed itself (`GET /calendar/{token}.ics`, no
//! session: calendar apps fetch it on their own), the reissue form of the "my reservations"
//! page, and `GET /api/v1/me/calendar-feed` for API clients.

use crate::http::error::{AppError, AppResult};
use crate::http::{ApiCaller, Ctx, ResidentSession};
use crate::state::AppState;
use crate::view::feed::{deps, flash_reissued, resident_scope};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use madoguchi_auth::ApiScope;
use madoguchi_domain::{AccountKind, ErrorCode};
use madoguchi_usecases::{Actor, feed};
use serde::Serialize;
use time::OffsetDateTime;
use tower_sessions::Session;
use utoipa::ToSchema;

pub fn router() -> Router<AppState> {
    Router::new()
        // The path ends in `.ics`; the router cannot match a suffix, so the handler strips it.
        .route("/calendar/{file}", get(calendar))
        .route("/my/calendar-feed/reissue", post(reissue))
}

/// Routes under `/api/v1`.
pub fn api_router() -> Router<AppState> {
    Router::new().route("/me/calendar-feed", get(calendar_feed))
}

async fn calendar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
) -> AppResult<Response> {
    // Calendar apps fetch the feed without a session: the token is the only credential.
    let scope = state.scope(ctx.tenant.id, Actor::Anonymous);
    let body = feed::calendar(&deps(&state), &scope, &ctx.tenant, &file).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"reservations.ics\"",
            ),
            // Personal: no shared cache may keep it; apps poll hourly (REFRESH-INTERVAL).
            (header::CACHE_CONTROL, "private, max-age=300"),
            (header::HeaderName::from_static("x-robots-tag"), "noindex"),
        ],
        body,
    )
        .into_response())
}

async fn reissue(
    State(state): State<AppState>,
    ctx: Ctx,
    session: Session,
    resident: ResidentSession,
) -> AppResult<Redirect> {
    let account = resident.account.id;
    let scope = resident_scope(&state, &ctx, account);
    feed::reissue(&deps(&state), &scope, &ctx.tenant, account).await?;
    flash_reissued(&session).await?;
    Ok(Redirect::to("/my/reservations#calendar-feed"))
}

/// The caller's calendar feed.
#[derive(Serialize, ToSchema)]
pub struct CalendarFeedResponse {
    /// `https://…/calendar/<token>.ics`: a secret URL listing the caller's reservations
    /// (RFC 5545), for a calendar app to subscribe to. Anyone with it can read the list.
    pub url: String,
    /// The same URL as `webcal://`, which phones open in their calendar app (https only).
    pub webcal_url: Option<String>,
    /// When this URL was issued; reissuing on the "my reservations" page retires it.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
}

/// The URL of the resident's "my reservations" calendar feed, issued on first use.
#[utoipa::path(get, path = "/api/v1/me/calendar-feed", tag = "reservations", security(("bearer" = [])),
    responses((status = 200, body = CalendarFeedResponse),
        (status = 401, body = crate::http::error::ErrorBody),
        (status = 403, body = crate::http::error::ErrorBody, description = "staff accounts have no feed")))]
pub async fn calendar_feed(
    State(state): State<AppState>,
    ctx: Ctx,
    caller: ApiCaller,
) -> AppResult<Json<CalendarFeedResponse>> {
    caller.require(ApiScope::AccountRead)?;
    if caller.account.kind != AccountKind::Resident {
        return Err(AppError::new(ErrorCode::Forbidden));
    }
    let account = caller.account.id;
    let scope = resident_scope(&state, &ctx, account);
    let urls = feed::feed_urls(&deps(&state), &scope, &ctx.tenant, account).await?;
    Ok(Json(CalendarFeedResponse {
        url: urls.url,
        webcal_url: urls.webcal_url,
        issued_at: urls.issued_at,
    }))
}
