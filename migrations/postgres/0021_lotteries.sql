-- The monthly facility lottery (issue 12). A draw is opened for a facility and a month of use
-- with its rules, its offered unit-slots and the SHA-256 commitment of a secret seed that is
-- published at once; applications are filed while it is open; the draw stores its canonical
-- audit record (which anyone can re-run with `madoguchi lottery verify`) and each
-- application's place and win, once. The seed is kept here until the draw and shown only in
-- the record after it.
CREATE TABLE lottery_draws (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL,
    facility_id    uuid NOT NULL,
    use_month      text NOT NULL CHECK (use_month ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    rules          jsonb NOT NULL,
    slots          jsonb NOT NULL,
    commitment     text NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    seed           text NOT NULL CHECK (seed ~ '^[0-9a-f]{64}$'),
    state          text NOT NULL CHECK (state IN ('open', 'drawn')),
    record         bytea,
    record_sha256  text CHECK (record_sha256 ~ '^[0-9a-f]{64}$'),
    opened_at      timestamptz NOT NULL,
    drawn_at       timestamptz,
    CHECK ((state = 'drawn') = (record IS NOT NULL AND record_sha256 IS NOT NULL AND drawn_at IS NOT NULL)),
    CONSTRAINT lottery_draws_month UNIQUE (tenant_id, facility_id, use_month),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES facilities (tenant_id, id)
);

CREATE TABLE lottery_applications (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    draw_id            uuid NOT NULL REFERENCES lottery_draws(id),
    applicant_id       uuid NOT NULL,
    holder_account_id  uuid REFERENCES accounts(id),
    user_class         text NOT NULL CHECK (user_class IN ('resident', 'worker', 'student', 'outside')),
    choices            jsonb NOT NULL,
    filed_at           timestamptz NOT NULL,
    -- Set by the draw: the place in serving order (0 first) and the slot won, if any.
    served_rank        integer CHECK (served_rank >= 0),
    won                jsonb
);
CREATE INDEX lottery_applications_draw ON lottery_applications (draw_id, applicant_id);
CREATE INDEX lottery_applications_holder ON lottery_applications (holder_account_id)
    WHERE holder_account_id IS NOT NULL;
