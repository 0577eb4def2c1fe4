-- Convenience-store slips (コンビニ収納): each city's settings (the company code its barcodes
-- carry, its collection agency, and the counter its receivable references are drawn from), the
-- batches slips are issued in, and every slip ever issued. A reissue supersedes the slip before
-- it but keeps its row, so a payment made with the old slip is still recognised.

CREATE TABLE konbini_settings (
    tenant_id       TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    company_code    TEXT NOT NULL CHECK (length(company_code) = 6 AND company_code NOT GLOB '*[^0-9]*'),
    agency          TEXT NOT NULL CHECK (agency IN ('dsk')),
    -- The next receivable reference to hand out; issuing runs in BEGIN IMMEDIATE.
    next_reference  INTEGER NOT NULL CHECK (next_reference >= 1),
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE slip_batches (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    category    TEXT NOT NULL,
    cycle       TEXT NOT NULL CHECK (cycle GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
    slips       INTEGER NOT NULL CHECK (slips >= 1),
    total_yen   INTEGER NOT NULL CHECK (total_yen >= 1),
    created_at  INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, category) REFERENCES revenue_categories (tenant_id, code)
) STRICT;
CREATE INDEX slip_batches_tenant ON slip_batches (tenant_id, created_at);

CREATE TABLE konbini_slips (
    id              TEXT PRIMARY KEY NOT NULL,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    receivable_id   TEXT NOT NULL REFERENCES receivables(id),
    reference_no    INTEGER NOT NULL CHECK (reference_no >= 1),
    reissue         INTEGER NOT NULL CHECK (reissue BETWEEN 0 AND 9),
    barcode         TEXT NOT NULL CHECK (length(barcode) = 44 AND barcode GLOB '91*' AND barcode NOT GLOB '*[^0-9]*'),
    amount_yen      INTEGER NOT NULL CHECK (amount_yen BETWEEN 1 AND 299999),
    due_on          TEXT NOT NULL,
    batch_id        TEXT REFERENCES slip_batches(id),
    issued_at       INTEGER NOT NULL,
    superseded_at   INTEGER,
    CONSTRAINT konbini_slips_barcode UNIQUE (tenant_id, barcode),
    CONSTRAINT konbini_slips_reference UNIQUE (tenant_id, reference_no, reissue)
) STRICT;
CREATE UNIQUE INDEX konbini_slips_current ON konbini_slips (receivable_id)
    WHERE superseded_at IS NULL;
CREATE INDEX konbini_slips_batch ON konbini_slips (batch_id);
