-- The office whose no-show imposed a suspension: its staff (or an administrator) may lift it.
-- NULL for suspensions imposed before this was recorded: only an administrator lifts those.
ALTER TABLE booking_suspensions ADD COLUMN office_id TEXT REFERENCES offices(id);
