-- Convenience-store slips (コンビニ収納): each city's settings (the company code its barcodes
-- carry, its collection agency, and the counter its receivable references are drawn from), the
-- batches slips are issued in, and every slip ever issued. A reissue supersedes the slip before
-- it but keeps its row, so a payment made with the old slip is still recognised.

CREATE TABLE konbini_settings (
    tenant_id       uuid PRIMARY KEY REFERENCES tenants(id),
    company_code    text NOT NULL CHECK (company_code ~ '^[0-9]{6}$'),
    agency          text NOT NULL CHECK (agency IN ('dsk')),
    -- The next receivable reference (the barcode's 21-digit free field) to hand out. Issuing
    -- takes this row's lock, so two batches never draw the same numbers.
    next_reference  bigint NOT NULL CHECK (next_reference >= 1),
    updated_at      timestamptz NOT NULL
);

CREATE TABLE slip_batches (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    category    text NOT NULL,
    cycle       text NOT NULL CHECK (cycle ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    slips       integer NOT NULL CHECK (slips >= 1),
    total_yen   bigint NOT NULL CHECK (total_yen >= 1),
    created_at  timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, category) REFERENCES revenue_categories (tenant_id, code)
);
CREATE INDEX slip_batches_tenant ON slip_batches (tenant_id, created_at);

CREATE TABLE konbini_slips (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants(id),
    receivable_id   uuid NOT NULL REFERENCES receivables(id),
    reference_no    bigint NOT NULL CHECK (reference_no >= 1),
    reissue         integer NOT NULL CHECK (reissue BETWEEN 0 AND 9),
    barcode         text NOT NULL CHECK (barcode ~ '^91[0-9]{42}$'),
    amount_yen      bigint NOT NULL CHECK (amount_yen BETWEEN 1 AND 299999),
    due_on          date NOT NULL,
    batch_id        uuid REFERENCES slip_batches(id),
    issued_at       timestamptz NOT NULL,
    superseded_at   timestamptz,
    CONSTRAINT konbini_slips_barcode UNIQUE (tenant_id, barcode),
    CONSTRAINT konbini_slips_reference UNIQUE (tenant_id, reference_no, reissue)
);
-- One slip in force per receivable: a reissue supersedes the one before in the same transaction.
CREATE UNIQUE INDEX konbini_slips_current ON konbini_slips (receivable_id)
    WHERE superseded_at IS NULL;
CREATE INDEX konbini_slips_batch ON konbini_slips (batch_id);
