/* audit_events: insert in the change's transaction; newest-first keyset pages by the primary key. */
#include "store/audit.h"

#include <string.h>

#define AUDIT_COLUMNS "id, create_time, action, caller, acting_user, resource, details"
static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO audit_events (tenant_id, " AUDIT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
static ps_sql_t Q_LIST = PS_SQL(
    "SELECT " AUDIT_COLUMNS ", redacted FROM audit_events WHERE tenant_id = ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_LIST_AFTER = PS_SQL(
    "SELECT " AUDIT_COLUMNS ", redacted FROM audit_events WHERE tenant_id = ? AND id < ?"
    " ORDER BY id DESC LIMIT ?");
/* The rows about one resource: index audit_events_by_resource. */
static ps_sql_t Q_BY_RESOURCE = PS_SQL(
    "SELECT " AUDIT_COLUMNS ", redacted FROM audit_events WHERE tenant_id = ? AND resource = ?"
    " ORDER BY id LIMIT ?");
static ps_sql_t Q_BY_RESOURCE_UPDATE = PS_SQL(
    "SELECT " AUDIT_COLUMNS ", redacted FROM audit_events WHERE tenant_id = ? AND resource = ?"
    " ORDER BY id LIMIT ? FOR UPDATE");
static ps_sql_t Q_REDACT = PS_SQL(
    "UPDATE audit_events SET acting_user = '', details = '', redacted = 1"
    " WHERE tenant_id = ? AND id = ?");

/* s cut to at most max bytes, never inside a UTF-8 sequence. */
static void param_text(ps_params_t *p, const char *s, size_t max) {
  if (!s) s = "";
  size_t n = strlen(s);
  if (n > max) {
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  }
  ps_param_strn(p, s, n);
}

/* Reads up to limit rows of s (AUDIT_COLUMNS, redacted) into ret_rows (strings in a). */
static int fetch_rows(ps_db_t *db, MYSQL_STMT *s, ps_arena_t *a, int limit, ps_audit_row_t *ret_rows,
                      int *ret_n, ps_status_t *st) {
  int n = 0;
  for (;;) {
    ps_audit_row_t e;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &e.id);
    ps_col_time(&r, &e.create_us);
    ps_col_str(&r, &e.action);
    ps_col_str(&r, &e.caller);
    ps_col_str(&r, &e.acting_user);
    ps_col_str(&r, &e.resource);
    ps_col_str(&r, &e.details);
    ps_col_int(&r, &e.redacted);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = e;
  }
  *ret_n = n;
  return 0;
}

int ps_store_audit_insert(ps_db_t *db, const char *tenant, int64_t now_us, ps_audit_row_t *row,
                          ps_status_t *st) {
  if (ps_id_new(&row->id) != 0) return ps_fail(st, PS_INTERNAL, "", "Could not make an audit id.");
  row->create_us = now_us;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &row->id);
  ps_param_time(&p, now_us);
  param_text(&p, row->action, 64);
  param_text(&p, row->caller, PS_AUDIT_TEXT_MAX);
  param_text(&p, row->acting_user, PS_AUDIT_TEXT_MAX);
  param_text(&p, row->resource, PS_AUDIT_TEXT_MAX);
  param_text(&p, row->details, PS_AUDIT_DETAILS_MAX);
  return ps_db_exec(db, &Q_INSERT, &p, st) ? 0 : -1;
}

int ps_store_audit_list(ps_db_t *db, ps_arena_t *a, const char *tenant, int has_cursor,
                        const ps_id_t *after_id, int limit, ps_audit_row_t *ret_rows, int *ret_n,
                        ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  if (has_cursor) ps_param_id(&p, after_id);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, has_cursor ? &Q_LIST_AFTER : &Q_LIST, &p, st);
  if (!s) return -1;
  return fetch_rows(db, s, a, limit, ret_rows, ret_n, st);
}

int ps_store_audit_by_resource(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *resource,
                               ps_lock_t lock, int limit, ps_audit_row_t *ret_rows, int *ret_n,
                               ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, resource);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s =
      ps_db_exec(db, lock == PS_LOCK_UPDATE ? &Q_BY_RESOURCE_UPDATE : &Q_BY_RESOURCE, &p, st);
  if (!s) return -1;
  return fetch_rows(db, s, a, limit, ret_rows, ret_n, st);
}

int ps_store_audit_redact(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_REDACT, &p, st) ? 0 : -1;
}
