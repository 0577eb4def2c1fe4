-- Foundation schema for SQLite: tenants, organisation, accounts, sessions, audit log, jobs.
-- Ids are UUID text; instants are INTEGER microseconds since the Unix epoch (UTC).

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL,
    name_ja     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    host        TEXT,
    created_at  INTEGER NOT NULL,
    CONSTRAINT tenants_slug UNIQUE (slug),
    CONSTRAINT tenants_host UNIQUE (host)
) STRICT;

CREATE TABLE offices (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('headquarters','branch','sub_office','community_centre','hospital','facility')),
    name_ja     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    CONSTRAINT offices_code UNIQUE (tenant_id, code)
) STRICT;

CREATE TABLE departments (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code        TEXT NOT NULL,
    name_ja     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    office_id   TEXT REFERENCES offices(id),
    created_at  INTEGER NOT NULL,
    CONSTRAINT departments_code UNIQUE (tenant_id, code)
) STRICT;

CREATE TABLE accounts (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    kind               TEXT NOT NULL CHECK (kind IN ('resident','staff')),
    email              TEXT NOT NULL,
    display_name       TEXT NOT NULL,
    password_hash      TEXT NOT NULL,
    -- Sessions and API tokens from before this instant are no longer honoured.
    password_changed_at INTEGER NOT NULL,
    locale             TEXT NOT NULL CHECK (locale IN ('ja','en')),
    email_verified_at  INTEGER,
    failed_sign_ins    INTEGER NOT NULL DEFAULT 0,
    last_failed_at     INTEGER,
    locked_until       INTEGER,
    last_sign_in_at    INTEGER,
    disabled           INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0,1)),
    created_at         INTEGER NOT NULL,
    -- Residents and staff sign in separately; one address may hold one account of each kind.
    CONSTRAINT accounts_email UNIQUE (tenant_id, kind, email)
) STRICT;

CREATE TABLE role_assignments (
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role           TEXT NOT NULL CHECK (role IN ('admin','hq_staff','branch_staff','facility_staff','finance')),
    office_id      TEXT REFERENCES offices(id),
    department_id  TEXT REFERENCES departments(id),
    CHECK (role NOT IN ('branch_staff','facility_staff') OR office_id IS NOT NULL),
    CHECK (role <> 'hq_staff' OR department_id IS NOT NULL)
) STRICT;
CREATE INDEX role_assignments_account ON role_assignments (account_id);

CREATE TABLE one_time_tokens (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email','reset_password')),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT;

CREATE TABLE rate_limits (
    key           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT;

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    data        TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    at          INTEGER NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('resident','staff','system','anonymous')),
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    details     TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC);

-- The audit log is append-only: the database itself refuses to change or remove an entry.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY NOT NULL,
    tenant_id     TEXT REFERENCES tenants(id),
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('queued','running','done','failed')),
    run_at        INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    max_attempts  INTEGER NOT NULL,
    lease_until   INTEGER,
    locked_by     TEXT,
    last_error    TEXT,
    created_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;
CREATE INDEX jobs_due ON jobs (status, run_at);
