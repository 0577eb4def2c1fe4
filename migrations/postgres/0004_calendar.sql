-- The municipal calendar of each tenant: the holidays it imported from the Cabinet Office list,
-- its year-end closure, and each office's own closing days (休館日). The computed national
-- holidays are not stored: `madoguchi-calendar` derives them, and an imported year replaces them.

-- An import is authoritative for every year it mentions: it replaces the tenant's rows of those
-- years in one transaction, so a year is either all imported or all computed.
CREATE TABLE calendar_holidays (
    tenant_id    uuid NOT NULL REFERENCES tenants(id),
    date         date NOT NULL,
    name         text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 40),
    imported_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, date)
);

-- No row: the default closure of 12/29 to 1/3. A row of NULLs: the city has no closure.
CREATE TABLE calendar_year_end (
    tenant_id    uuid PRIMARY KEY REFERENCES tenants(id),
    first_month  smallint CHECK (first_month BETWEEN 1 AND 12),
    first_day    smallint CHECK (first_day BETWEEN 1 AND 31),
    last_month   smallint CHECK (last_month BETWEEN 1 AND 12),
    last_day     smallint CHECK (last_day BETWEEN 1 AND 31),
    updated_at   timestamptz NOT NULL,
    CHECK ((first_month IS NULL) = (first_day IS NULL)
       AND (first_month IS NULL) = (last_month IS NULL)
       AND (first_month IS NULL) = (last_day IS NULL))
);

-- Whether an office opens on weekends and holidays (公民館, libraries); no row: it does not.
CREATE TABLE office_calendars (
    office_id                      uuid PRIMARY KEY REFERENCES offices(id),
    tenant_id                      uuid NOT NULL REFERENCES tenants(id),
    open_on_weekends_and_holidays  boolean NOT NULL,
    updated_at                     timestamptz NOT NULL
);

-- One closing rule of an office, in the shapes of `madoguchi_calendar::ClosingRule`: every
-- week on a weekday, the nth weekday of each month, one date, or a period (both ends included).
CREATE TABLE office_closing_rules (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    office_id   uuid NOT NULL REFERENCES offices(id),
    kind        text NOT NULL CHECK (kind IN ('weekly','monthly_weekday','date','period')),
    weekday     text CHECK (weekday IN ('monday','tuesday','wednesday','thursday','friday','saturday','sunday')),
    on_holiday  text CHECK (on_holiday IN ('stay_closed','close_next_weekday')),
    week        text CHECK (week IN ('first','second','third','fourth','fifth','last')),
    first_date  date,
    last_date   date,
    note        text CHECK (char_length(note) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL,
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
);
CREATE INDEX office_closing_rules_office ON office_closing_rules (tenant_id, office_id, created_at);
