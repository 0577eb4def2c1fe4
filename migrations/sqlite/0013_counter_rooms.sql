-- The remote counter's rooms: the video consultation a called resident answers into. The
-- running department changes on a transfer; guests are a second department or an interpreter
-- (a staff account with the language they interpret). A ticket opens at most one room.

CREATE TABLE counter_rooms (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    department_id  TEXT NOT NULL REFERENCES departments(id),
    ticket_id      TEXT REFERENCES counter_tickets(id),
    state          TEXT NOT NULL CHECK (state IN ('lobby', 'live', 'ended')),
    created_at     INTEGER NOT NULL,
    admitted_at    INTEGER,
    ended_at       INTEGER,
    updated_at     INTEGER NOT NULL,
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX counter_rooms_ticket ON counter_rooms (ticket_id);
CREATE INDEX counter_rooms_open ON counter_rooms (tenant_id, department_id) WHERE state <> 'ended';

CREATE TABLE counter_room_guests (
    room_id        TEXT NOT NULL REFERENCES counter_rooms(id),
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    department_id  TEXT REFERENCES departments(id),
    account_id     TEXT REFERENCES accounts(id),
    language       TEXT CHECK (length(language) BETWEEN 2 AND 12),
    added_at       INTEGER NOT NULL,
    -- A guest is a department, or an account that interprets in a language.
    CHECK ((department_id IS NULL) <> (account_id IS NULL)),
    CHECK ((account_id IS NULL) = (language IS NULL))
) STRICT;
CREATE UNIQUE INDEX counter_room_guests_department ON counter_room_guests (room_id, department_id);
CREATE UNIQUE INDEX counter_room_guests_account ON counter_room_guests (room_id, account_id);
