/* tenant_apps: one row per tenant that ever changed its apps. */
#include "store/apps.h"

#include <string.h>

static ps_sql_t Q_GET = PS_SQL(
    "SELECT prospects_enabled, quote_requests_enabled, version, update_time"
    " FROM tenant_apps WHERE tenant_id = ?");
/* ps_store_apps_get_many: one statement per size class (2, 4, 8, 16 tenants), a smaller batch
 * repeating its last tenant, so that a connection prepares four statements and no more. */
#define T1 "?"
#define T2 T1 "," T1
#define T4 T2 "," T2
#define T8 T4 "," T4
#define T16 T8 "," T8
#define GET_MANY(list)                                                                         \
  PS_SQL("SELECT tenant_id, prospects_enabled, quote_requests_enabled, version, update_time" \
         " FROM tenant_apps WHERE tenant_id IN (" list ")")
static ps_sql_t Q_GET_MANY[] = {GET_MANY(T2), GET_MANY(T4), GET_MANY(T8), GET_MANY(T16)};
static ps_sql_t Q_ENSURE = PS_SQL(
    "INSERT INTO tenant_apps (tenant_id) VALUES (?)"
    " ON DUPLICATE KEY UPDATE tenant_id = tenant_id");
static ps_sql_t Q_LOCK = PS_SQL(
    "SELECT prospects_enabled, quote_requests_enabled, version, update_time"
    " FROM tenant_apps WHERE tenant_id = ? FOR UPDATE");
static ps_sql_t Q_WRITE = PS_SQL(
    "UPDATE tenant_apps SET prospects_enabled = ?, quote_requests_enabled = ?,"
    " version = version + 1, update_time = ? WHERE tenant_id = ? AND version = ?");

static int read_row(ps_db_t *db, ps_sql_t *q, const char *tenant, ps_apps_row_t *ret,
                    ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  MYSQL_STMT *s = ps_db_exec(db, q, &p, st);
  if (!s) return -1;
  ps_apps_row_t row;
  memset(&row, 0, sizeof row);
  ps_row_t r;
  ps_row_init(&r);
  ps_col_int(&r, &row.prospects);
  ps_col_int(&r, &row.quote_requests);
  ps_col_u64(&r, &row.version);
  ps_col_time(&r, &row.update_us);
  /* no text or blob columns: the arena is never touched */
  int rc = ps_db_fetch(db, s, &r, NULL, st);
  if (rc < 0) return -1;
  if (rc == 0) memset(&row, 0, sizeof row);
  row.prospects = row.prospects != 0;
  row.quote_requests = row.quote_requests != 0;
  *ret = row;
  return 0;
}

int ps_store_apps_get(ps_db_t *db, const char *tenant, ps_apps_row_t *ret, ps_status_t *st) {
  return read_row(db, &Q_GET, tenant, ret, st);
}

int ps_store_apps_get_many(ps_db_t *db, ps_arena_t *a, const char *const *tenants, size_t n,
                           ps_apps_row_t *ret, ps_status_t *st) {
  if (n == 0) return 0;
  if (n > PS_STORE_APPS_GET_MANY_MAX)
    return ps_fail(st, PS_INTERNAL, "", "Too many tenants for one read (%zu).", n);
  size_t size;
  int cls = ps_db_size_class(n, &size);
  ps_params_t p;
  ps_params_init(&p);
  for (size_t i = 0; i < size; i++) ps_param_str(&p, tenants[i < n ? i : n - 1]);
  memset(ret, 0, sizeof *ret * n);
  MYSQL_STMT *s = ps_db_exec(db, &Q_GET_MANY[cls], &p, st);
  if (!s) return -1;
  char *tenant;
  ps_apps_row_t row;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &tenant);
  ps_col_int(&r, &row.prospects);
  ps_col_int(&r, &row.quote_requests);
  ps_col_u64(&r, &row.version);
  ps_col_time(&r, &row.update_us);
  for (;;) {
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    row.prospects = row.prospects != 0;
    row.quote_requests = row.quote_requests != 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(tenants[i], tenant) == 0) ret[i] = row;
  }
}

int ps_store_apps_lock(ps_db_t *db, const char *tenant, ps_apps_row_t *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  if (!ps_db_exec(db, &Q_ENSURE, &p, st)) return -1;
  return read_row(db, &Q_LOCK, tenant, ret, st);
}

int ps_store_apps_write(ps_db_t *db, const char *tenant, int prospects, int quote_requests,
                        uint64_t old_version, int64_t now_us, ps_apps_row_t *ret,
                        ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_i64(&p, prospects ? 1 : 0);
  ps_param_i64(&p, quote_requests ? 1 : 0);
  ps_param_time(&p, now_us);
  ps_param_str(&p, tenant);
  ps_param_u64(&p, old_version);
  MYSQL_STMT *s = ps_db_exec(db, &Q_WRITE, &p, st);
  if (!s) return -1;
  if (ps_db_affected(s) != 1)
    return ps_fail(st, PS_ABORTED, "ETAG_MISMATCH",
                   "The apps were changed concurrently; read them again and retry.");
  ret->prospects = prospects != 0;
  ret->quote_requests = quote_requests != 0;
  ret->version = old_version + 1;
  ret->update_us = now_us;
  return 0;
}
