-- migrate:up
-- The word index behind a bulk import (issue 16): BatchCreateProspects writes each record with its
-- duplicate keys and, instead of its prospect_terms rows, one row here in the same transaction. The
-- background indexer (server/indexer.c) takes rows in batches (FOR UPDATE SKIP LOCKED, so several
-- servers share the work), rebuilds each record's terms from its current columns and deletes the
-- row; a record that no longer exists only loses its row. Ids only, no personal data.
CREATE TABLE prospect_index_queue (
  tenant_id    VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id           BINARY(16) NOT NULL,                          -- prospects.id
  enqueue_time DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- migrate:down
DROP TABLE prospect_index_queue;
