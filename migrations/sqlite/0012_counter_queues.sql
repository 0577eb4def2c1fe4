-- The remote counter's queues (one per department), their numbered tickets per Tokyo day, and
-- who is on duty. A ticket's number is unique per queue and day; a resident or a reservation
-- holds at most one open ticket per queue; the next number comes from a per-queue-and-day
-- counter row taken with an upsert under `BEGIN IMMEDIATE`, so two kiosks never print the
-- same number.

CREATE TABLE counter_queues (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    department_id  TEXT NOT NULL REFERENCES departments(id),
    prefix         TEXT NOT NULL CHECK (length(prefix) = 1 AND prefix BETWEEN 'A' AND 'Z'),
    name_ja        TEXT NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en        TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    accepting      INTEGER NOT NULL CHECK (accepting IN (0, 1)),
    created_at     INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX counter_queues_prefix ON counter_queues (tenant_id, prefix);
CREATE UNIQUE INDEX counter_queues_department ON counter_queues (tenant_id, department_id);

CREATE TABLE counter_ticket_counters (
    queue_id       TEXT NOT NULL REFERENCES counter_queues(id),
    service_day    TEXT NOT NULL,
    last_sequence  INTEGER NOT NULL CHECK (last_sequence BETWEEN 0 AND 999),
    PRIMARY KEY (queue_id, service_day)
) STRICT;

CREATE TABLE counter_tickets (
    id                  TEXT PRIMARY KEY NOT NULL,
    tenant_id           TEXT NOT NULL REFERENCES tenants(id),
    queue_id            TEXT NOT NULL REFERENCES counter_queues(id),
    service_day         TEXT NOT NULL,
    sequence            INTEGER NOT NULL CHECK (sequence BETWEEN 1 AND 999),
    source              TEXT NOT NULL CHECK (source IN ('kiosk', 'web', 'appointment', 'transfer')),
    status              TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'in_call', 'finished')),
    calls               INTEGER NOT NULL DEFAULT 0 CHECK (calls BETWEEN 0 AND 2),
    outcome             TEXT CHECK (outcome IN ('done', 'no_show', 'cancelled', 'transferred')),
    resident_account_id TEXT REFERENCES accounts(id),
    reservation_id      TEXT REFERENCES reservations(id),
    office_id           TEXT REFERENCES offices(id),
    appointment_at      INTEGER,
    called_by           TEXT REFERENCES accounts(id),
    room_id             TEXT,
    issued_at           INTEGER NOT NULL,
    requeued_at         INTEGER,
    called_at           INTEGER,
    answered_at         INTEGER,
    finished_at         INTEGER,
    updated_at          INTEGER NOT NULL,
    CHECK ((status = 'finished') = (outcome IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX counter_tickets_number ON counter_tickets (queue_id, service_day, sequence);
CREATE UNIQUE INDEX counter_tickets_open_resident ON counter_tickets (queue_id, resident_account_id)
    WHERE status <> 'finished' AND resident_account_id IS NOT NULL;
CREATE UNIQUE INDEX counter_tickets_open_reservation ON counter_tickets (queue_id, reservation_id)
    WHERE status <> 'finished' AND reservation_id IS NOT NULL;
CREATE INDEX counter_tickets_open ON counter_tickets (queue_id, status) WHERE status <> 'finished';
CREATE INDEX counter_tickets_served ON counter_tickets (queue_id, finished_at) WHERE outcome = 'done';

CREATE TABLE counter_duty (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    queue_id    TEXT NOT NULL REFERENCES counter_queues(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    since       INTEGER NOT NULL,
    PRIMARY KEY (queue_id, account_id)
) STRICT;
