-- Reservations: services an administrator defines, their slots, and reservations.
-- Capacity is enforced by the database: `taken` counts held and confirmed reservations, a
-- booking increments it with a conditional UPDATE (which takes the slot's row lock) in the same
-- transaction as the insert, and the CHECK refuses any row beyond capacity even if a bug tried.

CREATE TABLE services (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    code           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('consultation','remote_consultation','checkup','lecture')),
    name_ja        text NOT NULL,
    name_en        text NOT NULL,
    department_id  uuid REFERENCES departments(id),
    rules          jsonb NOT NULL,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL,
    CONSTRAINT services_code UNIQUE (tenant_id, code)
);

CREATE TABLE slots (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    service_id  uuid NOT NULL REFERENCES services(id),
    office_id   uuid NOT NULL REFERENCES offices(id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    capacity    integer NOT NULL CHECK (capacity >= 0),
    taken       integer NOT NULL DEFAULT 0,
    CHECK (taken >= 0 AND taken <= capacity),
    CHECK (ends_at > starts_at),
    CONSTRAINT slots_start UNIQUE (service_id, office_id, starts_at)
);
CREATE INDEX slots_service_start ON slots (tenant_id, service_id, starts_at);

CREATE TABLE reservations (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    slot_id          uuid NOT NULL REFERENCES slots(id),
    service_id       uuid NOT NULL REFERENCES services(id),
    account_id       uuid REFERENCES accounts(id),
    status           text NOT NULL CHECK (status IN ('held','confirmed','cancelled','expired','attended','no_show')),
    idempotency_key  text,
    hold_expires_at  timestamptz,
    details          jsonb NOT NULL,
    created_at       timestamptz NOT NULL,
    cancelled_at     timestamptz,
    cancel_reason    text,
    CONSTRAINT reservations_idempotency UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX reservations_slot ON reservations (slot_id, status);
CREATE INDEX reservations_account ON reservations (tenant_id, account_id, service_id);
CREATE INDEX reservations_holds ON reservations (status, hold_expires_at);
