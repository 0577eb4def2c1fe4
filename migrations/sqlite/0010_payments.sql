-- Payments: revenue categories, receivables (調定), payments with every transition, provider
-- webhook events, refunds, and the double-entry ledger.
--
-- The ledger guards itself: an entry's lines are written first and the entry row last; the
-- entry's insert trigger refuses it unless its lines balance (debits = credits, at least one
-- of each, all of its tenant), a line cannot be added to an entry that exists, and the lines'
-- foreign key is checked at commit, so lines without an entry never commit. Nothing in the
-- ledger, the transitions, the receivable events or the provider events can be updated or
-- deleted: corrections are new entries.

CREATE TABLE revenue_categories (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    code       TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
    name_ja    TEXT NOT NULL,
    name_en    TEXT NOT NULL,
    is_tax     INTEGER NOT NULL CHECK (is_tax IN (0, 1)),
    PRIMARY KEY (tenant_id, code)
) STRICT;

CREATE TABLE receivables (
    id                TEXT PRIMARY KEY NOT NULL,
    tenant_id         TEXT NOT NULL REFERENCES tenants(id),
    category          TEXT NOT NULL,
    description       TEXT NOT NULL,
    payer_account_id  TEXT REFERENCES accounts(id),
    payer_name        TEXT NOT NULL,
    office_id         TEXT REFERENCES offices(id),
    fiscal_year       INTEGER NOT NULL CHECK (fiscal_year BETWEEN 1900 AND 2200),
    due_on            TEXT NOT NULL,
    original_yen      INTEGER NOT NULL CHECK (original_yen > 0),
    assessed_yen      INTEGER NOT NULL CHECK (assessed_yen >= 0),
    paid_yen          INTEGER NOT NULL CHECK (paid_yen >= 0),
    closure           TEXT CHECK (closure IN ('cancelled', 'written_off')),
    status            TEXT NOT NULL CHECK (status IN ('open', 'partly_paid', 'paid', 'overpaid', 'cancelled', 'written_off')),
    source_kind       TEXT,
    source_id         TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, category) REFERENCES revenue_categories (tenant_id, code)
) STRICT;
CREATE INDEX receivables_tenant_status ON receivables (tenant_id, status, due_on);
CREATE INDEX receivables_payer ON receivables (tenant_id, payer_account_id);
-- One receivable per thing it is for (a reservation's fee is assessed once).
CREATE UNIQUE INDEX receivables_source ON receivables (tenant_id, source_kind, source_id)
    WHERE source_kind IS NOT NULL;

CREATE TABLE receivable_events (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    receivable_id  TEXT NOT NULL REFERENCES receivables(id),
    at             INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('issued', 'payment', 'refund', 'cancelled', 'written_off')),
    amount_yen     INTEGER NOT NULL,
    payment_id     TEXT,
    refund_id      TEXT,
    reason         TEXT
) STRICT;
CREATE INDEX receivable_events_receivable ON receivable_events (receivable_id, at);

CREATE TABLE payments (
    id                 TEXT PRIMARY KEY NOT NULL,
    tenant_id          TEXT NOT NULL REFERENCES tenants(id),
    receivable_id      TEXT NOT NULL REFERENCES receivables(id),
    provider           TEXT NOT NULL CHECK (provider IN ('stripe', 'sandbox', 'counter', 'konbini_agency')),
    method             TEXT NOT NULL,
    channel            TEXT NOT NULL,
    amount_yen         INTEGER NOT NULL CHECK (amount_yen > 0),
    currency           TEXT NOT NULL DEFAULT 'JPY' CHECK (currency = 'JPY'),
    status             TEXT NOT NULL CHECK (status IN ('created', 'requires_action', 'processing', 'succeeded', 'failed', 'expired', 'canceled')),
    idempotency_key    TEXT NOT NULL UNIQUE,
    provider_ref       TEXT,
    redirect_url       TEXT,
    method_detail      TEXT,
    slip_number        TEXT,
    konbini            TEXT,
    pay_by             INTEGER,
    last_signal_at     INTEGER,
    -- When the recovery pass may ask the provider about this payment again (backs off).
    next_check_at      INTEGER,
    payer_account_id   TEXT REFERENCES accounts(id),
    created_by_kind    TEXT NOT NULL,
    created_by_id      TEXT,
    office_id          TEXT REFERENCES offices(id),
    client_key         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;
-- At most one payment in flight per receivable: two tabs cannot both start paying.
CREATE UNIQUE INDEX payments_one_in_flight ON payments (receivable_id)
    WHERE status IN ('created', 'requires_action', 'processing');
CREATE UNIQUE INDEX payments_provider_ref ON payments (tenant_id, provider, provider_ref)
    WHERE provider_ref IS NOT NULL;
-- A client's retried request (its Idempotency-Key, scoped by who sent it) finds its payment.
CREATE UNIQUE INDEX payments_client_key ON payments (tenant_id, created_by_kind, created_by_id, client_key)
    WHERE client_key IS NOT NULL;
CREATE INDEX payments_receivable ON payments (receivable_id, created_at);
CREATE INDEX payments_status_updated ON payments (status, updated_at);

CREATE TABLE payment_transitions (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    payment_id   TEXT NOT NULL REFERENCES payments(id),
    at           INTEGER NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    source       TEXT NOT NULL,
    event_id     TEXT
) STRICT;
CREATE INDEX payment_transitions_payment ON payment_transitions (payment_id, at);

CREATE TABLE provider_events (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    payment_id   TEXT,
    outcome      TEXT NOT NULL CHECK (outcome IN ('applied', 'duplicate_state', 'stale', 'unknown_payment', 'ignored', 'refund')),
    payload      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
) STRICT;
CREATE INDEX provider_events_outcome ON provider_events (tenant_id, outcome, received_at);

CREATE TABLE refunds (
    id                   TEXT PRIMARY KEY NOT NULL,
    tenant_id            TEXT NOT NULL REFERENCES tenants(id),
    payment_id           TEXT NOT NULL REFERENCES payments(id),
    amount_yen           INTEGER NOT NULL CHECK (amount_yen > 0),
    reason               TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'processing', 'succeeded', 'failed')),
    requested_by_kind    TEXT NOT NULL,
    requested_by         TEXT NOT NULL,
    decided_by           TEXT,
    decided_at           INTEGER,
    decision_note        TEXT,
    idempotency_key      TEXT NOT NULL UNIQUE,
    provider_refund_ref  TEXT,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    -- Four eyes, in the database too: nobody decides their own refund.
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
) STRICT;
CREATE INDEX refunds_tenant_status ON refunds (tenant_id, status, created_at);
CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE ledger_entries (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    posted_at        INTEGER NOT NULL,
    accounting_date  TEXT NOT NULL,
    kind             TEXT NOT NULL,
    receivable_id    TEXT REFERENCES receivables(id),
    payment_id       TEXT REFERENCES payments(id),
    refund_id        TEXT REFERENCES refunds(id)
) STRICT;
CREATE INDEX ledger_entries_tenant_date ON ledger_entries (tenant_id, accounting_date);

