-- migrate:up
-- Request fingerprints become SHA-256 (issue 10): the 64-bit FNV-1a kept so far is not
-- collision-resistant, so a different request could pass for a retry of another. Keys written
-- before this migration have no request_sha256 and are compared by the old fingerprint until they
-- expire (24 h); the server keeps writing both for one release, so that it can be rolled back.
ALTER TABLE idempotency_keys
  ADD COLUMN request_sha256 BINARY(32) NULL AFTER fingerprint; -- SHA-256 of the request without request_id

-- migrate:down
ALTER TABLE idempotency_keys DROP COLUMN request_sha256;
