-- The specialist's record of a remote-counter consultation: its result and free-text notes
-- (personal data; never logged), who wrote it and when. Written during the call or after it.
-- (SQLite adds one column per statement; the record's consistency is checked by the trigger.)

ALTER TABLE counter_tickets
    ADD COLUMN result TEXT CHECK (result IN ('resolved', 'follow_up', 'referred', 'other'));
ALTER TABLE counter_tickets ADD COLUMN notes TEXT CHECK (length(notes) <= 2000);
ALTER TABLE counter_tickets ADD COLUMN recorded_by TEXT REFERENCES accounts(id);
ALTER TABLE counter_tickets ADD COLUMN recorded_at INTEGER;

CREATE TRIGGER counter_tickets_record BEFORE UPDATE OF result, notes, recorded_by, recorded_at
ON counter_tickets
WHEN NOT ((NEW.result IS NULL) = (NEW.recorded_by IS NULL)
          AND (NEW.result IS NULL) = (NEW.recorded_at IS NULL)
          AND (NEW.notes IS NULL OR NEW.result IS NOT NULL))
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: counter_tickets_record');
END;

-- What reaches each participant of a room, as their browser last reported it (loss, freezes,
-- join time): written by the room's media node, read by the specialists' consoles on any node.
CREATE TABLE counter_room_quality (
    room_id           TEXT NOT NULL REFERENCES counter_rooms(id),
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    participant       TEXT NOT NULL CHECK (length(participant) BETWEEN 1 AND 64),
    role              TEXT NOT NULL,
    join_ms           INTEGER CHECK (join_ms >= 0),
    packets_received  INTEGER NOT NULL CHECK (packets_received >= 0),
    packets_lost      INTEGER NOT NULL CHECK (packets_lost >= 0),
    freezes           INTEGER NOT NULL CHECK (freezes >= 0),
    round_trip_ms     INTEGER CHECK (round_trip_ms >= 0),
    reported_at       INTEGER NOT NULL,
    PRIMARY KEY (room_id, participant)
) STRICT;
