-- Booking flows beyond book-and-cancel: proxy bookings by staff, attendance, the waiting list,
-- no-show suspensions, and the appointment a remote consultation creates.
--
-- A slot's `taken` keeps counting a reservation once attendance is marked (attended or
-- no-show): the seat was used, and the personal limit counts it too.

-- The staff member who booked on a caller's behalf (NULL: the resident booked).
ALTER TABLE reservations ADD COLUMN booked_by TEXT REFERENCES accounts(id);
-- When staff marked the reservation attended or no-show.
ALTER TABLE reservations ADD COLUMN attendance_at INTEGER;
CREATE INDEX reservations_no_shows ON reservations (tenant_id, account_id, status, attendance_at);

-- Residents waiting for a seat in a full slot, served in arrival order. An entry ends when it
-- is promoted (a confirmed reservation), offered (a held reservation whose hold is the
-- response deadline), skipped (the resident could no longer book, e.g. the personal limit) or
-- withdrawn.
CREATE TABLE waitlist_entries (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    slot_id         TEXT NOT NULL REFERENCES slots(id),
    service_id      TEXT NOT NULL REFERENCES services(id),
    account_id      TEXT NOT NULL REFERENCES accounts(id),
    status          TEXT NOT NULL CHECK (status IN ('waiting','promoted','offered','skipped','withdrawn')),
    reservation_id  TEXT REFERENCES reservations(id),
    details         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    CHECK ((status IN ('promoted','offered')) = (reservation_id IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX waitlist_one_per_resident ON waitlist_entries (slot_id, account_id)
    WHERE status = 'waiting';
CREATE INDEX waitlist_queue ON waitlist_entries (slot_id, status, created_at);
CREATE INDEX waitlist_account ON waitlist_entries (tenant_id, account_id, status);

-- The city's booking policy (no-show suspension today), JSON validated by madoguchi-booking;
-- a tenant without a row uses the defaults.
CREATE TABLE booking_policies (
    tenant_id   TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    policy      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- Online booking suspended for a resident (too many no-shows); staff can lift it early.
CREATE TABLE booking_suspensions (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    no_shows    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    lifted_at   INTEGER,
    lifted_by   TEXT REFERENCES accounts(id),
    lift_reason TEXT,
    CHECK (ends_at > starts_at)
) STRICT;
CREATE INDEX booking_suspensions_account ON booking_suspensions (tenant_id, account_id, ends_at);

-- Where the resident joins a remote consultation: the appointment the remote counter uses.
CREATE TABLE remote_appointments (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    reservation_id   TEXT NOT NULL UNIQUE REFERENCES reservations(id),
    join_from        TEXT NOT NULL CHECK (join_from IN ('home','kiosk')),
    kiosk_office_id  TEXT REFERENCES offices(id),
    created_at       INTEGER NOT NULL,
    CHECK ((join_from = 'kiosk') = (kiosk_office_id IS NOT NULL))
) STRICT;
