//! The remote counter's media nodes and room placement on SQLite. Placing a room runs under
//! `BEGIN IMMEDIATE`: SQLite's one writer is the room's lock.

use crate::audit::insert_audit;
use crate::counter_rooms::room_in;
use crate::{
    SqliteStorage, corrupt, get_instant, get_opt_instant, get_string, get_uuid, map_err, uuid_text,
};
use async_trait::async_trait;
use madoguchi_domain::{MediaNodeId, RoomId, TenantId};
use madoguchi_storage::{
    MEDIA_NODE_FORGOTTEN_AFTER, MediaNode, MediaNodeStore, NewAuditEntry, NewMediaNode,
    ParticipantQuality, RoomPlacement, StorageResult, decide_placement, moved_entry,
    to_unix_micros,
};
use sqlx::{Row, SqliteConnection};
use time::{Duration, OffsetDateTime};

fn node_from(row: &sqlx::sqlite::SqliteRow) -> StorageResult<MediaNode> {
    let count = |column: &str| -> StorageResult<u32> {
        let value: i64 = row.try_get(column).map_err(map_err)?;
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

async fn nodes_in(conn: &mut SqliteConnection) -> StorageResult<Vec<MediaNode>> {
    sqlx::query("SELECT * FROM media_nodes ORDER BY started_at, id")
        .fetch_all(&mut *conn)
        .await
        .map_err(map_err)?
        .iter()
        .map(node_from)
        .collect()
}

fn quality_from(row: &sqlx::sqlite::SqliteRow) -> StorageResult<ParticipantQuality> {
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
impl MediaNodeStore for SqliteStorage {
    async fn register_media_node(
        &self,
        node: &NewMediaNode,
        at: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut tx = self.begin_immediate().await?;
        sqlx::query("DELETE FROM media_nodes WHERE seen_at < ?1 AND id <> ?2")
            .bind(to_unix_micros(at - MEDIA_NODE_FORGOTTEN_AFTER))
            .bind(uuid_text(node.id.0))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(
            "INSERT INTO media_nodes (id, signal_url, capacity, load, started_at, seen_at, retired_at)
             VALUES (?1, ?2, ?3, 0, ?4, ?4, NULL)
             ON CONFLICT (id) DO UPDATE SET signal_url = excluded.signal_url,
                 capacity = excluded.capacity, load = 0, seen_at = excluded.seen_at,
                 retired_at = NULL",
        )
        .bind(uuid_text(node.id.0))
        .bind(&node.signal_url)
        .bind(i64::from(node.capacity))
        .bind(to_unix_micros(at))
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
            "UPDATE media_nodes SET load = ?1, seen_at = ?2 WHERE id = ?3 AND retired_at IS NULL",
        )
        .bind(i64::from(load))
        .bind(to_unix_micros(at))
        .bind(uuid_text(id.0))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(updated.rows_affected() == 1)
    }

    async fn retire_media_node(&self, id: MediaNodeId, at: OffsetDateTime) -> StorageResult<()> {
        sqlx::query(
            "UPDATE media_nodes SET retired_at = ?1, load = 0 WHERE id = ?2 AND retired_at IS NULL",
        )
        .bind(to_unix_micros(at))
        .bind(uuid_text(id.0))
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
        let mut tx = self.begin_immediate().await?;
        let current = room_in(&mut tx, tenant, room).await?;
        let nodes = nodes_in(&mut tx).await?;
        let (to, from) = decide_placement(&current, &nodes, at, lost_after)?;
        if current.media_node != Some(to) {
            sqlx::query("UPDATE counter_rooms SET media_node_id = ?1 WHERE id = ?2")
                .bind(uuid_text(to.0))
                .bind(uuid_text(room.0))
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
        let mut tx = self.begin_immediate().await?;
        for report in reports {
            let q = &report.quality;
            sqlx::query(
                "INSERT INTO counter_room_quality (room_id, tenant_id, participant, role, join_ms,
                     packets_received, packets_lost, freezes, round_trip_ms, reported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (room_id, participant) DO UPDATE SET role = excluded.role,
                     join_ms = excluded.join_ms, packets_received = excluded.packets_received,
                     packets_lost = excluded.packets_lost, freezes = excluded.freezes,
                     round_trip_ms = excluded.round_trip_ms, reported_at = excluded.reported_at",
            )
            .bind(uuid_text(room.0))
            .bind(uuid_text(tenant.0))
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
            .bind(to_unix_micros(report.reported_at))
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
            "SELECT * FROM counter_room_quality WHERE tenant_id = ?1 AND room_id = ?2
             ORDER BY participant",
        )
        .bind(uuid_text(tenant.0))
        .bind(uuid_text(room.0))
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
             WHERE r.state <> 'ended' AND (n.retired_at IS NOT NULL OR n.seen_at <= ?1)
             ORDER BY r.created_at, r.id LIMIT ?2",
        )
        .bind(to_unix_micros(at - lost_after))
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
