-- Foundation schema for PostgreSQL: tenants, organisation, accounts, sessions, audit log, jobs.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL,
    name_ja     text NOT NULL,
    name_en     text NOT NULL,
    host        text,
    created_at  timestamptz NOT NULL,
    CONSTRAINT tenants_slug UNIQUE (slug),
    CONSTRAINT tenants_host UNIQUE (host)
);

CREATE TABLE offices (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    code        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('headquarters','branch','sub_office','community_centre','hospital','facility')),
    name_ja     text NOT NULL,
    name_en     text NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT offices_code UNIQUE (tenant_id, code)
);

CREATE TABLE departments (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    code        text NOT NULL,
    name_ja     text NOT NULL,
    name_en     text NOT NULL,
    office_id   uuid REFERENCES offices(id),
    created_at  timestamptz NOT NULL,
    CONSTRAINT departments_code UNIQUE (tenant_id, code)
);

CREATE TABLE accounts (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    kind               text NOT NULL CHECK (kind IN ('resident','staff')),
    email              text NOT NULL,
    display_name       text NOT NULL,
    password_hash      text NOT NULL,
    -- Sessions and API tokens from before this instant are no longer honoured.
    password_changed_at timestamptz NOT NULL,
    locale             text NOT NULL CHECK (locale IN ('ja','en')),
    email_verified_at  timestamptz,
    failed_sign_ins    bigint NOT NULL DEFAULT 0,
    last_failed_at     timestamptz,
    locked_until       timestamptz,
    last_sign_in_at    timestamptz,
    disabled           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL,
    CONSTRAINT accounts_email UNIQUE (tenant_id, kind, email)
);

CREATE TABLE role_assignments (
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    account_id     uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role           text NOT NULL CHECK (role IN ('admin','hq_staff','branch_staff','facility_staff','finance')),
    office_id      uuid REFERENCES offices(id),
    department_id  uuid REFERENCES departments(id),
    CHECK (role NOT IN ('branch_staff','facility_staff') OR office_id IS NOT NULL),
    CHECK (role <> 'hq_staff' OR department_id IS NOT NULL)
);
CREATE INDEX role_assignments_account ON role_assignments (account_id);

CREATE TABLE one_time_tokens (
    token_hash  bytea PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_email','reset_password')),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);

CREATE TABLE rate_limits (
    key           text NOT NULL,
    window_start  bigint NOT NULL,
    hits          bigint NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE TABLE sessions (
    id          text PRIMARY KEY,
    data        text NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    at          timestamptz NOT NULL,
    actor_kind  text NOT NULL CHECK (actor_kind IN ('resident','staff','system','anonymous')),
    actor_id    uuid,
    action      text NOT NULL,
    target      text,
    details     jsonb NOT NULL
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at DESC);

-- The audit log is append-only: the database itself refuses to change or remove an entry.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
-- TRUNCATE bypasses row triggers; SQLite has no TRUNCATE, so refusing it keeps both alike.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    tenant_id     uuid REFERENCES tenants(id),
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL CHECK (status IN ('queued','running','done','failed')),
    run_at        timestamptz NOT NULL,
    attempts      bigint NOT NULL DEFAULT 0,
    max_attempts  bigint NOT NULL,
    lease_until   timestamptz,
    locked_by     text,
    last_error    text,
    created_at    timestamptz NOT NULL,
    finished_at   timestamptz
);
CREATE INDEX jobs_due ON jobs (status, run_at);
