//! What every request handler can reach: storage, configuration, templates, the job queue.

use crate::config::ServerConfig;
use crate::templates::Templates;
use madoguchi_auth::{ApiTokenKeys, PasswordHasher};
use madoguchi_jobs::JobQueue;
use madoguchi_storage::{Storage, Tenant};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn Storage>,
    pub config: Arc<ServerConfig>,
    pub templates: Arc<Templates>,
    pub jobs: JobQueue,
    pub hasher: Arc<PasswordHasher>,
    pub api_keys: ApiTokenKeys,
    pub metrics: Option<PrometheusHandle>,
    pub tenants: Arc<TenantCache>,
}

impl AppState {
    pub fn new(
        storage: Arc<dyn Storage>,
        config: ServerConfig,
        metrics: Option<PrometheusHandle>,
    ) -> anyhow::Result<Self> {
        let job_store: Arc<dyn madoguchi_storage::JobStore> = storage_as_jobs(storage.clone());
        Ok(Self {
            templates: Arc::new(Templates::load()?),
            jobs: JobQueue::new(job_store),
            hasher: Arc::new(PasswordHasher::with_cost(
                config.argon2_memory_kib,
                config.argon2_passes,
            )),
            api_keys: ApiTokenKeys::new(config.api_token_secret.clone()),
            config: Arc::new(config),
            storage,
            metrics,
            tenants: Arc::new(TenantCache::default()),
        })
    }
}

/// Upcasts the combined storage to the job capability (trait upcasting).
fn storage_as_jobs(storage: Arc<dyn Storage>) -> Arc<dyn madoguchi_storage::JobStore> {
    storage
}

/// Tenants change rarely and are read on every request, so each node keeps them for a short
/// while. Any node rebuilds this from the database; nothing is lost when it restarts.
#[derive(Default)]
pub struct TenantCache {
    entries: RwLock<Vec<(String, Arc<Tenant>, Instant)>>,
}

const TENANT_CACHE_TTL: Duration = Duration::from_secs(30);

impl TenantCache {
    pub async fn get(&self, key: &str) -> Option<Arc<Tenant>> {
        let entries = self.entries.read().await;
        entries
            .iter()
            .find(|(k, _, at)| k == key && at.elapsed() < TENANT_CACHE_TTL)
            .map(|(_, tenant, _)| tenant.clone())
    }

    pub async fn put(&self, key: &str, tenant: Arc<Tenant>) {
        let mut entries = self.entries.write().await;
        entries.retain(|(k, _, at)| k != key && at.elapsed() < TENANT_CACHE_TTL);
        entries.push((key.to_owned(), tenant, Instant::now()));
    }
}
