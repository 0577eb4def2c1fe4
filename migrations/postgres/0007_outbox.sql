-- The transactional outbox and the fingerprint of a booking request.
--
-- A notice is a job written in the transaction of the change it reports. `dedupe_key` makes
-- writing it idempotent: a second job with the same key in the same tenant is not written
-- (INSERT ... ON CONFLICT DO NOTHING), so a handler that fans out and then runs again does not
-- double its deliveries. Jobs without a key (mail, older jobs) are not constrained.
ALTER TABLE jobs ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX jobs_dedupe ON jobs (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;

-- SHA-256 (hex) of what a booking request asked for. A request that reuses the idempotency key
-- with a different body is refused (`idempotency_key_reused`) instead of replayed. NULL for
-- bookings made before this column existed and for waiting-list promotions.
ALTER TABLE reservations ADD COLUMN request_fingerprint text;
