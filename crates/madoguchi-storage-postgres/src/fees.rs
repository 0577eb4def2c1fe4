//! Reservations' fee receivables on PostgreSQL: the ones whose seat is gone.

use crate::{PgStorage, get, map_err};
use async_trait::async_trait;
use madoguchi_domain::{ReceivableId, ReservationId, TenantId};
use madoguchi_storage::{FeeStore, RESERVATION_SOURCE, ReleasedFee, StorageResult};
use time::OffsetDateTime;

#[async_trait]
impl FeeStore for PgStorage {
    async fn released_fees(
        &self,
        now: OffsetDateTime,
        limit: i64,
    ) -> StorageResult<Vec<ReleasedFee>> {
        // `source_id` is text (sources other than reservations need not be UUIDs).
        let rows = sqlx::query(
            "SELECT r.tenant_id, r.id, v.id AS reservation_id FROM receivables r
             JOIN reservations v ON v.tenant_id = r.tenant_id AND v.id::text = r.source_id
             WHERE r.source_kind = $1 AND r.status = 'open' AND r.paid_yen = 0
               AND (v.status IN ('cancelled', 'expired')
                    OR (v.status = 'held' AND v.hold_expires_at <= $2))
               AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.receivable_id = r.id
                               AND p.status IN ('created', 'requires_action', 'processing'))
             ORDER BY r.created_at LIMIT $3",
        )
        .bind(RESERVATION_SOURCE)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok(ReleasedFee {
                    tenant: TenantId(get(row, "tenant_id")?),
                    receivable: ReceivableId(get(row, "id")?),
                    reservation: ReservationId(get(row, "reservation_id")?),
                })
            })
            .collect()
    }
}
