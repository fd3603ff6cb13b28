/* A person's data: erased marks, the lineage of merged records, and the copies an erasure redacts. */
#include "store/person_data.h"

#include <string.h>

#include "store/documents.h"

static ps_sql_t Q_ERASED_GET = PS_SQL(
    "SELECT kind FROM erased_records WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_ERASED_MARK = PS_SQL(
    "INSERT IGNORE INTO erased_records (tenant_id, id, kind, erase_time) VALUES (?, ?, ?, ?)");
static ps_sql_t Q_TOMB_OF = PS_SQL(
    "SELECT merged_into, merge_id FROM prospect_tombstones WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_TOMBS_INTO = PS_SQL(
    "SELECT id, merge_id FROM prospect_tombstones WHERE tenant_id = ? AND merged_into = ?"
    " ORDER BY id LIMIT ?");
/* Link snapshots. Invoices and credit notes (types 5, 6) are left out unless asked; `<> ?` (the
 * redacted snapshot) leaves rows already redacted unchanged, so the rows changed are the copies
 * redacted now. A record's links: index document_links_by_prospect(_type); the links a merge moved
 * from a source: the primary key of merge_moved_documents (tenant, merge, source), joined to
 * document_links by its primary key. */
/* The record's index is forced (PS_LINKS_BY_RECORD): without it, a tenant whose few records hold
 * most of its links has these statements read all of the tenant's links. */
static ps_sql_t Q_REDACT_ON = PS_SQL(
    "UPDATE " PS_LINKS_BY_RECORD " SET party_snapshot = ? WHERE tenant_id = ? AND prospect_id = ?"
    " AND type NOT IN (5, 6) AND party_snapshot <> ?");
static ps_sql_t Q_REDACT_ON_ALL = PS_SQL(
    "UPDATE " PS_LINKS_BY_RECORD " SET party_snapshot = ? WHERE tenant_id = ? AND prospect_id = ?"
    " AND party_snapshot <> ?");
static ps_sql_t Q_REDACT_MOVED = PS_SQL(
    "UPDATE merge_moved_documents m JOIN document_links d ON d.tenant_id = m.tenant_id AND d.id = m.link_id"
    " SET d.party_snapshot = ? WHERE m.tenant_id = ? AND m.merge_id = ? AND m.source_id = ?"
    " AND d.type NOT IN (5, 6) AND d.party_snapshot <> ?");
static ps_sql_t Q_REDACT_MOVED_ALL = PS_SQL(
    "UPDATE merge_moved_documents m JOIN document_links d ON d.tenant_id = m.tenant_id AND d.id = m.link_id"
    " SET d.party_snapshot = ? WHERE m.tenant_id = ? AND m.merge_id = ? AND m.source_id = ?"
    " AND d.party_snapshot <> ?");
static ps_sql_t Q_KEPT_ON = PS_SQL(
    "SELECT COUNT(*) FROM " PS_LINKS_BY_RECORD " WHERE tenant_id = ? AND prospect_id = ?"
    " AND type IN (5, 6)"
    " AND party_snapshot <> ?");
static ps_sql_t Q_KEPT_MOVED = PS_SQL(
    "SELECT COUNT(*) FROM merge_moved_documents m JOIN document_links d"
    " ON d.tenant_id = m.tenant_id AND d.id = m.link_id"
    " WHERE m.tenant_id = ? AND m.merge_id = ? AND m.source_id = ? AND d.prospect_id <> ?"
    " AND d.type IN (5, 6) AND d.party_snapshot <> ?");
static ps_sql_t Q_MOVED_SNAPSHOTS = PS_SQL(
    "SELECT m.link_id, d.party_snapshot FROM merge_moved_documents m JOIN document_links d"
    " ON d.tenant_id = m.tenant_id AND d.id = m.link_id"
    " WHERE m.tenant_id = ? AND m.merge_id = ? AND m.source_id = ? AND m.link_id > ?"
    " ORDER BY m.link_id LIMIT ?");
static ps_sql_t Q_MERGE_REDACT = PS_SQL(
    "UPDATE merges SET record = ?, acting_user = ? WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_IDEM_SCAN = PS_SQL(
    "SELECT request_id, method, response FROM idempotency_keys WHERE tenant_id = ? AND request_id > ?"
    " ORDER BY request_id LIMIT ? FOR UPDATE");
static ps_sql_t Q_IDEM_DELETE = PS_SQL(
    "DELETE FROM idempotency_keys WHERE tenant_id = ? AND request_id = ?");

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

int ps_store_links_redact(ps_db_t *db, const char *tenant, const ps_id_t *prospect_id,
                          const ps_moved_from_t *moved, const ps_blob_t *blank, int invoices_too,
                          uint64_t *ret_changed, ps_status_t *st) {
  const void *b = blank->data ? (const void *)blank->data : "";
  ps_params_t p;
  ps_params_init(&p);
  ps_param_blob(&p, b, blank->len);
  ps_param_str(&p, tenant);
  ps_sql_t *q;
  if (moved) {
    ps_param_id(&p, &moved->merge_id);
    ps_param_id(&p, &moved->source_id);
    q = invoices_too ? &Q_REDACT_MOVED_ALL : &Q_REDACT_MOVED;
  } else {
    ps_param_id(&p, prospect_id);
    q = invoices_too ? &Q_REDACT_ON_ALL : &Q_REDACT_ON;
  }
  ps_param_blob(&p, b, blank->len);
  MYSQL_STMT *s = ps_db_exec(db, q, &p, st);
  if (!s) return -1;
  *ret_changed = ps_db_affected(s);
  return 0;
}

int ps_store_links_kept(ps_db_t *db, const char *tenant, const ps_id_t *prospect_id,
                        const ps_moved_from_t *moved, const ps_blob_t *blank, int64_t *ret_n,
                        ps_status_t *st) {
  const void *b = blank->data ? (const void *)blank->data : "";
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  if (moved) {
    ps_param_id(&p, &moved->merge_id);
    ps_param_id(&p, &moved->source_id);
  }
  ps_param_id(&p, prospect_id);
  ps_param_blob(&p, b, blank->len);
  return ps_db_query_i64(db, moved ? &Q_KEPT_MOVED : &Q_KEPT_ON, &p, ret_n, st);
}

int ps_store_moved_snapshots(ps_db_t *db, ps_arena_t *a, const char *tenant,
                             const ps_moved_from_t *moved, const ps_id_t *after, int limit,
                             ps_id_t *ret_ids, ps_blob_t *ret_snapshots, int *ret_n,
                             ps_status_t *st) {
  static const ps_id_t zero;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &moved->merge_id);
  ps_param_id(&p, &moved->source_id);
  ps_param_id(&p, after ? after : &zero);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_MOVED_SNAPSHOTS, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_id_t id;
    ps_blob_t snap = {NULL, 0};
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    ps_col_blob(&r, &snap);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) {
      ret_ids[n] = id;
      ret_snapshots[n] = snap;
      n++;
    }
  }
  *ret_n = n;
  return 0;
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
