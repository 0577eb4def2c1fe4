-- The remote counter's queues (one per department), their numbered tickets per Tokyo day, and
-- who is on duty. A ticket's number is unique per queue and day; a resident or a reservation
-- holds at most one open ticket per queue; the next number comes from a per-queue-and-day
-- counter row taken with an upsert, so two kiosks never print the same number.

CREATE TABLE counter_queues (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    department_id  uuid NOT NULL REFERENCES departments(id),
    prefix         text NOT NULL CHECK (prefix ~ '^[A-Z]$'),
    name_ja        text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en        text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    accepting      boolean NOT NULL,
    created_at     timestamptz NOT NULL,
    CONSTRAINT counter_queues_prefix UNIQUE (tenant_id, prefix),
    CONSTRAINT counter_queues_department UNIQUE (tenant_id, department_id)
);

CREATE TABLE counter_ticket_counters (
    queue_id       uuid NOT NULL REFERENCES counter_queues(id),
    service_day    date NOT NULL,
    last_sequence  integer NOT NULL CHECK (last_sequence BETWEEN 0 AND 999),
    PRIMARY KEY (queue_id, service_day)
);

CREATE TABLE counter_tickets (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants(id),
    queue_id            uuid NOT NULL REFERENCES counter_queues(id),
    service_day         date NOT NULL,
    sequence            integer NOT NULL CHECK (sequence BETWEEN 1 AND 999),
    source              text NOT NULL CHECK (source IN ('kiosk', 'web', 'appointment', 'transfer')),
    status              text NOT NULL CHECK (status IN ('waiting', 'called', 'in_call', 'finished')),
    calls               smallint NOT NULL DEFAULT 0 CHECK (calls BETWEEN 0 AND 2),
    outcome             text CHECK (outcome IN ('done', 'no_show', 'cancelled', 'transferred')),
    resident_account_id uuid REFERENCES accounts(id),
    reservation_id      uuid REFERENCES reservations(id),
    office_id           uuid REFERENCES offices(id),
    appointment_at      timestamptz,
    called_by           uuid REFERENCES accounts(id),
    room_id             uuid,
    issued_at           timestamptz NOT NULL,
    requeued_at         timestamptz,
    called_at           timestamptz,
    answered_at         timestamptz,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT counter_tickets_number UNIQUE (queue_id, service_day, sequence),
    -- A finished ticket has an outcome, an open one has none.
    CHECK ((status = 'finished') = (outcome IS NOT NULL))
);
CREATE UNIQUE INDEX counter_tickets_open_resident ON counter_tickets (queue_id, resident_account_id)
    WHERE status <> 'finished' AND resident_account_id IS NOT NULL;
CREATE UNIQUE INDEX counter_tickets_open_reservation ON counter_tickets (queue_id, reservation_id)
    WHERE status <> 'finished' AND reservation_id IS NOT NULL;
CREATE INDEX counter_tickets_open ON counter_tickets (queue_id, status) WHERE status <> 'finished';
CREATE INDEX counter_tickets_served ON counter_tickets (queue_id, finished_at) WHERE outcome = 'done';

CREATE TABLE counter_duty (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    queue_id    uuid NOT NULL REFERENCES counter_queues(id),
    account_id  uuid NOT NULL REFERENCES accounts(id),
    since       timestamptz NOT NULL,
    PRIMARY KEY (queue_id, account_id)
);
