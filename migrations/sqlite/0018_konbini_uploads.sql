-- A payment-data file finance uploaded on the staff page, kept between its preview and the
-- click that applies it (and afterwards, as what was applied): in the database, not on one
-- node's disk, so any node can apply it. Its lines become `konbini_records` through the same
-- import as `madoguchi slips import`.

CREATE TABLE konbini_uploads (
    id           TEXT PRIMARY KEY NOT NULL,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    file_name    TEXT NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content      BLOB NOT NULL CHECK (length(content) BETWEEN 1 AND 33554432),
    checksum     TEXT NOT NULL CHECK (length(checksum) = 64 AND checksum NOT GLOB '*[^0-9a-f]*'),
    lines        INTEGER NOT NULL CHECK (lines >= 0),
    uploaded_by  TEXT REFERENCES accounts(id),
    uploaded_at  INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('previewed', 'applying', 'applied', 'failed')),
    -- When it was last claimed for applying: a claim older than the use case's limit (a node
    -- that stopped mid-import) may be taken over.
    claimed_at   INTEGER,
    import_id    TEXT REFERENCES konbini_imports(id),
    problem      TEXT CHECK (problem IS NULL OR length(problem) BETWEEN 1 AND 60),
    CHECK ((state = 'failed') = (problem IS NOT NULL))
) STRICT;
CREATE INDEX konbini_uploads_tenant ON konbini_uploads (tenant_id, uploaded_at);
