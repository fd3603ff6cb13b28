-- migrate:up
-- Merges of any size (issue 13): the document links a merge moved are kept one row each instead of
-- a list inside the packed record, so that a merge is not capped by what one blob or one gRPC
-- message can hold, and GetMerge pages them. Like merges, rows are never updated or deleted. They
-- hold ids only (no personal data). Records written before this migration keep their list in the
-- packed record; the server pages that list the same way.
CREATE TABLE merge_moved_documents (
  tenant_id  VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  merge_id   BINARY(16) NOT NULL,                         -- merges.id
  source_id  BINARY(16) NOT NULL,                         -- the record the link was on
  link_id    BINARY(16) NOT NULL,                         -- document_links.id
  PRIMARY KEY (tenant_id, merge_id, source_id, link_id)   -- GetMerge's pages, in this order
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- migrate:down
DROP TABLE merge_moved_documents;
