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
    tenant_id  uuid NOT NULL REFERENCES tenants(id),
    code       text NOT NULL CHECK (length(code) BETWEEN 1 AND 40),
    name_ja    text NOT NULL,
    name_en    text NOT NULL,
    is_tax     boolean NOT NULL,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE receivables (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants(id),
    category          text NOT NULL,
    description       text NOT NULL,
    payer_account_id  uuid REFERENCES accounts(id),
    payer_name        text NOT NULL,
    office_id         uuid REFERENCES offices(id),
    fiscal_year       integer NOT NULL CHECK (fiscal_year BETWEEN 1900 AND 2200),
    due_on            date NOT NULL,
    original_yen      bigint NOT NULL CHECK (original_yen > 0),
    assessed_yen      bigint NOT NULL CHECK (assessed_yen >= 0),
    paid_yen          bigint NOT NULL CHECK (paid_yen >= 0),
    closure           text CHECK (closure IN ('cancelled', 'written_off')),
    status            text NOT NULL CHECK (status IN ('open', 'partly_paid', 'paid', 'overpaid', 'cancelled', 'written_off')),
    source_kind       text,
    source_id         text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, category) REFERENCES revenue_categories (tenant_id, code)
);
CREATE INDEX receivables_tenant_status ON receivables (tenant_id, status, due_on);
CREATE INDEX receivables_payer ON receivables (tenant_id, payer_account_id);
-- One receivable per thing it is for (a reservation's fee is assessed once).
CREATE UNIQUE INDEX receivables_source ON receivables (tenant_id, source_kind, source_id)
    WHERE source_kind IS NOT NULL;

CREATE TABLE receivable_events (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    receivable_id  uuid NOT NULL REFERENCES receivables(id),
    at             timestamptz NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('issued', 'payment', 'refund', 'cancelled', 'written_off')),
    amount_yen     bigint NOT NULL,
    payment_id     uuid,
    refund_id      uuid,
    reason         text
);
CREATE INDEX receivable_events_receivable ON receivable_events (receivable_id, at);

CREATE TABLE payments (
    id                 uuid PRIMARY KEY,
    tenant_id          uuid NOT NULL REFERENCES tenants(id),
    receivable_id      uuid NOT NULL REFERENCES receivables(id),
    provider           text NOT NULL CHECK (provider IN ('stripe', 'sandbox', 'counter', 'konbini_agency')),
    method             text NOT NULL,
    channel            text NOT NULL,
    amount_yen         bigint NOT NULL CHECK (amount_yen > 0),
    currency           text NOT NULL DEFAULT 'JPY' CHECK (currency = 'JPY'),
    status             text NOT NULL CHECK (status IN ('created', 'requires_action', 'processing', 'succeeded', 'failed', 'expired', 'canceled')),
    idempotency_key    text NOT NULL UNIQUE,
    provider_ref       text,
    redirect_url       text,
    method_detail      text,
    slip_number        text,
    konbini            jsonb,
    pay_by             timestamptz,
    last_signal_at     timestamptz,
    -- When the recovery pass may ask the provider about this payment again (backs off).
    next_check_at      timestamptz,
    payer_account_id   uuid REFERENCES accounts(id),
    created_by_kind    text NOT NULL,
    created_by_id      uuid,
    office_id          uuid REFERENCES offices(id),
    client_key         text,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
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
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    payment_id   uuid NOT NULL REFERENCES payments(id),
    at           timestamptz NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    source       text NOT NULL,
    event_id     text
);
CREATE INDEX payment_transitions_payment ON payment_transitions (payment_id, at);

CREATE TABLE provider_events (
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    provider     text NOT NULL,
    event_id     text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type   text NOT NULL,
    created_at   timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    payment_id   uuid,
    outcome      text NOT NULL CHECK (outcome IN ('applied', 'duplicate_state', 'stale', 'unknown_payment', 'ignored', 'refund')),
    payload      jsonb NOT NULL,
    PRIMARY KEY (tenant_id, provider, event_id)
);
CREATE INDEX provider_events_outcome ON provider_events (tenant_id, outcome, received_at);

