-- migrate:up
-- Merges of any size (issue 13): a merge rewrites every moved link in each index that holds
-- prospect_id. Two indexes led with (tenant_id, prospect_id): one for all types and one per type.
-- The per-type index serves both lists: a list of one type reads its range, and a list of all
-- types reads the newest entries of each type's range and merges them (server/store/documents.c).
-- Dropping the all-types index cuts the index writes of a merge by a third.
ALTER TABLE document_links DROP INDEX document_links_by_prospect;

-- migrate:down
ALTER TABLE document_links ADD INDEX document_links_by_prospect (tenant_id, prospect_id, document_time, id);
