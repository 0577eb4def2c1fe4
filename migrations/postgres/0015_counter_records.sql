-- The specialist's record of a remote-counter consultation: its result and free-text notes
-- (personal data; never logged), who wrote it and when. Written during the call or after it.

ALTER TABLE counter_tickets
    ADD COLUMN result text CHECK (result IN ('resolved', 'follow_up', 'referred', 'other')),
    ADD COLUMN notes text CHECK (char_length(notes) <= 2000),
    ADD COLUMN recorded_by uuid REFERENCES accounts(id),
    ADD COLUMN recorded_at timestamptz,
    ADD CONSTRAINT counter_tickets_record
        CHECK ((result IS NULL) = (recorded_by IS NULL) AND (result IS NULL) = (recorded_at IS NULL)
               AND (notes IS NULL OR result IS NOT NULL));
