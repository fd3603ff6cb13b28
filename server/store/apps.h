/* The apps (feature flags) of a tenant, table tenant_apps (S4, S8). The rules between the two apps
 * live in the service layer (service/apps.c); this file only reads and writes the row.
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_APPS_H
#define PS_STORE_APPS_H

#include <stdint.h>

#include "core/status.h"
#include "store/db.h"

/* One tenant's apps. A tenant without a row has both apps off and version 0. */
typedef struct ps_apps_row {
  int prospects;        /* the "Prospects" app is on */
  int quote_requests;   /* the "Quote requests" app is on */
  uint64_t version;     /* writes so far; 0 while never written (the etag derives from it) */
  int64_t update_us;    /* last write, µs since the epoch; 0 while never written */
} ps_apps_row_t;

/* Reads the tenant's apps (no lock). 0 with *ret set (both off when there is no row), or -1 with
 * st set (UNAVAILABLE/INTERNAL). */
int ps_store_apps_get(ps_db_t *db, const char *tenant, ps_apps_row_t *ret, ps_status_t *st);

/* Reads the apps of up to PS_STORE_APPS_GET_MANY_MAX distinct tenants with one statement (no
 * lock): ret[i] for tenants[i], both off and version 0 for a tenant without a row. 0, or -1 with st
 * set. */
#define PS_STORE_APPS_GET_MANY_MAX 16
int ps_store_apps_get_many(ps_db_t *db, ps_arena_t *a, const char *const *tenants, size_t n,
                           ps_apps_row_t *ret, ps_status_t *st);

/* Inside a transaction: makes sure the tenant has a row (version 0, both off), locks it FOR UPDATE
 * and reads it, so concurrent updates of one tenant run one after the other. 0 or -1 (st set). */
int ps_store_apps_lock(ps_db_t *db, const char *tenant, ps_apps_row_t *ret, ps_status_t *st);

/* Inside a transaction after ps_store_apps_lock: writes both flags with version old_version + 1 and
 * update time now_us. 0 with *ret the row as written; -1 with st ABORTED when the row is no longer
 * at old_version, or a database failure. */
int ps_store_apps_write(ps_db_t *db, const char *tenant, int prospects, int quote_requests,
                        uint64_t old_version, int64_t now_us, ps_apps_row_t *ret, ps_status_t *st);

#endif
