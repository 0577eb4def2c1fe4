-- The collection agency's payment data (速報/確報/速報取消): each file imported, by its checksum
-- (a file sent again changes nothing), and each of its lines, once by its identity (kind,
-- barcode, date and time, chain, store), with what it did: the payment it made, the 速報 it
-- confirmed or cancelled, or the reconciliation exception it raised.

CREATE TABLE konbini_imports (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    agency       TEXT NOT NULL CHECK (agency IN ('dsk')),
    file_name    TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    checksum     TEXT NOT NULL CHECK (length(checksum) = 64 AND checksum NOT GLOB '*[^0-9a-f]*'),
    lines        INTEGER NOT NULL CHECK (lines >= 0),
    state        TEXT NOT NULL CHECK (state IN ('applying', 'done')),
    applied      INTEGER NOT NULL DEFAULT 0 CHECK (applied >= 0),
    sokuho       INTEGER NOT NULL DEFAULT 0 CHECK (sokuho >= 0),
    kakuho       INTEGER NOT NULL DEFAULT 0 CHECK (kakuho >= 0),
    cancelled    INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    exceptions   INTEGER NOT NULL DEFAULT 0 CHECK (exceptions >= 0),
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    CONSTRAINT konbini_imports_checksum UNIQUE (tenant_id, checksum)
) STRICT;
CREATE INDEX konbini_imports_tenant ON konbini_imports (tenant_id, started_at);

CREATE TABLE konbini_records (
    id             TEXT PRIMARY KEY NOT NULL,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    import_id      TEXT NOT NULL REFERENCES konbini_imports(id),
    line_no        INTEGER NOT NULL CHECK (line_no >= 2),
    identity       TEXT NOT NULL,
    payment_key    TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('sokuho', 'kakuho', 'sokuho_cancel')),
    barcode        TEXT NOT NULL CHECK (length(barcode) = 44 AND barcode GLOB '91*' AND barcode NOT GLOB '*[^0-9]*'),
    slip_id        TEXT REFERENCES konbini_slips(id),
    receivable_id  TEXT REFERENCES receivables(id),
    amount_yen     INTEGER NOT NULL CHECK (amount_yen > 0),
    paid_at        INTEGER NOT NULL,
    chain          TEXT NOT NULL CHECK (length(chain) = 3 AND chain NOT GLOB '*[^0-9]*'),
    store_code     TEXT NOT NULL,
    transfer_on    TEXT,
    payment_id     TEXT REFERENCES payments(id),
    entry_id       TEXT REFERENCES ledger_entries(id),
    exception      TEXT CHECK (exception IN ('unknown_barcode', 'amount_mismatch', 'duplicate_payment',
                                             'cancel_without_sokuho', 'kakuho_after_cancel')),
    confirmed_at   INTEGER,
    cancelled_at   INTEGER,
    CONSTRAINT konbini_records_identity UNIQUE (tenant_id, identity)
) STRICT;
CREATE INDEX konbini_records_key ON konbini_records (tenant_id, payment_key);
CREATE INDEX konbini_records_slip ON konbini_records (slip_id) WHERE slip_id IS NOT NULL;
CREATE INDEX konbini_records_exceptions ON konbini_records (tenant_id, exception)
    WHERE exception IS NOT NULL;
