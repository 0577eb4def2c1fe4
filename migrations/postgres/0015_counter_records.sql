-- The specialist's record of a remote-counter consultation: its result and free-text notes
-- (personal data; never logged), who wrote it and when. Written during the call or after it.

ALTER TABLE counter_tickets
    ADD COLUMN result text CHECK (result IN ('resolved', 'follow_up', 'referred', 'other')),
    ADD COLUMN notes text CHECK (char_length(notes) <= 2000),
    ADD COLUMN recorded_by uuid REFERENCES accounts(id),
    ADD COLUMN recorded_at timestamptz,
    ADD CONSTRAINT counter_tickets_record
        CHECK ((result IS NULL) = (recorded_by IS NULL) AND (result IS NULL) = (recorded_at IS NULL)
               AND (notes IS NULL OR result IS NOT NULL));

-- What reaches each participant of a room, as their browser last reported it (loss, freezes,
-- join time): written by the room's media node, read by the specialists' consoles on any node.
CREATE TABLE counter_room_quality (
    room_id           uuid NOT NULL REFERENCES counter_rooms(id),
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    participant       text NOT NULL CHECK (length(participant) BETWEEN 1 AND 64),
    role              text NOT NULL,
    join_ms           bigint CHECK (join_ms >= 0),
    packets_received  bigint NOT NULL CHECK (packets_received >= 0),
    packets_lost      bigint NOT NULL CHECK (packets_lost >= 0),
    freezes           bigint NOT NULL CHECK (freezes >= 0),
    round_trip_ms     bigint CHECK (round_trip_ms >= 0),
    reported_at       timestamptz NOT NULL,
    PRIMARY KEY (room_id, participant)
);
