-- The monthly facility lottery (issue 12). A draw is opened for a facility and a month of use
-- with its rules, its offered unit-slots and the SHA-256 commitment of a secret seed that is
-- published at once; applications are filed while it is open; the draw stores its canonical
-- audit record (which anyone can re-run with `madoguchi lottery verify`) and each
-- application's place and win, once. The seed is kept here until the draw and shown only in
-- the record after it.
CREATE TABLE lottery_draws (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL,
    facility_id    TEXT NOT NULL,
    use_month      TEXT NOT NULL CHECK (length(use_month) = 7 AND use_month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    rules          TEXT NOT NULL,
    slots          TEXT NOT NULL,
    commitment     TEXT NOT NULL CHECK (length(commitment) = 64 AND commitment NOT GLOB '*[^0-9a-f]*'),
    seed           TEXT NOT NULL CHECK (length(seed) = 64 AND seed NOT GLOB '*[^0-9a-f]*'),
    state          TEXT NOT NULL CHECK (state IN ('open', 'drawn')),
    record         BLOB,
    record_sha256  TEXT CHECK (length(record_sha256) = 64 AND record_sha256 NOT GLOB '*[^0-9a-f]*'),
    opened_at      INTEGER NOT NULL,
    drawn_at       INTEGER,
    CHECK ((state = 'drawn') = (record IS NOT NULL AND record_sha256 IS NOT NULL AND drawn_at IS NOT NULL)),
    CONSTRAINT lottery_draws_month UNIQUE (tenant_id, facility_id, use_month),
    FOREIGN KEY (tenant_id, facility_id) REFERENCES facilities (tenant_id, id)
);

CREATE TABLE lottery_applications (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    draw_id            TEXT NOT NULL REFERENCES lottery_draws(id),
    applicant_id       TEXT NOT NULL,
    holder_account_id  TEXT REFERENCES accounts(id),
    user_class         TEXT NOT NULL CHECK (user_class IN ('resident', 'worker', 'student', 'outside')),
    choices            TEXT NOT NULL,
    filed_at           INTEGER NOT NULL,
    -- Set by the draw: the place in serving order (0 first) and the slot won, if any.
    served_rank        INTEGER CHECK (served_rank >= 0),
    won                TEXT
);
CREATE INDEX lottery_applications_draw ON lottery_applications (draw_id, applicant_id);
CREATE INDEX lottery_applications_holder ON lottery_applications (holder_account_id)
    WHERE holder_account_id IS NOT NULL;
