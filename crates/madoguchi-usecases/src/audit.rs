//! Writing the audit log from a use case: the actor and the time come from the scope, so every
//! entry says who did it and when in the same way.

use crate::{Scope, UseCaseResult};
use madoguchi_storage::{AuditStore, NewAuditEntry};

/// Appends one entry. `target` is an id, and `details` holds ids and codes only, never names
/// or addresses: the log is kept for years and read by auditors.
pub async fn record<S: AuditStore + ?Sized>(
    store: &S,
    scope: &Scope,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> UseCaseResult<()> {
    let entry = NewAuditEntry {
        at: scope.now(),
        actor_kind: scope.actor.kind(),
        actor_id: scope.actor.account(),
        action: action.to_owned(),
        target,
        details,
    };
    store.append_audit(scope.tenant, &entry).await?;
    Ok(())
}
