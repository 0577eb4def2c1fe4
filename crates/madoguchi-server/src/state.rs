//! What every request handler can reach: storage, configuration, templates, the job queue.

use crate::config::ServerConfig;
use crate::templates::Templates;
use madoguchi_auth::{ApiTokenKeys, PasswordHasher};
use madoguchi_domain::{Clock, TenantId};
use madoguchi_jobs::JobQueue;
use madoguchi_storage::{Office, Storage, StorageResult, SystemClock, Tenant};
use madoguchi_usecases::accounts;
use madoguchi_usecases::cache::Catalogue;
pub use madoguchi_usecases::cache::{CACHE_ENTRIES_MAX, CACHE_TTL, TtlCache};
use madoguchi_usecases::reservations::Deps;
use madoguchi_usecases::{Actor, NodeCaches, Scope};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

/// Cloned several times per request by the middleware, so it is one `Arc`.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub storage: Arc<dyn Storage>,
    pub config: Arc<ServerConfig>,
    pub templates: Arc<Templates>,
    pub jobs: JobQueue,
    pub hasher: Arc<PasswordHasher>,
    pub api_keys: ApiTokenKeys,
    pub metrics: Option<PrometheusHandle>,
    pub tenants: Arc<TtlCache<Tenant>>,
    /// Each tenant's offices, keyed by tenant id.
    pub offices: Arc<TtlCache<Vec<Office>>>,
    /// Rendered public pages for signed-out visitors, keyed by tenant, page and language.
    pub pages: Arc<TtlCache<String>>,
    /// Services and each tenant's municipal calendar, cached for the use cases.
    pub catalogue: Arc<Catalogue>,
    /// Where use cases read "now" from: the system clock, or a test's `ManualClock`.
    pub clock: Arc<dyn Clock>,
    /// The online payment gateways of each city (Stripe or the sandbox).
    pub gateways: Arc<dyn madoguchi_usecases::payments::Gateways>,
    /// Signs and checks the remote counter's join grants.
    pub grant_keys: madoguchi_auth::join_grant::JoinGrantKeys,
    /// This node's media server and the rooms signalling through it.
    pub media: crate::media::Media,
}

impl AppState {
    pub fn new(
        storage: Arc<dyn Storage>,
        config: ServerConfig,
        metrics: Option<PrometheusHandle>,
    ) -> anyhow::Result<Self> {
        Self::with_clock(storage, config, metrics, Arc::new(SystemClock))
    }

    /// [`AppState::new`] with the clock the use cases read (tests stand at a chosen instant).
    pub fn with_clock(
        storage: Arc<dyn Storage>,
        config: ServerConfig,
        metrics: Option<PrometheusHandle>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let job_store: Arc<dyn madoguchi_storage::JobStore> = storage_as_jobs(storage.clone());
        let gateways = Arc::new(crate::gateways::ConfiguredGateways::new(
            storage.clone(),
            config.payments.clone(),
            config.public_url.clone(),
        ));
        Ok(Self(Arc::new(AppStateInner {
            gateways,
            templates: Arc::new(Templates::load()?),
            jobs: JobQueue::new(job_store),
            hasher: Arc::new(PasswordHasher::with_cost(
                config.argon2_memory_kib,
                config.argon2_passes,
            )),
            api_keys: ApiTokenKeys::new(config.api_token_secret.clone()),
            grant_keys: madoguchi_auth::join_grant::JoinGrantKeys::new(
                config.counter.grant_secret.clone(),
            ),
            media: crate::media::Media::default(),
            config: Arc::new(config),
            storage,
            metrics,
            tenants: Arc::new(TtlCache::default()),
            offices: Arc::new(TtlCache::default()),
            pages: Arc::new(TtlCache::default()),
            catalogue: Arc::new(Catalogue::default()),
            clock,
        })))
    }
}

impl AppState {
    /// The scope a use case runs in: this request's city, who acts, and the node's clock.
    pub fn scope(&self, tenant: TenantId, actor: Actor) -> Scope {
        Scope::new(tenant, actor, self.clock.clone())
    }

    /// A tenant's offices, from the cache when fresh.
    pub async fn offices(&self, tenant: TenantId) -> StorageResult<Arc<Vec<Office>>> {
        let key = tenant.to_string();
        if let Some(offices) = self.offices.get(&key) {
            return Ok(offices);
        }
        let offices = Arc::new(self.storage.list_offices(tenant).await?);
        self.offices.put(&key, offices.clone());
        Ok(offices)
    }

    /// One of a tenant's offices: from the cached list when it is there, else from the database
    /// (an office added on another node within the cache period).
    pub async fn office(
        &self,
        tenant: TenantId,
        id: madoguchi_domain::OfficeId,
    ) -> StorageResult<Office> {
        match self.offices(tenant).await?.iter().find(|o| o.id == id) {
            Some(office) => Ok(office.clone()),
            None => self.storage.office(tenant, id).await,
        }
    }

    /// What the reservation use cases work with on this node.
    pub fn reservations(&self) -> Deps<'_, dyn Storage> {
        Deps {
            store: &*self.storage,
            catalogue: &self.catalogue,
            jobs: &self.jobs,
        }
    }

    /// What the account use cases work with on this node, for a request in `city`.
    pub fn accounts<'a>(&'a self, city: &'a Tenant) -> accounts::Deps<'a, dyn Storage> {
        let config = &self.config;
        accounts::Deps {
            store: &*self.storage,
            hasher: &self.hasher,
            jobs: &self.jobs,
            letters: &*self.templates,
            settings: accounts::AccountSettings {
                public_url: config.public_url.clone(),
                lockout: config.lockout.clone(),
                sign_in_per_ip_per_minute: config.sign_in_per_ip_per_minute,
                sign_up_per_ip_per_hour: config.sign_up_per_ip_per_hour,
                verification_ttl_s: config.verification_ttl_s,
                reset_ttl_s: config.reset_ttl_s,
            },
            city,
        }
    }

    /// Call after changing a tenant's offices, so this node shows the change at once.
    pub fn offices_changed(&self, tenant: TenantId) {
        self.offices.forget(&tenant.to_string());
        for lang in [madoguchi_domain::Lang::Ja, madoguchi_domain::Lang::En] {
            self.pages.forget(&home_page_key(tenant, lang));
        }
    }
}

impl NodeCaches for AppState {
    fn offices_changed(&self, tenant: TenantId) {
        AppState::offices_changed(self, tenant);
    }

    fn capabilities_changed(&self, tenant: TenantId) {
        for lang in [madoguchi_domain::Lang::Ja, madoguchi_domain::Lang::En] {
            self.pages.forget(&home_page_key(tenant, lang));
        }
    }
}

/// Upcasts the combined storage to the job capability (trait upcasting).
fn storage_as_jobs(storage: Arc<dyn Storage>) -> Arc<dyn madoguchi_storage::JobStore> {
    storage
}

/// The cache key of a tenant's public home page in `lang`.
pub fn home_page_key(tenant: TenantId, lang: madoguchi_domain::Lang) -> String {
    format!("home:{tenant}:{}", lang.tag())
}
