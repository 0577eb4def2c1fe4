-- The remote counter's rooms: the video consultation a called resident answers into. The
-- running department changes on a transfer; guests are a second department or an interpreter
-- (a staff account with the language they interpret). A ticket opens at most one room.

CREATE TABLE counter_rooms (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    department_id  uuid NOT NULL REFERENCES departments(id),
    ticket_id      uuid REFERENCES counter_tickets(id),
    state          text NOT NULL CHECK (state IN ('lobby', 'live', 'ended')),
    created_at     timestamptz NOT NULL,
    admitted_at    timestamptz,
    ended_at       timestamptz,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT counter_rooms_ticket UNIQUE (ticket_id),
    CHECK ((state = 'ended') = (ended_at IS NOT NULL))
);
CREATE INDEX counter_rooms_open ON counter_rooms (tenant_id, department_id) WHERE state <> 'ended';

CREATE TABLE counter_room_guests (
    room_id        uuid NOT NULL REFERENCES counter_rooms(id),
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    department_id  uuid REFERENCES departments(id),
    account_id     uuid REFERENCES accounts(id),
    language       text CHECK (language ~ '^(sign|[a-z]{2,3}(-[A-Za-z0-9]{2,8})?)$'),
    added_at       timestamptz NOT NULL,
    -- A guest is a department, or an account that interprets in a language.
    CHECK ((department_id IS NULL) <> (account_id IS NULL)),
    CHECK ((account_id IS NULL) = (language IS NULL)),
    CONSTRAINT counter_room_guests_department UNIQUE (room_id, department_id),
    CONSTRAINT counter_room_guests_account UNIQUE (room_id, account_id)
);
