-- The collection agency's payment data (速報/確報/速報取消): each file imported, by its checksum
-- (a file sent again changes nothing), and each of its lines, once by its identity (kind,
-- barcode, date and time, chain, store), with what it did: the payment it made, the 速報 it
-- confirmed or cancelled, or the reconciliation exception it raised.

CREATE TABLE konbini_imports (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    agency       text NOT NULL CHECK (agency IN ('dsk')),
    file_name    text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    checksum     text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
    lines        bigint NOT NULL CHECK (lines >= 0),
    state        text NOT NULL CHECK (state IN ('applying', 'done')),
    applied      bigint NOT NULL DEFAULT 0 CHECK (applied >= 0),
    sokuho       bigint NOT NULL DEFAULT 0 CHECK (sokuho >= 0),
    kakuho       bigint NOT NULL DEFAULT 0 CHECK (kakuho >= 0),
    cancelled    bigint NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    exceptions   bigint NOT NULL DEFAULT 0 CHECK (exceptions >= 0),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    CONSTRAINT konbini_imports_checksum UNIQUE (tenant_id, checksum)
);
CREATE INDEX konbini_imports_tenant ON konbini_imports (tenant_id, started_at);

CREATE TABLE konbini_records (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants(id),
    import_id      uuid NOT NULL REFERENCES konbini_imports(id),
    line_no        bigint NOT NULL CHECK (line_no >= 2),
    identity       text NOT NULL,
    payment_key    text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('sokuho', 'kakuho', 'sokuho_cancel')),
    barcode        text NOT NULL CHECK (barcode ~ '^91[0-9]{42}$'),
    slip_id        uuid REFERENCES konbini_slips(id),
    receivable_id  uuid REFERENCES receivables(id),
    amount_yen     bigint NOT NULL CHECK (amount_yen > 0),
    paid_at        timestamptz NOT NULL,
    chain          text NOT NULL CHECK (chain ~ '^[0-9]{3}$'),
    store_code     text NOT NULL,
    transfer_on    date,
    payment_id     uuid REFERENCES payments(id),
    -- Money posted to suspense (a barcode we never issued): its ledger entry.
    entry_id       uuid REFERENCES ledger_entries(id),
    exception      text CHECK (exception IN ('unknown_barcode', 'amount_mismatch', 'duplicate_payment',
                                             'cancel_without_sokuho', 'kakuho_after_cancel')),
    confirmed_at   timestamptz,
    cancelled_at   timestamptz,
    CONSTRAINT konbini_records_identity UNIQUE (tenant_id, identity)
);
CREATE INDEX konbini_records_key ON konbini_records (tenant_id, payment_key);
CREATE INDEX konbini_records_slip ON konbini_records (slip_id) WHERE slip_id IS NOT NULL;
CREATE INDEX konbini_records_exceptions ON konbini_records (tenant_id, exception)
    WHERE exception IS NOT NULL;
