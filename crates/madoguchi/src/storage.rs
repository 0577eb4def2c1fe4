//! Opens the database the settings name: PostgreSQL for `postgres://` URLs, SQLite otherwise.

use crate::config::Settings;
use anyhow::Context;
use madoguchi_storage::Storage;
use madoguchi_storage_postgres::PgStorage;
use madoguchi_storage_sqlite::SqliteStorage;
use secrecy::ExposeSecret;
use std::sync::Arc;

pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Storage>> {
    match &settings.database_url {
        Some(url)
            if url.expose_secret().starts_with("postgres://")
                || url.expose_secret().starts_with("postgresql://") =>
        {
            let storage = PgStorage::connect(url.expose_secret())
                .await
                .context("connecting to PostgreSQL")?;
            tracing::info!(backend = "postgres", "database opened");
            Ok(Arc::new(storage))
        }
        Some(url) if url.expose_secret().starts_with("sqlite:") => {
            let storage = SqliteStorage::open_url(url.expose_secret())
                .await
                .context("opening SQLite")?;
            tracing::info!(backend = "sqlite", "database opened");
            Ok(Arc::new(storage))
        }
        Some(_) => {
            anyhow::bail!("the database URL must start with postgres://, postgresql:// or sqlite:")
        }
        None => {
            std::fs::create_dir_all(&settings.data_dir).with_context(|| {
                format!(
                    "creating the data directory {}",
                    settings.data_dir.display()
                )
            })?;
            let path = settings.data_dir.join("madoguchi.sqlite3");
            let storage = SqliteStorage::open_file(&path)
                .await
                .context("opening SQLite")?;
            tracing::info!(backend = "sqlite", path = %path.display(), "database opened");
            Ok(Arc::new(storage))
        }
    }
}
