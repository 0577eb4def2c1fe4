-- Where the provider sends the payer back, as first asked for: a retry of the first call to
-- the provider (after a lost answer or a crash) sends the very same request with the same
-- idempotency key, so the provider replays it instead of refusing it.
ALTER TABLE payments ADD COLUMN return_url text;
ALTER TABLE payments ADD COLUMN cancel_url text;
