/* The audit trail, table audit_events: who changed a tenant's apps or merged its records. Rows are
 * inserted inside the transaction of the change they record and never deleted; the only update
 * blanks the acting user and details that named an erased person.
 * Not thread-safe (one ps_db_t per worker). Does not log. */
#ifndef PS_STORE_AUDIT_H
#define PS_STORE_AUDIT_H

#include <stdint.h>

#include "core/arena.h"
#include "core/ids.h"
#include "core/status.h"
#include "store/db.h"
#include "store/prospects.h"

#define PS_AUDIT_TEXT_MAX 255     /* caller, acting_user, resource */
#define PS_AUDIT_DETAILS_MAX 1024 /* details */

typedef struct ps_audit_row {
  ps_id_t id;             /* UUIDv7 ({event} in names) */
  int64_t create_us;      /* µs since the epoch */
  char *action;           /* the method, e.g. "UpdateTenantApps" */
  char *caller;           /* verified identity of the caller ("" : plaintext server) */
  char *acting_user;      /* the user the caller said it acted for ("" : none) */
  char *resource;         /* the resource changed */
  char *details;          /* what changed, in words (no personal data) */
  int redacted;           /* acting_user and details were blanked by an erasure (read only) */
} ps_audit_row_t;

/* Inserts a row (a new id and the time now_us are set here into *row). Inside the transaction of
 * the change. 0, or -1 with st set. */
int ps_store_audit_insert(ps_db_t *db, const char *tenant, int64_t now_us, ps_audit_row_t *row,
                          ps_status_t *st);

/* Up to limit rows of the tenant, newest first, after (below) after_id when has_cursor. 0 with
 * ret_rows[0..*ret_n) (strings in a), or -1 with st set. */
int ps_store_audit_list(ps_db_t *db, ps_arena_t *a, const char *tenant, int has_cursor,
                        const ps_id_t *after_id, int limit, ps_audit_row_t *ret_rows, int *ret_n,
                        ps_status_t *st);

/* Up to limit rows of the tenant about resource (index audit_events_by_resource), oldest first;
 * lock PS_LOCK_UPDATE reads them FOR UPDATE (an erasure). 0 with ret_rows[0..*ret_n) (strings in
 * a), or -1 with st set. */
int ps_store_audit_by_resource(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *resource,
                               ps_lock_t lock, int limit, ps_audit_row_t *ret_rows, int *ret_n,
                               ps_status_t *st);

/* Blanks acting_user and details of row id and marks it redacted: the one change a row ever gets,
 * when the person it named is erased (ErasePersonData). 0, or -1 with st set. */
int ps_store_audit_redact(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st);

#endif
