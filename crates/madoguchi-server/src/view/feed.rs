//! The calendar-feed section of the "my reservations" page, and the session flag a reissue
//! leaves for it.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_domain::AccountId;
use madoguchi_usecases::feed::{self, FeedDeps};
use madoguchi_usecases::{Actor, Scope};

const FLASH_KEY: &str = "feed_flash";

/// The feed use cases' dependencies from the server's state.
pub fn deps(state: &AppState) -> FeedDeps<'_, dyn madoguchi_storage::Storage> {
    FeedDeps {
        store: &*state.storage,
        secret: &state.config.api_token_secret,
        public_url: &state.config.public_url,
    }
}

/// The scope of a resident acting on their own feed.
pub fn resident_scope(state: &AppState, ctx: &Ctx, account: AccountId) -> Scope {
    state.scope(ctx.tenant.id, Actor::Resident(account))
}

/// The feed section of the "my reservations" page.
#[derive(Debug, serde::Serialize)]
pub struct FeedView {
    pub url: String,
    pub webcal_url: Option<String>,
    /// Tokyo time, `2026-11-21 09:05`.
    pub issued_at: String,
    /// The URL was just reissued.
    pub reissued: bool,
}

/// The feed section of the "my reservations" page (issuing the feed on first view), with the
/// message of a reissue just done.
pub async fn feed_view(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    session: &tower_sessions::Session,
) -> AppResult<FeedView> {
    let reissued: Option<bool> = session
        .remove(FLASH_KEY)
        .await
        .map_err(AppError::internal)?;
    let scope = resident_scope(state, ctx, account);
    let urls = feed::feed_urls(&deps(state), &scope, &ctx.tenant, account).await?;
    Ok(FeedView {
        issued_at: madoguchi_domain::tokyo::format_tokyo_minutes(urls.issued_at),
        url: urls.url,
        webcal_url: urls.webcal_url,
        reissued: reissued.unwrap_or(false),
    })
}

/// Remembers, for the next "my reservations" page, that the URL was reissued.
pub async fn flash_reissued(session: &tower_sessions::Session) -> AppResult<()> {
    session
        .insert(FLASH_KEY, true)
        .await
        .map_err(AppError::internal)
}
