//! Who does what, where and when: the small context every use case takes instead of a request.
//! Pages and the API build it from the session or token, jobs and the CLI build it themselves.

use madoguchi_domain::{AccountId, Clock, TenantId};
use madoguchi_storage::ActorKind;
use std::sync::Arc;
use time::OffsetDateTime;

/// Who acts: recorded in the audit log and used by the rules that differ for staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    Resident(AccountId),
    Staff(AccountId),
    /// A job or the nightly run, acting on its own.
    System,
    /// An operator at the command line (recovery, seeding), outside any account.
    Operator,
    /// Someone not signed in (sign-up, a password reset request).
    Anonymous,
}

impl Actor {
    /// How the audit log records this actor.
    pub fn kind(self) -> ActorKind {
        match self {
            Actor::Resident(_) => ActorKind::Resident,
            Actor::Staff(_) => ActorKind::Staff,
            Actor::System | Actor::Operator => ActorKind::System,
            Actor::Anonymous => ActorKind::Anonymous,
        }
    }

    /// The account acting, if any.
    pub fn account(self) -> Option<AccountId> {
        match self {
            Actor::Resident(id) | Actor::Staff(id) => Some(id),
            Actor::System | Actor::Operator | Actor::Anonymous => None,
        }
    }
}

/// Which city, who acts, and the clock to read "now" from.
#[derive(Clone)]
pub struct Scope {
    pub tenant: TenantId,
    pub actor: Actor,
    pub clock: Arc<dyn Clock>,
}

impl Scope {
    pub fn new(tenant: TenantId, actor: Actor, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenant,
            actor,
            clock,
        }
    }

    /// The same city and clock, another actor (a job acting after a request, say).
    pub fn acting_as(&self, actor: Actor) -> Self {
        Self {
            actor,
            ..self.clone()
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }
}

impl std::fmt::Debug for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope")
            .field("tenant", &self.tenant)
            .field("actor", &self.actor)
            .finish_non_exhaustive()
    }
}
