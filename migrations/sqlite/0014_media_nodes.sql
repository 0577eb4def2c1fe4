-- The remote counter's media nodes (SFU processes): they register with a capacity, report
-- their load every few seconds, and are retired when they stop. A room's call is placed on one
-- node; a room on a lost node moves to another (participants reconnect there).

CREATE TABLE media_nodes (
    id          TEXT PRIMARY KEY NOT NULL,
    signal_url  TEXT NOT NULL CHECK ((signal_url LIKE 'http://%' OR signal_url LIKE 'https://%')
                                     AND length(signal_url) <= 300),
    capacity    INTEGER NOT NULL CHECK (capacity > 0),
    load        INTEGER NOT NULL CHECK (load >= 0),
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    retired_at  INTEGER
) STRICT;

ALTER TABLE counter_rooms
    ADD COLUMN media_node_id TEXT REFERENCES media_nodes(id) ON DELETE SET NULL;
CREATE INDEX counter_rooms_media_node ON counter_rooms (media_node_id) WHERE state <> 'ended';
