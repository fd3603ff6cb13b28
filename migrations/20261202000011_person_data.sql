-- migrate:up
-- A person's data (issue 16): ErasePersonData removes a prospect or contact person and redacts the
-- copies kept of it. erased_records remembers what was erased (ids only, no personal data), so that
-- GetProspect answers PROSPECT_ERASED instead of not knowing the id, the document links left on an
-- erased record stay listable, and a second erasure knows it has nothing left to do.
CREATE TABLE erased_records (
  tenant_id  VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id         BINARY(16) NOT NULL,                          -- prospects.id or contact_persons.id
  kind       TINYINT UNSIGNED NOT NULL,                    -- 1 prospect, 2 contact person
  erase_time DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An audit row whose acting user or details named an erased person: both blanked, the row kept.
-- The index finds the rows about one resource (a record, a contact person, a merge).
ALTER TABLE audit_events
  ADD COLUMN redacted TINYINT(1) NOT NULL DEFAULT 0,
  ADD INDEX audit_events_by_resource (tenant_id, resource);

-- migrate:down
ALTER TABLE audit_events DROP INDEX audit_events_by_resource, DROP COLUMN redacted;
DROP TABLE erased_records;
