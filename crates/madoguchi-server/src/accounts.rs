//! What the server's modules not yet moved into the use-case layer (calendar, LINE, notices,
//! reservation routes) still reach by this path. The account flows themselves are in
//! `madoguchi_usecases::accounts`; new code calls `madoguchi_usecases::audit::record` and
//! `madoguchi_usecases::accounts::base_url_for`. Delete this module once nothing uses it.

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::state::AppState;
use madoguchi_domain::AccountId;
use madoguchi_storage::ActorKind;
pub use madoguchi_usecases::accounts::base_url_for;
use madoguchi_usecases::{Actor, audit as usecase_audit};

/// Appends to the audit log through `madoguchi_usecases::audit::record`. Ids only: names and
/// addresses stay out of the log.
pub async fn audit(
    state: &AppState,
    ctx: &Ctx,
    actor_kind: ActorKind,
    actor_id: Option<AccountId>,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> AppResult<()> {
    let actor = match (actor_kind, actor_id) {
        (ActorKind::Resident, Some(id)) => Actor::Resident(id),
        (ActorKind::Staff, Some(id)) => Actor::Staff(id),
        (ActorKind::System, _) => Actor::System,
        // An account kind without its id is recorded as nobody in particular.
        (ActorKind::Anonymous | ActorKind::Resident | ActorKind::Staff, _) => Actor::Anonymous,
    };
    let scope = state.scope(ctx.tenant.id, actor);
    usecase_audit::record(&*state.storage, &scope, action, target, details).await?;
    Ok(())
}

/// The address a tenant's residents use: its own host when it has one (tokens work only for
/// their tenant), else the configured public URL.
pub fn tenant_base_url(state: &AppState, ctx: &Ctx) -> String {
    base_url_for(&state.config.public_url, ctx.tenant.host.as_deref())
}
