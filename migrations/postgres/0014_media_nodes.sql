-- The remote counter's media nodes (SFU processes): they register with a capacity, report
-- their load every few seconds, and are retired when they stop. A room's call is placed on one
-- node; a room on a lost node moves to another (participants reconnect there).

CREATE TABLE media_nodes (
    id          uuid PRIMARY KEY,
    signal_url  text NOT NULL CHECK (signal_url ~ '^https?://[^[:space:]]+$' AND length(signal_url) <= 300),
    capacity    integer NOT NULL CHECK (capacity > 0),
    load        integer NOT NULL CHECK (load >= 0),
    started_at  timestamptz NOT NULL,
    seen_at     timestamptz NOT NULL,
    retired_at  timestamptz
);

ALTER TABLE counter_rooms
    ADD COLUMN media_node_id uuid REFERENCES media_nodes(id) ON DELETE SET NULL;
CREATE INDEX counter_rooms_media_node ON counter_rooms (media_node_id) WHERE state <> 'ended';
