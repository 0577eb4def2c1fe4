-- Which capabilities a city has switched on or off (reservations, facilities, remote_counter,
-- payments). A capability without a row has its default: reservations on, the others off.
CREATE TABLE city_capabilities (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    capability  TEXT NOT NULL,
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, capability)
);
