-- Reservations: services an administrator defines, their slots, and reservations.
-- Capacity is enforced by the database: `taken` counts held and confirmed reservations, a
-- booking increments it with a conditional UPDATE in the same transaction as the insert, and
-- the CHECK refuses any row beyond capacity even if a bug tried.

CREATE TABLE services (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    code           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('consultation','remote_consultation','checkup','lecture')),
    name_ja        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    department_id  TEXT REFERENCES departments(id),
    -- Booking window, cancellation deadline, personal limit, eligibility, questions: JSON
    -- validated by madoguchi-booking, so a new rule needs no migration.
    rules          TEXT NOT NULL,
    active         INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0,1)),
    created_at     INTEGER NOT NULL,
    CONSTRAINT services_code UNIQUE (tenant_id, code)
) STRICT;

CREATE TABLE slots (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    service_id  TEXT NOT NULL REFERENCES services(id),
    office_id   TEXT NOT NULL REFERENCES offices(id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    capacity    INTEGER NOT NULL CHECK (capacity >= 0),
    taken       INTEGER NOT NULL DEFAULT 0,
    CHECK (taken >= 0 AND taken <= capacity),
    CHECK (ends_at > starts_at),
    CONSTRAINT slots_start UNIQUE (service_id, office_id, starts_at)
) STRICT;
CREATE INDEX slots_service_start ON slots (tenant_id, service_id, starts_at);

CREATE TABLE reservations (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    slot_id          TEXT NOT NULL REFERENCES slots(id),
    service_id       TEXT NOT NULL REFERENCES services(id),
    account_id       TEXT REFERENCES accounts(id),
    status           TEXT NOT NULL CHECK (status IN ('held','confirmed','cancelled','expired','attended','no_show')),
    idempotency_key  TEXT,
    hold_expires_at  INTEGER,
    details          TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    cancelled_at     INTEGER,
    cancel_reason    TEXT,
    CONSTRAINT reservations_idempotency UNIQUE (tenant_id, idempotency_key)
) STRICT;
CREATE INDEX reservations_slot ON reservations (slot_id, status);
CREATE INDEX reservations_account ON reservations (tenant_id, account_id, service_id);
CREATE INDEX reservations_holds ON reservations (status, hold_expires_at);
