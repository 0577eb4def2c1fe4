//! tower-sessions records kept in our own database through [`SessionRecordStore`], so any node
//! serves any browser and a restart signs nobody out.

use async_trait::async_trait;
use madoguchi_storage::{SessionRecordStore, Storage, now_utc};
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

#[derive(Clone)]
pub struct DbSessionStore {
    storage: Arc<dyn Storage>,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self { storage }
    }

    fn store(&self) -> &dyn SessionRecordStore {
        &*self.storage
    }
}

/// The whole record (id, data, expiry) is stored as JSON; the id and expiry columns beside it
/// serve lookups and clean-up.
fn encode(record: &Record) -> Result<String> {
    serde_json::to_string(record).map_err(|e| Error::Encode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id practically never collides, but the database decides, not luck.
        loop {
            let data = encode(record)?;
            let inserted = self
                .store()
                .session_insert(&record.id.to_string(), &data, record.expiry_date)
                .await
                .map_err(|e| Error::Backend(e.to_string()))?;
            if inserted {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store()
            .session_save(&record.id.to_string(), &encode(record)?, record.expiry_date)
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let data = self
            .store()
            .session_load(&id.to_string(), now_utc())
            .await
            .map_err(|e| Error::Backend(e.to_string()))?;
        match data {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| Error::Decode(e.to_string())),
        }
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store()
            .session_delete(&id.to_string())
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }
}
