-- The database users of ProspectService, applied as root by scripts/lib.sh (ps_db_users) and by
-- tests/lib/harness.py to their private MariaDB, for the databases matching @DATABASE@ (a name or
-- a LIKE pattern such as `ps\_%`). Run again on every start: it is idempotent, and it takes back
-- whatever an older setup granted.
--   @APP_USER@      the server: reads and writes rows, nothing else (no DDL, no GRANT, no FILE)
--   @MIGRATE_USER@  dbmate: changes the schema of those databases, grants nothing
-- A deployment does the same with its own names (README: "Database users").
CREATE USER IF NOT EXISTS '@APP_USER@'@'127.0.0.1' IDENTIFIED BY '@APP_PASSWORD@';
CREATE USER IF NOT EXISTS '@APP_USER@'@'localhost' IDENTIFIED BY '@APP_PASSWORD@';
CREATE USER IF NOT EXISTS '@MIGRATE_USER@'@'127.0.0.1' IDENTIFIED BY '@MIGRATE_PASSWORD@';
CREATE USER IF NOT EXISTS '@MIGRATE_USER@'@'localhost' IDENTIFIED BY '@MIGRATE_PASSWORD@';
REVOKE ALL PRIVILEGES, GRANT OPTION FROM '@APP_USER@'@'127.0.0.1', '@APP_USER@'@'localhost',
  '@MIGRATE_USER@'@'127.0.0.1', '@MIGRATE_USER@'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE ON `@DATABASE@`.* TO '@APP_USER@'@'127.0.0.1', '@APP_USER@'@'localhost';
GRANT ALL PRIVILEGES ON `@DATABASE@`.* TO '@MIGRATE_USER@'@'127.0.0.1', '@MIGRATE_USER@'@'localhost';
