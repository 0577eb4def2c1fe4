-- The municipal calendar of each tenant: the holidays it imported from the Cabinet Office list,
-- its year-end closure, and each office's own closing days (休館日). The computed national
-- holidays are not stored: `madoguchi-calendar` derives them, and an imported year replaces them.
-- Dates are calendar dates, not instants: TEXT `YYYY-MM-DD`, which sorts in calendar order.

-- An import is authoritative for every year it mentions: it replaces the tenant's rows of those
-- years in one transaction, so a year is either all imported or all computed.
CREATE TABLE calendar_holidays (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    date         TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    imported_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, date)
) STRICT;

-- No row: the default closure of 12/29 to 1/3. A row of NULLs: the city has no closure.
CREATE TABLE calendar_year_end (
    tenant_id    TEXT PRIMARY KEY NOT NULL REFERENCES tenants(id),
    first_month  INTEGER CHECK (first_month BETWEEN 1 AND 12),
    first_day    INTEGER CHECK (first_day BETWEEN 1 AND 31),
    last_month   INTEGER CHECK (last_month BETWEEN 1 AND 12),
    last_day     INTEGER CHECK (last_day BETWEEN 1 AND 31),
    updated_at   INTEGER NOT NULL,
    CHECK ((first_month IS NULL) = (first_day IS NULL)
       AND (first_month IS NULL) = (last_month IS NULL)
       AND (first_month IS NULL) = (last_day IS NULL))
) STRICT;

-- Whether an office opens on weekends and holidays (公民館, libraries); no row: it does not.
CREATE TABLE office_calendars (
    office_id                      TEXT PRIMARY KEY NOT NULL REFERENCES offices(id),
    tenant_id                      TEXT NOT NULL REFERENCES tenants(id),
    open_on_weekends_and_holidays  INTEGER NOT NULL CHECK (open_on_weekends_and_holidays IN (0,1)),
    updated_at                     INTEGER NOT NULL
) STRICT;

-- One closing rule of an office, in the shapes of `madoguchi_calendar::ClosingRule`: every
-- week on a weekday, the nth weekday of each month, one date, or a period (both ends included).
CREATE TABLE office_closing_rules (
    id          TEXT PRIMARY KEY NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    office_id   TEXT NOT NULL REFERENCES offices(id),
    kind        TEXT NOT NULL CHECK (kind IN ('weekly','monthly_weekday','date','period')),
    weekday     TEXT CHECK (weekday IN ('monday','tuesday','wednesday','thursday','friday','saturday','sunday')),
    on_holiday  TEXT CHECK (on_holiday IN ('stay_closed','close_next_weekday')),
    week        TEXT CHECK (week IN ('first','second','third','fourth','fifth','last')),
    first_date  TEXT CHECK (first_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    last_date   TEXT CHECK (last_date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    note        TEXT CHECK (length(note) BETWEEN 1 AND 100),
    created_at  INTEGER NOT NULL,
    -- Each kind has exactly its own fields.
    CHECK (CASE kind
        WHEN 'weekly' THEN weekday IS NOT NULL AND on_holiday IS NOT NULL AND week IS NULL
            AND first_date IS NULL AND last_date IS NULL AND note IS NULL
        WHEN 'monthly_weekday' THEN weekday IS NOT NULL AND week IS NOT NULL AND on_holiday IS NULL
            AND first_date IS NULL AND last_date IS NULL AND note IS NULL
        WHEN 'date' THEN first_date IS NOT NULL AND last_date IS NULL
            AND weekday IS NULL AND on_holiday IS NULL AND week IS NULL
        WHEN 'period' THEN first_date IS NOT NULL AND last_date IS NOT NULL AND first_date <= last_date
            AND weekday IS NULL AND on_holiday IS NULL AND week IS NULL
    END)
) STRICT;
CREATE INDEX office_closing_rules_office ON office_closing_rules (tenant_id, office_id, created_at);
