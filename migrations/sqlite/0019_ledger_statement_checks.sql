-- Kept in step with PostgreSQL's 0019, which moves the ledger's two insert checks from row
-- triggers to statement triggers (PL/pgSQL ran once per row there). SQLite has only row
-- triggers, and its 0010 triggers run inside the statement's own program without a procedural
-- language, so nothing changes here; this file keeps the two backends' versions equal.
SELECT 1;
