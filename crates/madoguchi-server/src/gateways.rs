//! The payment gateways this node offers each city, built from the configuration: Stripe for a
//! city with keys (`stripe.*`), the built-in sandbox for the others when it is on. The use
//! cases ask through `madoguchi_usecases::payments::Gateways`.

use crate::config::PaymentsConfig;
use async_trait::async_trait;
use madoguchi_domain::TenantId;
use madoguchi_payments::Provider;
use madoguchi_storage::Storage;
use madoguchi_stripe::{StripeConfig, StripeGateway};
use madoguchi_usecases::payments::sandbox::SandboxGateway;
use madoguchi_usecases::payments::{Gateways, OnlineGateway};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub struct ConfiguredGateways {
    storage: Arc<dyn Storage>,
    config: PaymentsConfig,
    public_url: String,
    /// Stripe gateways by city, built on first use (a city's slug is read once).
    stripe: RwLock<HashMap<TenantId, Option<OnlineGateway>>>,
}

impl ConfiguredGateways {
    pub fn new(storage: Arc<dyn Storage>, config: PaymentsConfig, public_url: String) -> Self {
        Self {
            storage,
            config,
            public_url,
            stripe: RwLock::new(HashMap::new()),
        }
    }

    fn sandbox(&self, tenant: TenantId) -> Option<OnlineGateway> {
        if !self.config.sandbox {
            return None;
        }
        let store: Arc<dyn madoguchi_storage::SandboxStore> = sandbox_store(self.storage.clone());
        Some(OnlineGateway {
            gateway: Arc::new(SandboxGateway {
                store,
                tenant,
                public_url: self.public_url.clone(),
            }),
            webhook_secret: self.config.sandbox_webhook_secret.clone(),
        })
    }

    async fn stripe(&self, tenant: TenantId) -> Option<OnlineGateway> {
        if self.config.stripe.is_empty() {
            return None;
        }
        if let Ok(known) = self.stripe.read()
            && let Some(gateway) = known.get(&tenant)
        {
            return gateway.clone();
        }
        let slug = match self.storage.list_tenants().await {
            Ok(tenants) => tenants
                .into_iter()
                .find(|t| t.id == tenant)
                .map(|t| t.slug.as_str().to_owned()),
            Err(error) => {
                tracing::warn!(%error, "could not read the cities for their gateways");
                return None;
            }
        };
        let built = slug
            .and_then(|slug| self.config.stripe.get(&slug))
            .and_then(|city| {
                let config = StripeConfig {
                    api_base: city.api_base.clone(),
                    ..StripeConfig::new(city.secret_key.clone())
                };
                match StripeGateway::new(config) {
                    Ok(gateway) => Some(OnlineGateway {
                        gateway: Arc::new(gateway),
                        webhook_secret: city.webhook_secret.clone(),
                    }),
                    Err(error) => {
                        tracing::error!(%error, %tenant, "the city's Stripe settings are unusable");
                        None
                    }
                }
            });
        if let Ok(mut known) = self.stripe.write() {
            known.insert(tenant, built.clone());
        }
        built
    }
}

/// The storage as the sandbox's store (trait upcasting keeps one database handle).
fn sandbox_store(storage: Arc<dyn Storage>) -> Arc<dyn madoguchi_storage::SandboxStore> {
    storage
}

#[async_trait]
impl Gateways for ConfiguredGateways {
    async fn online(&self, tenant: TenantId) -> Option<OnlineGateway> {
        match self.stripe(tenant).await {
            Some(stripe) => Some(stripe),
            None => self.sandbox(tenant),
        }
    }

    async fn of_provider(&self, tenant: TenantId, provider: Provider) -> Option<OnlineGateway> {
        match provider {
            Provider::Stripe => self.stripe(tenant).await,
            Provider::Sandbox => self.sandbox(tenant),
            Provider::Counter | Provider::KonbiniAgency => None,
        }
    }
}