CREATE TABLE refunds (
    id                   uuid PRIMARY KEY,
    tenant_id            uuid NOT NULL REFERENCES tenants(id),
    payment_id           uuid NOT NULL REFERENCES payments(id),
    amount_yen           bigint NOT NULL CHECK (amount_yen > 0),
    reason               text NOT NULL,
    status               text NOT NULL CHECK (status IN ('requested', 'approved', 'rejected', 'processing', 'succeeded', 'failed')),
    requested_by_kind    text NOT NULL,
    requested_by         uuid NOT NULL,
    decided_by           uuid,
    decided_at           timestamptz,
    decision_note        text,
    idempotency_key      text NOT NULL UNIQUE,
    provider_refund_ref  text,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    -- Four eyes, in the database too: nobody decides their own refund.
    CHECK (decided_by IS NULL OR decided_by <> requested_by)
);
CREATE INDEX refunds_tenant_status ON refunds (tenant_id, status, created_at);
CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE ledger_entries (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    posted_at        timestamptz NOT NULL,
    accounting_date  date NOT NULL,
    kind             text NOT NULL,
    receivable_id    uuid REFERENCES receivables(id),
    payment_id       uuid REFERENCES payments(id),
    refund_id        uuid REFERENCES refunds(id)
);
CREATE INDEX ledger_entries_tenant_date ON ledger_entries (tenant_id, accounting_date);

CREATE TABLE ledger_lines (
    entry_id    uuid NOT NULL REFERENCES ledger_entries(id) DEFERRABLE INITIALLY DEFERRED,
    line_no     integer NOT NULL,
    tenant_id   uuid NOT NULL,
    account     text NOT NULL,
    amount_yen  bigint NOT NULL CHECK (amount_yen <> 0),
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_lines_account ON ledger_lines (tenant_id, account);

CREATE FUNCTION ledger_line_unsealed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id) THEN
        RAISE EXCEPTION 'ledger entry is sealed: lines cannot be added' USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_lines_sealed BEFORE INSERT ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_line_unsealed();

CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce((SELECT sum(amount_yen) FROM ledger_lines WHERE entry_id = NEW.id), 1) <> 0
       OR NOT EXISTS (SELECT 1 FROM ledger_lines WHERE entry_id = NEW.id AND amount_yen > 0)
       OR NOT EXISTS (SELECT 1 FROM ledger_lines WHERE entry_id = NEW.id AND amount_yen < 0)
       OR EXISTS (SELECT 1 FROM ledger_lines WHERE entry_id = NEW.id AND tenant_id <> NEW.tenant_id)
    THEN
        RAISE EXCEPTION 'ledger entry does not balance' USING ERRCODE = '23514';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_entries_balanced BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE FUNCTION payments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER ledger_lines_no_truncate BEFORE TRUNCATE ON ledger_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER payment_transitions_append_only BEFORE UPDATE OR DELETE ON payment_transitions
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER payment_transitions_no_truncate BEFORE TRUNCATE ON payment_transitions
    FOR EACH STATEMENT EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER receivable_events_append_only BEFORE UPDATE OR DELETE ON receivable_events
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER receivable_events_no_truncate BEFORE TRUNCATE ON receivable_events
    FOR EACH STATEMENT EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER provider_events_append_only BEFORE UPDATE OR DELETE ON provider_events
    FOR EACH ROW EXECUTE FUNCTION payments_append_only();
CREATE TRIGGER provider_events_no_truncate BEFORE TRUNCATE ON provider_events
    FOR EACH STATEMENT EXECUTE FUNCTION payments_append_only();

-- The built-in sandbox gateway's own records (what a provider would keep on its side).
CREATE TABLE sandbox_intents (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    idempotency_key  text NOT NULL,
    payment_id       uuid NOT NULL,
    amount_yen       bigint NOT NULL CHECK (amount_yen > 0),
    method           text NOT NULL,
    description      text NOT NULL,
    return_url       text NOT NULL,
    cancel_url       text NOT NULL,
    status           text NOT NULL CHECK (status IN ('open', 'requires_action', 'processing', 'succeeded', 'failed', 'expired', 'canceled')),
    pay_by           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);

CREATE TABLE sandbox_refunds (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants(id),
    idempotency_key  text NOT NULL,
    intent_id        uuid NOT NULL REFERENCES sandbox_intents(id),
    refund_id        uuid NOT NULL,
    amount_yen       bigint NOT NULL CHECK (amount_yen > 0),
    status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at       timestamptz NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
);
