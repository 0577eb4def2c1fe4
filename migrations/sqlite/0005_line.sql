-- The city's LINE official account, residents linked to it, the one-time codes that link them,
-- and the secret "my reservations" calendar feeds.
-- Secrets (channel secret, channel access token) are stored as given: the app never logs them
-- and shows them masked. Codes and feed tokens are stored only as their SHA-256.

-- One LINE Messaging API channel per tenant.
CREATE TABLE line_channels (
    tenant_id             TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    -- The channel id from the LINE Developers console (not a secret).
    channel_id            TEXT NOT NULL,
    -- Verifies the X-Line-Signature of webhook requests.
    channel_secret        TEXT NOT NULL,
    -- The bearer token for push and reply requests.
    channel_access_token  TEXT NOT NULL,
    -- The official account's basic id ('@123abcde'), for the add-friend link; optional.
    basic_id              TEXT,
    -- https://api.line.me unless a test points it at a fake.
    api_base_url          TEXT NOT NULL,
    enabled               INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0,1)),
    updated_at            INTEGER NOT NULL
) STRICT;

-- A resident's account linked to their LINE user id (which is per provider, so per tenant).
-- One LINE user per account, and one account per LINE user, in each tenant.
CREATE TABLE line_links (
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    account_id    TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    line_user_id  TEXT NOT NULL,
    linked_at     INTEGER NOT NULL,
    CONSTRAINT line_links_account UNIQUE (tenant_id, account_id),
    CONSTRAINT line_links_user UNIQUE (tenant_id, line_user_id)
) STRICT;

-- One-time codes a resident sends to the official account to link it. Short-lived and single
-- use; only the SHA-256 (of tenant and code) is kept.
CREATE TABLE line_link_codes (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    code_hash   BLOB NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (tenant_id, code_hash)
) STRICT;
CREATE INDEX line_link_codes_account ON line_link_codes (tenant_id, account_id);

-- A resident's secret calendar feed. The URL's token is derived from `nonce` with a server key
-- (so the page can show it again), and looked up by its SHA-256; a new nonce retires the old URL.
CREATE TABLE reservation_feeds (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    nonce       BLOB NOT NULL,
    token_hash  BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, account_id),
    CONSTRAINT reservation_feeds_token UNIQUE (tenant_id, token_hash)
) STRICT;
