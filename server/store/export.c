#include "store/export.h"

#include <string.h>

/* Primary key (tenant_id, id) for every state; prospects_overview_newest (tenant_id, state, id)
 * for one state: both in id order without a sort. */
static ps_sql_t Q_PAGE_ALL = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (PRIMARY)"
    " WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?");
static ps_sql_t Q_PAGE_STATE = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_overview_newest)"
    " WHERE tenant_id = ? AND state = ? AND id > ? ORDER BY id LIMIT ?");
/* contact_persons_by_prospect (tenant_id, prospect_id, id) */
static ps_sql_t Q_CONTACTS = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons"
    " WHERE tenant_id = ? AND prospect_id > ? AND prospect_id <= ? ORDER BY prospect_id, id");

static const ps_id_t min_id = {{0}};

int ps_store_export_page(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *after,
                         int state, int limit, ps_prospect_cols_t *ret_rows, int *ret_n,
                         ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  if (state) ps_param_i64(&p, state);
  ps_param_id(&p, after ? after : &min_id);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, state ? &Q_PAGE_STATE : &Q_PAGE_ALL, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_prospect_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_prospect_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = c;
  }
  *ret_n = n;
  return 0;
}

int ps_store_export_contacts(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *after,
                             const ps_id_t *last, ps_contact_cols_t **ret_rows, size_t *ret_n,
                             ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, after ? after : &min_id);
  ps_param_id(&p, last);
  MYSQL_STMT *s = ps_db_exec(db, &Q_CONTACTS, &p, st);
  if (!s) return -1;
  ps_contact_cols_t *rows = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    ps_contact_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_contact_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    rows = ps_arena_grow(a, rows, n, &cap, sizeof *rows, 256);
    if (!rows) /* the rest of the result is discarded by the connection's next statement */
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "CALL_MEMORY_EXCEEDED",
                     "the call needs more memory than one call may use");
    rows[n++] = c;
  }
  *ret_rows = rows;
  *ret_n = n;
  return 0;
}
