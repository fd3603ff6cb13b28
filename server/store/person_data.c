/* A person's data: erased marks, the lineage of merged records, and the copies an erasure redacts. */
#include "store/person_data.h"

#include <string.h>

static ps_sql_t Q_ERASED_GET = PS_SQL(
    "SELECT kind FROM erased_records WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_ERASED_MARK = PS_SQL(
    "INSERT IGNORE INTO erased_records (tenant_id, id, kind, erase_time) VALUES (?, ?, ?, ?)");
static ps_sql_t Q_TOMB_OF = PS_SQL(
    "SELECT merged_into, merge_id FROM prospect_tombstones WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_TOMBS_INTO = PS_SQL(
    "SELECT id, merge_id FROM prospect_tombstones WHERE tenant_id = ? AND merged_into = ?"
    " ORDER BY id LIMIT ?");
static ps_sql_t Q_MOVED_OF = PS_SQL(
    "SELECT link_id FROM merge_moved_documents WHERE tenant_id = ? AND merge_id = ? AND source_id = ?"
    " ORDER BY link_id");
static ps_sql_t Q_LINK_LOCK = PS_SQL(
    "SELECT type, party_snapshot FROM document_links WHERE tenant_id = ? AND id = ? FOR UPDATE");
static ps_sql_t Q_LINK_SET = PS_SQL(
    "UPDATE document_links SET party_snapshot = ? WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_MERGE_REDACT = PS_SQL(
    "UPDATE merges SET record = ?, acting_user = ? WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_IDEM_SCAN = PS_SQL(
    "SELECT request_id, method, response FROM idempotency_keys WHERE tenant_id = ? AND request_id > ?"
    " ORDER BY request_id LIMIT ? FOR UPDATE");
static ps_sql_t Q_IDEM_DELETE = PS_SQL(
    "DELETE FROM idempotency_keys WHERE tenant_id = ? AND request_id = ?");

static int oom(ps_status_t *st) {
  return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory reading a person's data.");
}

int ps_store_erased_get(ps_db_t *db, const char *tenant, const ps_id_t *id, int *ret_kind,
                        ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_ERASED_GET, &p, st);
  if (!s) return -1;
  int kind = 0;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_int(&r, &kind);
  int rc = ps_db_fetch(db, s, &r, NULL, st);
  if (rc == 1) *ret_kind = kind;
  return rc;
}

int ps_store_erased_mark(ps_db_t *db, const char *tenant, const ps_id_t *id, int kind,
                         int64_t now_us, int *ret_new, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  ps_param_i64(&p, kind);
  ps_param_time(&p, now_us);
  MYSQL_STMT *s = ps_db_exec(db, &Q_ERASED_MARK, &p, st);
  if (!s) return -1;
  *ret_new = ps_db_affected(s) == 1;
  return 0;
}

int ps_store_tombstone_of(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_id_t *ret_into,
                          ps_id_t *ret_merge, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_TOMB_OF, &p, st);
  if (!s) return -1;
  ps_id_t into, merge;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_id(&r, &into);
  ps_col_id(&r, &merge);
  int rc = ps_db_fetch(db, s, &r, NULL, st);
  if (rc == 1) {
    *ret_into = into;
    *ret_merge = merge;
  }
  return rc;
}

int ps_store_tombstones_into(ps_db_t *db, const char *tenant, const ps_id_t *into, int limit,
                             ps_merged_in_t *ret_rows, int *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, into);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_TOMBS_INTO, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_merged_in_t m;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &m.id);
    ps_col_id(&r, &m.merge_id);
    int rc = ps_db_fetch(db, s, &r, NULL, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = m;
  }
  *ret_n = n;
  return 0;
}

int ps_store_moved_links_of(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *merge_id,
                            const ps_id_t *source_id, ps_id_t **ret_ids, int *ret_n,
                            ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, merge_id);
  ps_param_id(&p, source_id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_MOVED_OF, &p, st);
  if (!s) return -1;
  ps_id_t *ids = NULL;
  int n = 0, cap = 0;
  for (;;) {
    ps_id_t id;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    int rc = ps_db_fetch(db, s, &r, NULL, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n == cap) {
      int ncap = cap ? cap * 2 : 64;
      ps_id_t *grown = ps_arena_alloc(a, sizeof *grown * (size_t)ncap);
      if (!grown) return oom(st);
      if (n) memcpy(grown, ids, sizeof *ids * (size_t)n);
      ids = grown;
      cap = ncap;
    }
    ids[n++] = id;
  }
  *ret_ids = ids;
  *ret_n = n;
  return 0;
}

int ps_store_link_snapshot_lock(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                                int *ret_type, ps_blob_t *ret_snapshot, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_LINK_LOCK, &p, st);
  if (!s) return -1;
  int type = 0;
  ps_blob_t snap = {NULL, 0};
  ps_row_t r;
  ps_row_init(&r);
  ps_col_int(&r, &type);
  ps_col_blob(&r, &snap);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc == 1) {
    *ret_type = type;
    *ret_snapshot = snap;
  }
  return rc;
}

int ps_store_link_snapshot_set(ps_db_t *db, const char *tenant, const ps_id_t *id,
                               const ps_blob_t *snapshot, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_blob(&p, snapshot->data ? (const void *)snapshot->data : "", snapshot->len);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_LINK_SET, &p, st) ? 0 : -1;
}

int ps_store_merge_redact(ps_db_t *db, const char *tenant, const ps_id_t *id,
                          const ps_blob_t *record, const char *acting_user, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_blob(&p, record->data ? (const void *)record->data : "", record->len);
  ps_param_str(&p, acting_user ? acting_user : "");
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_MERGE_REDACT, &p, st) ? 0 : -1;
}

int ps_store_idem_scan(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *after, int limit,
                       ps_idem_row_t *ret_rows, int *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, after ? after : "");
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_IDEM_SCAN, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_idem_row_t k;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_str(&r, &k.request_id);
    ps_col_str(&r, &k.method);
    ps_col_blob(&r, &k.response);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = k;
  }
  *ret_n = n;
  return 0;
}

int ps_store_idem_delete(ps_db_t *db, const char *tenant, const char *request_id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, request_id);
  return ps_db_exec(db, &Q_IDEM_DELETE, &p, st) ? 0 : -1;
}
