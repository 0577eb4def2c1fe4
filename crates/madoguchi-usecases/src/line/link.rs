//! The resident's side of LINE: whether notices can go by LINE, issuing a link code, unlinking.

use super::code::{LINK_CODE_TTL_MIN, code_hash, new_link_code, normalize_code};
use crate::{Scope, UseCaseError, UseCaseResult, audit};
use madoguchi_domain::{AccountId, ErrorCode, TenantId};
use madoguchi_storage::{AuditStore, LineChannel, LineStore, NewLineLinkCode, StorageError};
use time::OffsetDateTime;

/// The tenant's channel if LINE is switched on.
async fn enabled_channel<S: LineStore + ?Sized>(
    store: &S,
    tenant: TenantId,
) -> UseCaseResult<Option<LineChannel>> {
    Ok(store.line_channel(tenant).await?.filter(|c| c.enabled))
}

/// Where a resident stands with LINE, for the account page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkStatus {
    /// The city takes LINE notices at all.
    pub available: bool,
    /// When the resident linked LINE, if they did.
    pub linked_at: Option<OffsetDateTime>,
}

pub async fn link_status<S: LineStore + ?Sized>(
    store: &S,
    scope: &Scope,
    account: AccountId,
) -> UseCaseResult<LinkStatus> {
    let available = enabled_channel(store, scope.tenant).await?.is_some();
    let link = store.line_link(scope.tenant, account).await?;
    Ok(LinkStatus {
        available,
        linked_at: link.map(|l| l.linked_at),
    })
}

/// A code just issued, with what the resident needs to send it.
#[derive(Debug, serde::Serialize)]
pub struct IssuedCode {
    pub code: String,
    pub expires_at: OffsetDateTime,
    /// Opens the official account's add-friend page, when its basic id is known.
    pub add_friend_url: Option<String>,
    /// Opens a chat with the official account with the code already typed in.
    pub send_url: Option<String>,
}

/// Issues a link code for `account`; earlier codes of the account stop working. `NotFound`
/// when the city has no LINE. Audited as the resident's action.
pub async fn issue_link_code<S: LineStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    account: AccountId,
) -> UseCaseResult<IssuedCode> {
    let channel = enabled_channel(store, scope.tenant)
        .await?
        .ok_or_else(|| UseCaseError::new(ErrorCode::NotFound))?;
    let now = scope.now();
    let expires_at = now + time::Duration::minutes(LINK_CODE_TTL_MIN);
    // 40 bits make a clash with another live code of the city unlikely; a clash is retried.
    let mut attempt = 0;
    let code = loop {
        attempt += 1;
        let code = new_link_code();
        let canonical = normalize_code(&code).ok_or_else(|| UseCaseError::internal("bad code"))?;
        let new = NewLineLinkCode {
            account_id: account,
            code_hash: code_hash(scope.tenant, &canonical),
            expires_at,
        };
        match store.create_line_link_code(scope.tenant, &new, now).await {
            Ok(()) => break code,
            Err(StorageError::Duplicate { .. }) if attempt < 3 => continue,
            Err(other) => return Err(other.into()),
        }
    };
    let target = Some(account.to_string());
    let details = serde_json::json!({});
    audit::record(store, scope, "resident.line_code_issued", target, details).await?;
    let basic_id = channel.basic_id.as_deref();
    Ok(IssuedCode {
        expires_at,
        add_friend_url: basic_id.map(|id| format!("https://line.me/R/ti/p/{id}")),
        send_url: basic_id.map(|id| format!("https://line.me/R/oaMessage/{id}/?{code}")),
        code,
    })
}

/// Removes the resident's link; audited when there was one. `true` when a link went.
pub async fn unlink<S: LineStore + AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    account: AccountId,
) -> UseCaseResult<bool> {
    let removed = store.delete_line_link(scope.tenant, account).await?;
    if removed {
        let target = Some(account.to_string());
        let details = serde_json::json!({});
        audit::record(store, scope, "resident.line_unlinked", target, details).await?;
    }
    Ok(removed)
}
