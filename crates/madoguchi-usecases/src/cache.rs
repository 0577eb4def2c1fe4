//! This node's read-through caches of what changes rarely and is read on nearly every request:
//! services (every booking reads its rules) and each city's municipal calendar (every booking
//! asks whether the day is open). Entries live [`CACHE_TTL`]; the node that changes a value
//! forgets it at once, other nodes see the change when their entry expires. Any node rebuilds
//! them from the database, so nothing is lost when it restarts. Seats and personal limits are
//! never decided from a cached copy: the database decides them in the booking's transaction.

use crate::{UseCaseError, UseCaseResult};
use madoguchi_calendar::{CalendarError, MunicipalCalendar, OfficeClosingDays};
use madoguchi_domain::{OfficeId, ServiceId, TenantId};
use madoguchi_storage::{BookingStore, CalendarStore, Service};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How stale a cached value may be on another node.
pub const CACHE_TTL: Duration = Duration::from_secs(30);

/// At most this many entries per cache; the oldest goes first.
pub const CACHE_ENTRIES_MAX: usize = 256;

/// A small bounded cache keyed by text, whose entries expire after [`CACHE_TTL`].
pub struct TtlCache<V> {
    entries: std::sync::RwLock<Vec<(String, Arc<V>, Instant)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            entries: std::sync::RwLock::new(Vec::new()),
        }
    }
}

impl<V> TtlCache<V> {
    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        // A poisoned lock only means another request panicked mid-update; the data is a cache.
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .iter()
            .find(|(k, _, at)| k == key && at.elapsed() < CACHE_TTL)
            .map(|(_, v, _)| v.clone())
    }

    pub fn put(&self, key: &str, value: Arc<V>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(k, _, at)| k != key && at.elapsed() < CACHE_TTL);
        // Bounded: requests with made-up Host headers must not grow it without limit.
        if entries.len() >= CACHE_ENTRIES_MAX {
            entries.remove(0);
        }
        entries.push((key.to_owned(), value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(k, _, _)| k != key);
    }
}

/// The services and calendars the reservation use cases read, cached on this node.
#[derive(Default)]
pub struct Catalogue {
    services: TtlCache<Service>,
    calendars: TtlCache<MunicipalCalendar>,
}

impl Catalogue {
    /// A city's service, from the cache when fresh.
    pub async fn service<S: BookingStore + ?Sized>(
        &self,
        store: &S,
        tenant: TenantId,
        id: ServiceId,
    ) -> UseCaseResult<Arc<Service>> {
        let key = format!("{tenant}:{id}");
        if let Some(service) = self.services.get(&key) {
            return Ok(service);
        }
        let service = Arc::new(store.service(tenant, id).await?);
        self.services.put(&key, service.clone());
        Ok(service)
    }

    /// A city's municipal calendar built from its stored settings (imported holidays, the
    /// year-end closure, offices' closing days), from the cache when fresh.
    pub async fn calendar<S: CalendarStore + ?Sized>(
        &self,
        store: &S,
        tenant: TenantId,
    ) -> UseCaseResult<Arc<MunicipalCalendar>> {
        let key = tenant.to_string();
        if let Some(calendar) = self.calendars.get(&key) {
            return Ok(calendar);
        }
        let imported = store.imported_holidays(tenant).await?;
        let closure = store.year_end_closure(tenant).await?;
        let mut offices: Vec<(OfficeId, OfficeClosingDays)> = store
            .office_calendars(tenant)
            .await?
            .iter()
            .map(|office| (office.office_id, office.closing_days()))
            .collect();
        // Writes are validated, so an invalid office (two admins each adding a weekly closing
        // day at the same moment) is rare; it loses its own rules rather than stopping every
        // booking.
        let calendar = loop {
            let builder = offices.iter().fold(
                MunicipalCalendar::builder()
                    .imported_holidays(imported.clone())
                    .year_end_closure(closure),
                |builder, (office, days)| builder.office(*office, days.clone()),
            );
            match builder.build() {
                Ok(calendar) => break calendar,
                Err(CalendarError::InvalidClosingRule { office, reason }) => {
                    tracing::error!(%tenant, %office, reason, "stored closing days are invalid; ignored");
                    offices.retain(|(id, _)| *id != office);
                }
                Err(other) => return Err(UseCaseError::internal(other)),
            }
        };
        let calendar = Arc::new(calendar);
        self.calendars.put(&key, calendar.clone());
        Ok(calendar)
    }

    /// Call after changing a city's calendar settings, so this node uses them at once.
    pub fn calendar_changed(&self, tenant: TenantId) {
        self.calendars.forget(&tenant.to_string());
    }
}

/// What a node must forget after a change so that it shows the change at once. The caches
/// themselves belong to the node (the server holds them); other nodes catch up when their
/// entries expire.
pub trait NodeCaches: Send + Sync {
    /// A tenant's offices or departments changed.
    fn offices_changed(&self, tenant: TenantId);
    /// A tenant switched a capability on or off (the home page lists what it offers).
    fn capabilities_changed(&self, tenant: TenantId);
}
