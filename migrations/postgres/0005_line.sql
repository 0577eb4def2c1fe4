-- The city's LINE official account, residents linked to it, the one-time codes that link them,
-- and the secret "my reservations" calendar feeds.
-- Secrets (channel secret, channel access token) are stored as given: the app never logs them
-- and shows them masked. Codes and feed tokens are stored only as their SHA-256.

-- One LINE Messaging API channel per tenant.
CREATE TABLE line_channels (
    tenant_id             uuid PRIMARY KEY REFERENCES tenants(id),
    -- The channel id from the LINE Developers console (not a secret).
    channel_id            text NOT NULL,
    -- Verifies the X-Line-Signature of webhook requests.
    channel_secret        text NOT NULL,
    -- The bearer token for push and reply requests.
    channel_access_token  text NOT NULL,
    -- The official account's basic id ('@123abcde'), for the add-friend link; optional.
    basic_id              text,
    -- https://api.line.me unless a test points it at a fake.
    api_base_url          text NOT NULL,
    enabled               boolean NOT NULL DEFAULT false,
    updated_at            timestamptz NOT NULL
);

-- A resident's account linked to their LINE user id (which is per provider, so per tenant).
-- One LINE user per account, and one account per LINE user, in each tenant.
CREATE TABLE line_links (
    tenant_id     uuid NOT NULL REFERENCES tenants(id),
    account_id    uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    line_user_id  text NOT NULL,
    linked_at     timestamptz NOT NULL,
    CONSTRAINT line_links_account UNIQUE (tenant_id, account_id),
    CONSTRAINT line_links_user UNIQUE (tenant_id, line_user_id)
);

-- One-time codes a resident sends to the official account to link it. Short-lived and single
-- use; only the SHA-256 (of tenant and code) is kept.
CREATE TABLE line_link_codes (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    code_hash   bytea NOT NULL,
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (tenant_id, code_hash)
);
CREATE INDEX line_link_codes_account ON line_link_codes (tenant_id, account_id);

-- A resident's secret calendar feed. The URL's token is derived from `nonce` with a server key
-- (so the page can show it again), and looked up by its SHA-256; a new nonce retires the old URL.
CREATE TABLE reservation_feeds (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    nonce       bytea NOT NULL,
    token_hash  bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, account_id),
    CONSTRAINT reservation_feeds_token UNIQUE (tenant_id, token_hash)
);
