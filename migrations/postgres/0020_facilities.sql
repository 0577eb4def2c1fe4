-- Facility reservations (issue 12): facilities with their units, time rules, fee table and
-- refund rule (JSON that madoguchi-facilities reads back through its own checks), their
-- bookings, and the units each booking occupies. No two bookings occupy one unit at
-- overlapping times: the exclusion constraint `facility_unit_taken` refuses the second (a
-- booking of a whole writes a row for the whole and each of its parts, so a whole and its part
-- never overlap either). btree_gist gives GiST its `=` on uuid; it is a trusted extension, so
-- the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE facilities (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    code         text NOT NULL CHECK (code ~ '^[a-z0-9_-]{1,40}$'),
    name_ja      text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en      text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    office_id    uuid REFERENCES offices(id),
    layout       jsonb NOT NULL,
    time_rules   jsonb NOT NULL,
    fee_table    jsonb NOT NULL,
    refund_rule  jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT facilities_code UNIQUE (tenant_id, code),
    CONSTRAINT facilities_tenant_id UNIQUE (tenant_id, id)
);

CREATE TABLE facility_bookings (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL,
    facility_id        uuid NOT NULL,
    unit_id            uuid NOT NULL,
    use_date           date NOT NULL,
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL,
    occupied_until     timestamptz NOT NULL,
    holder_account_id  uuid REFERENCES accounts(id),
    holder_name        text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 200),
    user_class         text NOT NULL CHECK (user_class IN ('resident', 'worker', 'student', 'outside')),
    fee_yen            bigint NOT NULL CHECK (fee_yen >= 0),
    status             text NOT NULL CHECK (status IN ('provisional', 'confirmed', 'checked_in', 'no_show',
                                                       'expired', 'cancelled', 'pre_empted')),
    pay_by             timestamptz,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK (starts_at < ends_at AND ends_at <= occupied_until),
    CHECK ((status = 'provisional') = (pay_by IS NOT NULL)),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES facilities (tenant_id, id)
);
CREATE INDEX facility_bookings_facility ON facility_bookings (facility_id, starts_at);
CREATE INDEX facility_bookings_holder ON facility_bookings (holder_account_id, starts_at)
    WHERE holder_account_id IS NOT NULL;
CREATE INDEX facility_bookings_deadline ON facility_bookings (pay_by) WHERE status = 'provisional';

CREATE TABLE facility_occupancy (
    booking_id   uuid NOT NULL REFERENCES facility_bookings(id),
    facility_id  uuid NOT NULL,
    unit_id      uuid NOT NULL,
    during       tstzrange NOT NULL CHECK (NOT isempty(during) AND lower_inc(during) AND NOT upper_inc(during)),
    PRIMARY KEY (booking_id, unit_id),
    CONSTRAINT facility_unit_taken EXCLUDE USING gist (facility_id WITH =, unit_id WITH =, during WITH &&)
);
