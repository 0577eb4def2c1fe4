-- Facility reservations (issue 12): facilities with their units, time rules, fee table and
-- refund rule (JSON that madoguchi-facilities reads back through its own checks), their
-- bookings, and the units each booking occupies. No two bookings occupy one unit at
-- overlapping times: the trigger `facility_unit_taken` refuses the second row, inside the
-- booking's BEGIN IMMEDIATE transaction (SQLite has no exclusion constraints). Ranges of one
-- unit never overlap, so the row starting last before the new one ends is the only one that
-- can: one index lookup, however long the unit's history.
CREATE TABLE facilities (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    code         TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 40 AND code NOT GLOB '*[^a-z0-9_-]*'),
    name_ja      TEXT NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en      TEXT NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    office_id    TEXT REFERENCES offices(id),
    layout       TEXT NOT NULL,
    time_rules   TEXT NOT NULL,
    fee_table    TEXT NOT NULL,
    refund_rule  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    CONSTRAINT facilities_code UNIQUE (tenant_id, code),
    CONSTRAINT facilities_tenant_id UNIQUE (tenant_id, id)
);

CREATE TABLE facility_bookings (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL,
    facility_id        TEXT NOT NULL,
    unit_id            TEXT NOT NULL,
    use_date           TEXT NOT NULL,
    starts_at          INTEGER NOT NULL,
    ends_at            INTEGER NOT NULL,
    occupied_until     INTEGER NOT NULL,
    holder_account_id  TEXT REFERENCES accounts(id),
    holder_name        TEXT NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 200),
    user_class         TEXT NOT NULL CHECK (user_class IN ('resident', 'worker', 'student', 'outside')),
    fee_yen            INTEGER NOT NULL CHECK (fee_yen >= 0),
    status             TEXT NOT NULL CHECK (status IN ('provisional', 'confirmed', 'checked_in', 'no_show',
                                                       'expired', 'cancelled', 'pre_empted')),
    pay_by             INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CHECK (starts_at < ends_at AND ends_at <= occupied_until),
    CHECK ((status = 'provisional') = (pay_by IS NOT NULL)),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES facilities (tenant_id, id)
);
CREATE INDEX facility_bookings_facility ON facility_bookings (facility_id, starts_at);
CREATE INDEX facility_bookings_holder ON facility_bookings (holder_account_id, starts_at)
    WHERE holder_account_id IS NOT NULL;
CREATE INDEX facility_bookings_deadline ON facility_bookings (pay_by) WHERE status = 'provisional';

CREATE TABLE facility_occupancy (
    booking_id   TEXT NOT NULL REFERENCES facility_bookings(id),
    facility_id  TEXT NOT NULL,
    unit_id      TEXT NOT NULL,
    starts_at    INTEGER NOT NULL,
    ends_at      INTEGER NOT NULL CHECK (ends_at > starts_at),
    PRIMARY KEY (booking_id, unit_id)
);
CREATE INDEX facility_occupancy_unit ON facility_occupancy (facility_id, unit_id, starts_at);

CREATE TRIGGER facility_unit_taken BEFORE INSERT ON facility_occupancy
WHEN (SELECT o.ends_at FROM facility_occupancy o
      WHERE o.facility_id = NEW.facility_id AND o.unit_id = NEW.unit_id
        AND o.starts_at < NEW.ends_at
      ORDER BY o.starts_at DESC LIMIT 1) > NEW.starts_at
BEGIN SELECT RAISE(ABORT, 'facility_unit_taken'); END;

-- Occupancy is written and deleted, never moved: a moved range would skip the check above.
CREATE TRIGGER facility_occupancy_no_update BEFORE UPDATE ON facility_occupancy
BEGIN SELECT RAISE(ABORT, 'facility occupancy is never updated'); END;
