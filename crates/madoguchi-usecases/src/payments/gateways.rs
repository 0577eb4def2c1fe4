//! Which online gateway each city pays through, and the secret its webhooks are signed with.
//! The server builds this from its configuration (the sandbox by default, Stripe where a city
//! has keys); use cases only ask.

use madoguchi_domain::TenantId;
use madoguchi_gateway::PaymentGateway;
use madoguchi_payments::Provider;
use secrecy::SecretString;
use std::sync::Arc;

/// One city's online gateway.
#[derive(Clone)]
pub struct OnlineGateway {
    pub gateway: Arc<dyn PaymentGateway>,
    /// The webhook signing secret (`stripe.webhook_secret`, or the sandbox's own).
    pub webhook_secret: SecretString,
}

impl OnlineGateway {
    pub fn provider(&self) -> Provider {
        self.gateway.provider()
    }
}

impl std::fmt::Debug for OnlineGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineGateway")
            .field("provider", &self.provider())
            .finish_non_exhaustive()
    }
}

/// The gateways of every city this node serves.
#[async_trait::async_trait]
pub trait Gateways: Send + Sync {
    /// The gateway new online payments of `tenant` go to; `None` when the city takes none.
    async fn online(&self, tenant: TenantId) -> Option<OnlineGateway>;
    /// The gateway of `provider` for `tenant`, to follow up payments made through it (a city
    /// that moved from the sandbox to Stripe still resolves its older sandbox payments).
    async fn of_provider(&self, tenant: TenantId, provider: Provider) -> Option<OnlineGateway>;
}
