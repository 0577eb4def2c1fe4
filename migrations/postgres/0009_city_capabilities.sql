-- Which capabilities a city has switched on or off (reservations, facilities, remote_counter,
-- payments). A capability without a row has its default: reservations on, the others off.
CREATE TABLE city_capabilities (
    tenant_id   uuid NOT NULL REFERENCES tenants(id),
    capability  text NOT NULL,
    enabled     boolean NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, capability)
);
