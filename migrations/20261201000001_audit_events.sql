-- migrate:up
-- The audit trail (issue 10): one row per change of a tenant's apps and per merge, written in the
-- same transaction as the change, naming the caller by the identity of its verified client
-- certificate and the acting user it claimed. Rows are only ever inserted. No personal data: the
-- details name resources and flags, never a person's name, e-mail, phone or notes.
CREATE TABLE audit_events (
  tenant_id   VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id          BINARY(16) NOT NULL,                        -- UUIDv7: ORDER BY id is time order
  create_time DATETIME(6) NOT NULL,
  action      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, -- the method, e.g. "MergeProspects"
  caller      VARCHAR(255) NOT NULL DEFAULT '',           -- verified identity ('' : plaintext server)
  acting_user VARCHAR(255) NOT NULL DEFAULT '',           -- claimed by the authenticated caller
  resource    VARCHAR(255) NOT NULL,                      -- what changed: tenants/{t}/apps, tenants/{t}/merges/{m}
  details     VARCHAR(1024) NOT NULL DEFAULT '',          -- how, in words
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A certificate identity (a SPIFFE ID or DNS name) can be longer than the 128 characters kept so far.
ALTER TABLE merges MODIFY caller VARCHAR(255) NOT NULL DEFAULT '';

-- migrate:down
ALTER TABLE merges MODIFY caller VARCHAR(128) NOT NULL DEFAULT '';
DROP TABLE audit_events;
