//! Public pages: the city's home, static assets and the not-found page.

use crate::http::Ctx;
use crate::http::auth::MaybeSignedIn;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use crate::view::page::page_base;
use crate::view::stylesheets;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use madoguchi_domain::ErrorCode;
use minijinja::context;
use serde::Serialize;
use tower_sessions::Session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        // Stylesheets are compressed for browsers that accept it; pages are not, because they
        // carry a CSRF token next to what the visitor typed (BREACH).
        .route(
            "/static/{file}",
            get(static_file).layer(tower_http::compression::CompressionLayer::new()),
        )
}

#[derive(Serialize)]
struct OfficeCard {
    name: String,
    kind: &'static str,
}

/// The city's home: what residents can do here, and where the offices are.
async fn home(
    State(state): State<AppState>,
    ctx: Ctx,
    MaybeSignedIn(auth): MaybeSignedIn,
    session: Session,
) -> AppResult<Html<String>> {
    // Signed-out visitors all see the same page: serve it from the page cache when allowed.
    let cache_key = (auth.is_none() && state.config.anonymous_page_cache)
        .then(|| crate::state::home_page_key(ctx.tenant.id, ctx.lang));
    if let Some(page) = cache_key.as_deref().and_then(|key| state.pages.get(key)) {
        return Ok(Html(page.as_ref().clone()));
    }
    let session_ref = auth.is_some().then_some(&session);
    let base = page_base(&ctx, auth.map(|a| a.kind), session_ref, false).await?;
    let offices: Vec<OfficeCard> = state
        .offices(ctx.tenant.id)
        .await?
        .iter()
        .map(|o| OfficeCard {
            kind: o.kind.label(ctx.lang),
            name: o.name(ctx.lang).to_owned(),
        })
        .collect();
    // What this build has and the city has on; nothing else is offered, not even as a card.
    let offers: Vec<&str> =
        madoguchi_usecases::capabilities::of_city(&*state.storage, ctx.tenant.id)
            .await?
            .offered()
            .into_iter()
            .map(|c| c.as_str())
            .collect();
    let Html(page) =
        state
            .templates
            .page("home.html", &base, context! { offices => offices, offers })?;
    if let Some(key) = cache_key {
        state.pages.put(&key, std::sync::Arc::new(page.clone()));
    }
    Ok(Html(page))
}

/// The 404 page in the caller's language (rendered by the context middleware).
pub async fn not_found() -> AppError {
    AppError::new(ErrorCode::NotFound)
}

async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "app.css" => (stylesheets::APP_CSS.as_str(), "text/css; charset=utf-8"),
        "tokens.css" => (stylesheets::TOKENS_CSS.as_str(), "text/css; charset=utf-8"),
        // The remote counter's call page, the only page that needs script.
        "counter-call.js" => (
            include_str!("../../../../web/static/counter-call.js"),
            "text/javascript; charset=utf-8",
        ),
        "kiosk.js" => (
            include_str!("../../../../web/static/kiosk.js"),
            "text/javascript; charset=utf-8",
        ),
        "device-check.js" => (
            include_str!("../../../../web/static/device-check.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return AppError::new(ErrorCode::NotFound).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
