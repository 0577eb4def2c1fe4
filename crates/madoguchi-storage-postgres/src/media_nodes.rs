//! The remote counter's media nodes and room placement on PostgreSQL. Placing a room locks the
//! room's row (`FOR UPDATE`), so two web nodes granting joins at once decide one after the other.

use crate::audit::insert_audit;
use crate::counter_rooms::room_in;
use crate::payment_rows::{get_instant, get_opt_instant, get_string, get_uuid};
use crate::{PgStorage, corrupt, map_err};
use async_trait::async_trait;
use madoguchi_domain::{MediaNodeId, RoomId, TenantId};
use madoguchi_storage::{
    MEDIA_NODE_FORGOTTEN_AFTER, MediaNode, MediaNodeStore, NewAuditEntry, NewMediaNode,
    ParticipantQuality, RoomPlacement, StorageResult, decide_placement, moved_entry,
};
use sqlx::{PgConnection, Row};
use time::{Duration, OffsetDateTime};

fn node_from(row: &sqlx::postgres::PgRow) -> StorageResult<MediaNode> {
    let count = |column: &str| -> StorageResult<u32> {
        let value: i32 = row.try_get(column).map_err(map_err)?;
        u32::try_from(value).map_err(|_| corrupt("media node count"))
    };
    Ok(MediaNode {
        id: MediaNodeId(get_uuid(row, "id")?),
        signal_url: get_string(row, "signal_url")?,
        capacity: count("capacity")?,
        load: count("load")?,
        started_at: get_instant(row, "started_at")?,
        seen_at: get_instant(row, "seen_at")?,
        retired_at: get_opt_instant(row, "retired_at")?,
    })
}

async fn nodes_in(conn: &mut PgConnection) -> StorageResult<Vec<MediaNode>> {
    sqlx::query("SELECT * FROM media_nodes ORDER BY started_at, id")
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?
        .iter()
        .map(node_from)
        .collect()
}

fn quality_from(row: &sqlx::postgres::PgRow) -> StorageResult<ParticipantQuality> {
    let count = |column: &str| -> StorageResult<u64> {
        let value: i64 = row.try_get(column).map_err(map_err)?;
        u64::try_from(value).map_err(|_| corrupt("quality count"))
    };
    let optional = |column: &str| -> StorageResult<Option<u64>> {
        let value: Option<i64> = row.try_get(column).map_err(map_err)?;
        value
            .map(|v| u64::try_from(v).map_err(|_| corrupt("quality count")))
            .transpose()
    };
    Ok(ParticipantQuality {
        participant: get_string(row, "participant")?,
        role: madoguchi_counter::ParticipantRole::parse(&get_string(row, "role")?)
            .ok_or_else(|| corrupt("quality role"))?,
        quality: madoguchi_counter::Quality {
            join_ms: optional("join_ms")?,
            packets_received: count("packets_received")?,
            packets_lost: count("packets_lost")?,
            freezes: count("freezes")?,
            round_trip_ms: optional("round_trip_ms")?,
        },
        reported_at: get_instant(row, "reported_at")?,
    })
}

