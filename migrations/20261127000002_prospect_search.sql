-- migrate:up
-- Version 20261127000002: the word index of the overview's text query (S1, S11).
--
-- One row per (record, term): a term is a word of the record's name, company name, e-mail, VAT
-- number or city in normal form (server/store/search.h), or one of that word's first 1-3
-- characters. A query word of 1-3 characters is an exact term (one ordered index range); a longer
-- one is a range of whole words starting with it. state and display_name are copies of the record's,
-- so that every order and filter of the overview reads one index in order. The store rewrites a
-- record's rows in the transaction of every write to it; the list query checks the record itself
-- too, so a stale row can hide a record but never show a wrong one.
CREATE TABLE prospect_terms (
  tenant_id    VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  term         VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  state        TINYINT UNSIGNED NOT NULL,                 -- prospects.state
  id           BINARY(16) NOT NULL,                       -- prospects.id
  display_name VARCHAR(255) NOT NULL,                     -- prospects.display_name (same collation)
  PRIMARY KEY (tenant_id, term, state, id),               -- newest first
  KEY prospect_terms_by_name (tenant_id, term, state, display_name, id), -- by name
  KEY prospect_terms_by_prospect (tenant_id, id, term)    -- a record's rows; further query words
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- migrate:down
DROP TABLE prospect_terms;
