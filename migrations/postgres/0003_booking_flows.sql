-- Booking flows beyond book-and-cancel: proxy bookings by staff, attendance, the waiting list,
-- no-show suspensions, and the appointment a remote consultation creates.
--
-- A slot's `taken` keeps counting a reservation once attendance is marked (attended or
-- no-show): the seat was used, and the personal limit counts it too.

-- The staff member who booked on a caller's behalf (NULL: the resident booked).
ALTER TABLE reservations ADD COLUMN booked_by uuid REFERENCES accounts(id);
-- When staff marked the reservation attended or no-show.
ALTER TABLE reservations ADD COLUMN attendance_at timestamptz;
CREATE INDEX reservations_no_shows ON reservations (tenant_id, account_id, status, attendance_at);

-- Residents waiting for a seat in a full slot, served in arrival order. An entry ends when it
-- is promoted (a confirmed reservation), offered (a held reservation whose hold is the
-- response deadline), skipped (the resident could no longer book, e.g. the personal limit) or
-- withdrawn.
CREATE TABLE waitlist_entries (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id),
    slot_id         uuid NOT NULL REFERENCES slots(id),
    service_id      uuid NOT NULL REFERENCES services(id),
    account_id      uuid NOT NULL REFERENCES accounts(id),
    status          text NOT NULL CHECK (status IN ('waiting','promoted','offered','skipped','withdrawn')),
    reservation_id  uuid REFERENCES reservations(id),
    details         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    settled_at      timestamptz,
    CHECK ((status IN ('promoted','offered')) = (reservation_id IS NOT NULL))
);
CREATE UNIQUE INDEX waitlist_one_per_resident ON waitlist_entries (slot_id, account_id)
    WHERE status = 'waiting';
CREATE INDEX waitlist_queue ON waitlist_entries (slot_id, status, created_at);
CREATE INDEX waitlist_account ON waitlist_entries (tenant_id, account_id, status);

-- The city's booking policy (no-show suspension today), JSON validated by madoguchi-booking;
-- a tenant without a row uses the defaults.
CREATE TABLE booking_policies (
    tenant_id   uuid PRIMARY KEY REFERENCES tenants(id),
    policy      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);

-- Online booking suspended for a resident (too many no-shows); staff can lift it early.
CREATE TABLE booking_suspensions (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    account_id  uuid NOT NULL REFERENCES accounts(id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    no_shows    bigint NOT NULL,
    created_at  timestamptz NOT NULL,
    lifted_at   timestamptz,
    lifted_by   uuid REFERENCES accounts(id),
    lift_reason text,
    CHECK (ends_at > starts_at)
);
CREATE INDEX booking_suspensions_account ON booking_suspensions (tenant_id, account_id, ends_at);

-- Where the resident joins a remote consultation: the appointment the remote counter uses.
CREATE TABLE remote_appointments (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    reservation_id   uuid NOT NULL UNIQUE REFERENCES reservations(id),
    join_from        text NOT NULL CHECK (join_from IN ('home','kiosk')),
    kiosk_office_id  uuid REFERENCES offices(id),
    created_at       timestamptz NOT NULL,
    CHECK ((join_from = 'kiosk') = (kiosk_office_id IS NOT NULL))
);