#[async_trait]
impl MediaNodeStore for PgStorage {
    async fn register_media_node(
        &self,
        node: &NewMediaNode,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM media_nodes WHERE seen_at < $1 AND id <> $2")
            .bind(at - MEDIA_NODE_FORGOTTEN_AFTER)
            .bind(node.id.0)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO media_nodes (id, signal_url, capacity, load, started_at, seen_at, retired_at)
             VALUES ($1, $2, $3, 0, $4, $4, NULL)
             ON CONFLICT (id) DO UPDATE SET signal_url = excluded.signal_url,
                 capacity = excluded.capacity, load = 0, seen_at = excluded.seen_at,
                 retired_at = NULL",
        )
        .bind(node.id.0)
        .bind(&node.signal_url)
        .bind(i32::try_from(node.capacity).map_err(|_| corrupt("media node capacity"))?)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn report_media_node(
        &self,
        id: MediaNodeId,
        load: u32,
        at: OffsetDateTime,
    ) -> StorageResult<bool> {
        let updated = sqlx::query(
            "UPDATE media_nodes SET load = $1, seen_at = $2 WHERE id = $3 AND retired_at IS NULL",
        )
        .bind(i32::try_from(load).unwrap_or(i32::MAX))
        .bind(at)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn retire_media_node(&self, id: MediaNodeId, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query(
            "UPDATE media_nodes SET retired_at = $1, load = 0 WHERE id = $2 AND retired_at IS NULL",
        )
        .bind(at)
        .bind(id.0)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn media_nodes(&self) -> StorageResult<Vec<MediaNode>> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        nodes_in(&mut conn).await
    }

    async fn place_room(
        &self,
        tenant: TenantId,
        room: RoomId,
        at: OffsetDateTime,
        lost_after: Duration,
        moved: &NewAuditEntry,
    ) -> StorageResult<RoomPlacement> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        let current = room_in(&mut tx, tenant, room, true).await?;
        let nodes = nodes_in(&mut tx).await?;
        let (to, from) = decide_placement(&current, &nodes, at, lost_after)?;
        if current.media_node != Some(to) {
            sqlx::query("UPDATE counter_rooms SET media_node_id = $1 WHERE id = $2")
                .bind(to.0)
                .bind(room.0)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        if let Some(from) = from {
            insert_audit(&mut *tx, tenant, &moved_entry(moved, room, from, to)).await?;
        }
        tx.commit().await.map_err(map_err)?;
        let node = nodes
            .into_iter()
            .find(|n| n.id == to)
            .ok_or_else(|| corrupt("placed media node"))?;
        Ok(RoomPlacement {
            node,
            moved_from: from,
        })
    }

    async fn save_room_quality(
        &self,
        tenant: TenantId,
        room: RoomId,
        reports: &[ParticipantQuality],
    ) -> StorageResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err)?;
        for report in reports {
            let q = &report.quality;
            sqlx::query(
                "INSERT INTO counter_room_quality (room_id, tenant_id, participant, role, join_ms,
                     packets_received, packets_lost, freezes, round_trip_ms, reported_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (room_id, participant) DO UPDATE SET role = excluded.role,
                     join_ms = excluded.join_ms, packets_received = excluded.packets_received,
                     packets_lost = excluded.packets_lost, freezes = excluded.freezes,
                     round_trip_ms = excluded.round_trip_ms, reported_at = excluded.reported_at",
            )
            .bind(room.0)
            .bind(tenant.0)
            .bind(&report.participant)
            .bind(report.role.as_str())
            .bind(q.join_ms.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
            .bind(i64::try_from(q.packets_received).unwrap_or(i64::MAX))
            .bind(i64::try_from(q.packets_lost).unwrap_or(i64::MAX))
            .bind(i64::try_from(q.freezes).unwrap_or(i64::MAX))
            .bind(
                q.round_trip_ms
                    .map(|v| i64::try_from(v).unwrap_or(i64::MAX)),
            )
            .bind(report.reported_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn room_quality(
        &self,
        tenant: TenantId,
        room: RoomId,
    ) -> StorageResult<Vec<ParticipantQuality>> {
        sqlx::query(
            "SELECT * FROM counter_room_quality WHERE tenant_id = $1 AND room_id = $2
             ORDER BY participant",
        )
        .bind(tenant.0)
        .bind(room.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(quality_from)
        .collect()
    }

    async fn rooms_on_lost_nodes(
        &self,
        at: OffsetDateTime,
        lost_after: Duration,
        limit: u32,
    ) -> StorageResult<Vec<(TenantId, RoomId)>> {
        sqlx::query(
            "SELECT r.tenant_id, r.id FROM counter_rooms r
             JOIN media_nodes n ON n.id = r.media_node_id
             WHERE r.state <> 'ended' AND (n.retired_at IS NOT NULL OR n.seen_at <= $1)
             ORDER BY r.created_at, r.id LIMIT $2",
        )
        .bind(at - lost_after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?
        .iter()
        .map(|row| {
            Ok((
                TenantId(get_uuid(row, "tenant_id")?),
                RoomId(get_uuid(row, "id")?),
            ))
        })
        .collect()
    }
}