CREATE TABLE ledger_lines (
    entry_id    TEXT NOT NULL REFERENCES ledger_entries(id) DEFERRABLE INITIALLY DEFERRED,
    line_no     INTEGER NOT NULL,
    tenant_id   TEXT NOT NULL,
    account     TEXT NOT NULL,
    amount_yen  INTEGER NOT NULL CHECK (amount_yen <> 0),
    PRIMARY KEY (entry_id, line_no)
) STRICT;
CREATE INDEX ledger_lines_account ON ledger_lines (tenant_id, account);

CREATE TRIGGER ledger_lines_sealed BEFORE INSERT ON ledger_lines
WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
BEGIN SELECT RAISE(ABORT, 'ledger entry is sealed: lines cannot be added'); END;

CREATE TRIGGER ledger_entries_balanced BEFORE INSERT ON ledger_entries
WHEN (SELECT coalesce(sum(amount_yen), 1) FROM ledger_lines WHERE entry_id = NEW.id) <> 0
  OR (SELECT count(*) FROM ledger_lines WHERE entry_id = NEW.id AND amount_yen > 0) = 0
  OR (SELECT count(*) FROM ledger_lines WHERE entry_id = NEW.id AND amount_yen < 0) = 0
  OR EXISTS (SELECT 1 FROM ledger_lines WHERE entry_id = NEW.id AND tenant_id <> NEW.tenant_id)
BEGIN SELECT RAISE(ABORT, 'ledger entry does not balance'); END;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_lines_no_update BEFORE UPDATE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_lines_no_delete BEFORE DELETE ON ledger_lines
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER payment_transitions_no_update BEFORE UPDATE ON payment_transitions
BEGIN SELECT RAISE(ABORT, 'payment transitions are append-only'); END;
CREATE TRIGGER payment_transitions_no_delete BEFORE DELETE ON payment_transitions
BEGIN SELECT RAISE(ABORT, 'payment transitions are append-only'); END;
CREATE TRIGGER receivable_events_no_update BEFORE UPDATE ON receivable_events
BEGIN SELECT RAISE(ABORT, 'receivable events are append-only'); END;
CREATE TRIGGER receivable_events_no_delete BEFORE DELETE ON receivable_events
BEGIN SELECT RAISE(ABORT, 'receivable events are append-only'); END;
CREATE TRIGGER provider_events_no_update BEFORE UPDATE ON provider_events
BEGIN SELECT RAISE(ABORT, 'provider events are append-only'); END;
CREATE TRIGGER provider_events_no_delete BEFORE DELETE ON provider_events
BEGIN SELECT RAISE(ABORT, 'provider events are append-only'); END;

-- The built-in sandbox gateway's own records (what a provider would keep on its side).
CREATE TABLE sandbox_intents (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    idempotency_key  TEXT NOT NULL,
    payment_id       TEXT NOT NULL,
    amount_yen       INTEGER NOT NULL CHECK (amount_yen > 0),
    method           TEXT NOT NULL,
    description      TEXT NOT NULL,
    return_url       TEXT NOT NULL,
    cancel_url       TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'succeeded', 'failed', 'expired', 'canceled')),
    pay_by           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
) STRICT;

CREATE TABLE sandbox_refunds (
    id               TEXT PRIMARY KEY NOT NULL,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    idempotency_key  TEXT NOT NULL,
    intent_id        TEXT NOT NULL REFERENCES sandbox_intents(id),
    refund_id        TEXT NOT NULL,
    amount_yen       INTEGER NOT NULL CHECK (amount_yen > 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
) STRICT;
