-- The reservation number residents and callers read aloud (予約番号): eight characters of
-- Crockford's base 32 (no I, L, O, U), unique per city, stored without the hyphen
-- (madoguchi_domain::ReservationRef). A booking draws one at random in its statement and
-- draws again should it be taken (the unique index answers).

CREATE OR REPLACE FUNCTION pg_temp.random_reservation_reference() RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 1 + floor(random() * 32)::int, 1), '')
    FROM generate_series(1, 8)
$$;

ALTER TABLE reservations ADD COLUMN reference text;
UPDATE reservations SET reference = pg_temp.random_reservation_reference();

-- Two rows of one city that drew the same number: the later ones draw again until none do.
DO $$
BEGIN
    LOOP
        UPDATE reservations SET reference = pg_temp.random_reservation_reference()
        WHERE EXISTS (SELECT 1 FROM reservations r WHERE r.tenant_id = reservations.tenant_id
                      AND r.reference = reservations.reference AND r.id < reservations.id);
        EXIT WHEN NOT FOUND;
    END LOOP;
END
$$;

ALTER TABLE reservations ALTER COLUMN reference SET NOT NULL;
ALTER TABLE reservations ADD CONSTRAINT reservations_reference_shape
    CHECK (reference ~ '^[0-9A-HJKMNP-TV-Z]{8}$');
CREATE UNIQUE INDEX reservations_reference ON reservations (tenant_id, reference);
DROP FUNCTION pg_temp.random_reservation_reference();
