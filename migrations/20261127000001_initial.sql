-- migrate:up
-- ProspectService schema, version 20261127000001: every table of SPEC.md.
--
-- Conventions (DESIGN.md, Data):
--   * every PRIMARY KEY starts with tenant_id, every query filters by it (isolation and shard key;
--     no foreign keys, no cross-tenant joins);
--   * ids are UUIDv7 stored as BINARY(16): time-ordered, so ORDER BY id is creation order;
--   * times are DATETIME(6) in UTC (the server session runs with time_zone '+00:00');
--   * `version` counts writes of a row; the API's etag is derived from it;
--   * packed protobuf BLOBs hold data that is written once and only read back whole.

CREATE TABLE tenant_apps (
  tenant_id              VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  prospects_enabled      TINYINT(1) NOT NULL DEFAULT 0,  -- "Prospects" app (S4)
  quote_requests_enabled TINYINT(1) NOT NULL DEFAULT 0,  -- "Quote requests" app; on implies prospects on (S8)
  version                BIGINT UNSIGNED NOT NULL DEFAULT 0, -- 0: never written (both apps off)
  update_time            DATETIME(6) NULL,                -- NULL while never written
  PRIMARY KEY (tenant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE prospects (
  tenant_id          VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id                 BINARY(16) NOT NULL,
  kind               TINYINT UNSIGNED NOT NULL,           -- PartyKind: 1 PERSON, 2 COMPANY
  state              TINYINT UNSIGNED NOT NULL DEFAULT 1, -- ProspectState: 1 PROSPECT, 2 CUSTOMER
  display_name       VARCHAR(255) NOT NULL,               -- company name, or "first last"
  first_name         VARCHAR(100) NOT NULL DEFAULT '',
  last_name          VARCHAR(100) NOT NULL DEFAULT '',
  company_name       VARCHAR(200) NOT NULL DEFAULT '',
  vat_number         VARCHAR(32)  NOT NULL DEFAULT '',
  email              VARCHAR(254) NOT NULL DEFAULT '',
  phone              VARCHAR(32)  NOT NULL DEFAULT '',
  website            VARCHAR(255) NOT NULL DEFAULT '',
  street             VARCHAR(200) NOT NULL DEFAULT '',
  postal_code        VARCHAR(20)  NOT NULL DEFAULT '',
  city               VARCHAR(100) NOT NULL DEFAULT '',
  country_code       CHAR(2) CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  language           VARCHAR(35) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT '',
  notes              TEXT NOT NULL,                       -- up to 10000 characters
  -- normal forms for the duplicate check (core/normalize.h); '' when there is nothing to compare
  email_norm         VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  vat_norm           VARCHAR(40)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  phone_norm         VARCHAR(32)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  name_key           VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  version            BIGINT UNSIGNED NOT NULL DEFAULT 1,
  create_time        DATETIME(6) NOT NULL,
  update_time        DATETIME(6) NOT NULL,
  convert_time       DATETIME(6) NULL,                    -- set when it became a CUSTOMER (S3)
  converting_invoice VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, -- invoice document id
  PRIMARY KEY (tenant_id, id),
  KEY prospects_overview_newest (tenant_id, state, id),                 -- S1, newest first
  KEY prospects_overview_name (tenant_id, state, display_name, id),     -- S1, by name
  KEY prospects_dup_email (tenant_id, email_norm),
  KEY prospects_dup_vat (tenant_id, vat_norm),
  KEY prospects_dup_phone (tenant_id, phone_norm),
  KEY prospects_dup_name (tenant_id, name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A prospect merged away (S10, S12): the row left in place of the deleted record, so that reading
-- its id says where it went. Ids are never reused: a tombstone is never deleted.
CREATE TABLE prospect_tombstones (
  tenant_id   VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id          BINARY(16) NOT NULL,                        -- the merged-away prospect
  merged_into BINARY(16) NOT NULL,                        -- the merge's target (may itself be merged later)
  merge_id    BINARY(16) NOT NULL,                        -- merges.id
  merge_time  DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  KEY tombstones_by_target (tenant_id, merged_into)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Contact persons of a COMPANY prospect (S6).
CREATE TABLE contact_persons (
  tenant_id   VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id          BINARY(16) NOT NULL,
  prospect_id BINARY(16) NOT NULL,                        -- the company it belongs to
  first_name  VARCHAR(100) NOT NULL DEFAULT '',
  last_name   VARCHAR(100) NOT NULL DEFAULT '',
  email       VARCHAR(254) NOT NULL DEFAULT '',
  phone       VARCHAR(32)  NOT NULL DEFAULT '',
  role        VARCHAR(100) NOT NULL DEFAULT '',
  version     BIGINT UNSIGNED NOT NULL DEFAULT 1,
  create_time DATETIME(6) NOT NULL,
  update_time DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  KEY contact_persons_by_prospect (tenant_id, prospect_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Links between a prospect's record and documents other services own (S5, S13).
CREATE TABLE document_links (
  tenant_id      VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id             BINARY(16) NOT NULL,                     -- the link id ({document} in names)
  prospect_id    BINARY(16) NOT NULL,                     -- the record it is on (a merge moves it)
  type           TINYINT UNSIGNED NOT NULL,               -- DocumentType
  document_id    VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- the owner's id
  number         VARCHAR(64)  NOT NULL DEFAULT '',
  title          VARCHAR(200) NOT NULL DEFAULT '',
  document_time  DATETIME(6) NOT NULL,                    -- the document's date (link time when not given)
  party_snapshot BLOB NOT NULL,                           -- packed prospects.v1.PartySnapshot, frozen (S13)
  link_time      DATETIME(6) NOT NULL,
  PRIMARY KEY (tenant_id, id),
  UNIQUE KEY document_links_document (tenant_id, type, document_id), -- one record at a time
  KEY document_links_by_prospect (tenant_id, prospect_id, document_time, id),          -- S5, newest first
  KEY document_links_by_prospect_type (tenant_id, prospect_id, type, document_time, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The permanent record of each merge (S10, S12). Never updated or deleted.
CREATE TABLE merges (
  tenant_id   VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  id          BINARY(16) NOT NULL,
  target_id   BINARY(16) NOT NULL,                        -- the surviving record
  create_time DATETIME(6) NOT NULL,
  caller      VARCHAR(128) NOT NULL DEFAULT '',           -- the calling service
  acting_user VARCHAR(255) NOT NULL DEFAULT '',           -- the user who asked, when given
  record      MEDIUMBLOB NOT NULL,                        -- packed prospects.v1.Merge (sources' snapshots)
  PRIMARY KEY (tenant_id, id),
  KEY merges_by_target (tenant_id, target_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Request ids of creating and moving calls (SPEC: Idempotency). The key is inserted in the same
-- transaction as the write it guards, so it exists exactly when the write committed.
CREATE TABLE idempotency_keys (
  tenant_id   VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_id  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  method      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, -- e.g. "CreateProspect"
  fingerprint BIGINT UNSIGNED NOT NULL,                   -- hash of the request without request_id
  response    MEDIUMBLOB NULL,                            -- packed response message of the first call
  create_time DATETIME(6) NOT NULL,
  expire_time DATETIME(6) NOT NULL,                       -- after this the id may be used again
  PRIMARY KEY (tenant_id, request_id),
  KEY idempotency_keys_expiry (expire_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- migrate:down
DROP TABLE idempotency_keys;
DROP TABLE merges;
DROP TABLE document_links;
DROP TABLE contact_persons;
DROP TABLE prospect_tombstones;
DROP TABLE prospects;
DROP TABLE tenant_apps;
