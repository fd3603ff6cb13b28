/* A MySQL/MariaDB connection owned by one worker, with its prepared statements.
 * Not thread-safe: each worker thread owns one. The store does not log; it reports through
 * ps_status_t (MySQL errors mapped as DESIGN.md says). */
#ifndef PS_STORE_DB_H
#define PS_STORE_DB_H

#include <stdint.h>

#include "core/status.h"

/* Where and how to connect. Strings are borrowed for the lifetime of the ps_db_t. */
typedef struct ps_db_config {
  const char *host;        /* "127.0.0.1"; ignored when socket is set */
  unsigned port;           /* TCP port */
  const char *socket;      /* unix socket path, or NULL/"" for TCP */
  const char *user;
  const char *password;    /* never logged */
  const char *database;
  unsigned timeout_s;      /* connect/read/write timeout in seconds */
} ps_db_config_t;

typedef struct ps_db ps_db_t;

/* Creates a handle and tries to connect. A handle is returned even when the database is down
 * (it reconnects on the next use); NULL only when out of memory. */
ps_db_t *ps_db_new(const ps_db_config_t *cfg);

/* Closes the connection and frees the handle and its statements. Accepts NULL. */
void ps_db_free(ps_db_t *db);

/* Checks the connection (reconnecting when lost). 0 when the database answers, else -1 with st
 * set to UNAVAILABLE. */
int ps_db_ping(ps_db_t *db, ps_status_t *st);

/* The schema version this build needs (the newest migration's version). */
extern const char ps_db_required_schema[];

/* Checks that migration ps_db_required_schema has been applied. 0 when it has; -1 with st
 * FAILED_PRECONDITION (message names the version needed and the newest applied) when the schema is
 * behind, or UNAVAILABLE when the database cannot be reached. */
int ps_db_check_schema(ps_db_t *db, ps_status_t *st);

#endif
