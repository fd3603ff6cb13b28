-- migrate:up
-- Issue 14: which version of the normal forms built each record's keys, and the progress of the
-- background jobs that rebuild rows of an older version (server/reindex.c).
--
-- prospects.norm_version: the PS_NORM_VERSION (server/core/normalize.h) that computed the row's
-- email_norm, vat_norm, phone_norm, name_key and its prospect_terms rows. The rows that exist when
-- this runs were written by version 1 (the default); every write of the server sets the version it
-- computes. An instant ADD COLUMN: metadata only, no copy of the table whatever its size. No index:
-- the reindex walks the primary key once, and an index would cost every write of every record.
ALTER TABLE prospects ADD COLUMN norm_version TINYINT UNSIGNED NOT NULL DEFAULT 1, ALGORITHM=INSTANT;

-- One row per background job (server/reindex.c names them, e.g. 'prospect_norms'). Not tenant data
-- (like schema_migrations): one set of jobs per database, each walking its table in primary-key
-- order (tenant_id, id), one tenant per batch. The cursor is where the next batch starts (after
-- the last row a committed batch covered, or at the next tenant's first row), written in the
-- batch's own transaction, so a job resumes after a restart where it stopped and never does a
-- finished batch again. A job row whose version is older than the one a server builds starts over;
-- deleting a job's row makes the next server run it again from the start.
CREATE TABLE reindex_progress (
  job           VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version       INT UNSIGNED NOT NULL,                       -- what the job builds (e.g. PS_NORM_VERSION)
  cursor_tenant VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '', -- the next batch: this
  cursor_id     BINARY(16) NOT NULL DEFAULT x'00000000000000000000000000000000',     -- tenant, after this id
  rows_total    BIGINT UNSIGNED NOT NULL DEFAULT 0,          -- rows of the table when the job started
  rows_done     BIGINT UNSIGNED NOT NULL DEFAULT 0,          -- rows up to the cursor
  rows_rebuilt  BIGINT UNSIGNED NOT NULL DEFAULT 0,          -- of those, the ones that were rewritten
  batches       BIGINT UNSIGNED NOT NULL DEFAULT 0,          -- batches committed
  worker        VARCHAR(255) NOT NULL DEFAULT '',            -- host and pid of the last server that worked on it
  start_time    DATETIME(6) NOT NULL,
  update_time   DATETIME(6) NOT NULL,                        -- the last batch
  finish_time   DATETIME(6) NULL,                            -- NULL while unfinished
  PRIMARY KEY (job)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- migrate:down
DROP TABLE reindex_progress;
ALTER TABLE prospects DROP COLUMN norm_version;
