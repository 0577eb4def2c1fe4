//! The LINE section of the resident's account page, and the message a LINE action leaves for
//! it in the session.

use crate::http::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::state::AppState;
use madoguchi_domain::AccountId;
use madoguchi_usecases::{Actor, line};

/// The LINE section of the account page.
#[derive(Debug, serde::Serialize)]
pub struct AccountLineView {
    /// The city takes LINE notices at all.
    pub available: bool,
    pub linked: bool,
    /// Tokyo time, `2026-11-21 09:35`.
    pub linked_at: Option<String>,
    /// A message left by the last action (`unlinked`).
    pub flash: Option<String>,
}

const FLASH_KEY: &str = "line_flash";

/// The LINE section of a resident's account page; reads (and clears) the message of the last
/// action.
pub async fn account_view(
    state: &AppState,
    ctx: &Ctx,
    account: AccountId,
    session: &tower_sessions::Session,
) -> AppResult<AccountLineView> {
    let flash: Option<String> = session
        .remove(FLASH_KEY)
        .await
        .map_err(AppError::internal)?;
    let scope = state.scope(ctx.tenant.id, Actor::Resident(account));
    let status = line::link_status(&*state.storage, &scope, account).await?;
    Ok(AccountLineView {
        available: status.available,
        linked: status.linked_at.is_some(),
        linked_at: status
            .linked_at
            .map(madoguchi_domain::tokyo::format_tokyo_minutes),
        flash,
    })
}

/// Remembers a message for the next account page.
pub async fn set_flash(session: &tower_sessions::Session, message: &str) -> AppResult<()> {
    session
        .insert(FLASH_KEY, message)
        .await
        .map_err(AppError::internal)
}
