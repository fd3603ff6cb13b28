/* Merges: the links and contact persons a merge moves, and the permanent merge records. */
#include "store/merges.h"

#include "store/documents.h"

/* A record's links and contact persons: indexes document_links_by_prospect_type and
 * contact_persons_by_prospect (tenant_id, prospect_id, ...), whose entries carry the primary key.
 * The index is forced. Left to itself, MariaDB reads these statements through the primary key's
 * tenant_id prefix, every link or contact person of the tenant: an UPDATE of prospect_id avoids
 * the index that holds prospect_id, and ORDER BY id LIMIT prefers the key in that order. A merge
 * then cost in proportion to the tenant's links, not the sources': 200,000 rows examined per
 * source of a 20,000-link merge in a tenant of 200,000 links, 400,000 once the tenant held twice
 * that (bench/merge.py, MariaDB's slow log). With the index: the source's own rows, the ids
 * sorted after the read. */
#define CONTACTS_BY_RECORD "contact_persons FORCE INDEX (contact_persons_by_prospect)"
static ps_sql_t Q_LINK_IDS = PS_SQL(
    "SELECT id FROM " PS_LINKS_BY_RECORD " WHERE tenant_id = ? AND prospect_id = ?"
    " ORDER BY id LIMIT ?");
static ps_sql_t Q_LINK_IDS_UPDATE = PS_SQL(
    "SELECT id FROM " PS_LINKS_BY_RECORD " WHERE tenant_id = ? AND prospect_id = ?"
    " ORDER BY id LIMIT ? FOR UPDATE");
static ps_sql_t Q_MOVE_LINKS = PS_SQL(
    "UPDATE " PS_LINKS_BY_RECORD " SET prospect_id = ? WHERE tenant_id = ? AND prospect_id = ?");
static ps_sql_t Q_CONTACTS = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons WHERE tenant_id = ? AND prospect_id = ?"
    " ORDER BY id LIMIT ?");
static ps_sql_t Q_CONTACTS_UPDATE = PS_SQL(
    "SELECT " PS_CONTACT_COLUMNS " FROM contact_persons WHERE tenant_id = ? AND prospect_id = ?"
    " ORDER BY id LIMIT ? FOR UPDATE");
static ps_sql_t Q_MOVE_CONTACTS = PS_SQL(
    "UPDATE " CONTACTS_BY_RECORD " SET prospect_id = ? WHERE tenant_id = ? AND prospect_id = ?");

/* The links of a source, recorded as moved by merge ? (before they move: same transaction, the
 * source held FOR UPDATE, so no link of it is added or removed meanwhile). */
static ps_sql_t Q_RECORD_MOVED = PS_SQL(
    "INSERT INTO merge_moved_documents (tenant_id, merge_id, source_id, link_id)"
    " SELECT tenant_id, ?, prospect_id, id FROM " PS_LINKS_BY_RECORD " WHERE tenant_id = ?"
    " AND prospect_id = ?");
/* Pages of a merge's moved links, primary key order. */
static ps_sql_t Q_MOVED_FIRST = PS_SQL(
    "SELECT source_id, link_id FROM merge_moved_documents WHERE tenant_id = ? AND merge_id = ?"
    " ORDER BY source_id, link_id LIMIT ?");
static ps_sql_t Q_MOVED_AFTER = PS_SQL(
    "SELECT source_id, link_id FROM merge_moved_documents WHERE tenant_id = ? AND merge_id = ?"
    " AND (source_id > ? OR (source_id = ? AND link_id > ?)) ORDER BY source_id, link_id LIMIT ?");

#define MERGE_COLUMNS "id, target_id, create_time, caller, acting_user, record"
static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO merges (tenant_id, id, target_id, create_time, caller, acting_user, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)");
static ps_sql_t Q_GET = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? AND id = ?");
static ps_sql_t Q_GET_UPDATE = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? AND id = ? FOR UPDATE");
/* Newest first, keyset pages: the primary key, or merges_by_target (tenant_id, target_id, id). */
static ps_sql_t Q_LIST = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_LIST_AFTER = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_LIST_TARGET = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? AND target_id = ?"
    " ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_LIST_TARGET_AFTER = PS_SQL(
    "SELECT " MERGE_COLUMNS " FROM merges WHERE tenant_id = ? AND target_id = ? AND id < ?"
    " ORDER BY id DESC LIMIT ?");

int ps_store_merge_link_ids(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_id_t *prospect_id, ps_lock_t lock, int limit,
                            ps_id_t **ret_ids, int *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, prospect_id);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, lock == PS_LOCK_UPDATE ? &Q_LINK_IDS_UPDATE : &Q_LINK_IDS, &p, st);
  if (!s) return -1;
  /* grows by doubling in the arena: the old arrays are simply left behind until the call ends */
  ps_id_t *ids = NULL;
  int n = 0;
  size_t cap = 0;
  for (;;) {
    ps_id_t id;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    int rc = ps_db_fetch(db, s, &r, NULL, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    ids = ps_arena_grow(a, ids, (size_t)n, &cap, sizeof *ids, 64);
    if (!ids) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory reading links.");
    ids[n++] = id;
  }
  *ret_ids = ids;
  *ret_n = n;
  return 0;
}

/* Runs q, a statement about the rows of record `from` with parameters (to, tenant, from): the
 * moves (SET prospect_id = to) and the recording of moved links (merge id `to`). *ret_moved: the
 * rows it changed. */
static int move_rows(ps_db_t *db, ps_sql_t *q, const char *tenant, const ps_id_t *from,
                     const ps_id_t *to, uint64_t *ret_moved, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_id(&p, to);
  ps_param_str(&p, tenant);
  ps_param_id(&p, from);
  MYSQL_STMT *s = ps_db_exec(db, q, &p, st);
  if (!s) return -1;
  *ret_moved = ps_db_affected(s);
  return 0;
}

int ps_store_merge_move_links(ps_db_t *db, const char *tenant, const ps_id_t *from,
                              const ps_id_t *to, uint64_t *ret_moved, ps_status_t *st) {
  return move_rows(db, &Q_MOVE_LINKS, tenant, from, to, ret_moved, st);
}

int ps_store_merge_move_contacts(ps_db_t *db, const char *tenant, const ps_id_t *from,
                                 const ps_id_t *to, uint64_t *ret_moved, ps_status_t *st) {
  return move_rows(db, &Q_MOVE_CONTACTS, tenant, from, to, ret_moved, st);
}

int ps_store_merge_record_moved(ps_db_t *db, const char *tenant, const ps_id_t *merge_id,
                                const ps_id_t *source_id, uint64_t *ret_n, ps_status_t *st) {
  return move_rows(db, &Q_RECORD_MOVED, tenant, source_id, merge_id, ret_n, st);
}

int ps_store_merge_contacts(ps_db_t *db, ps_arena_t *a, const char *tenant,
                            const ps_id_t *prospect_id, ps_lock_t lock, int limit,
                            ps_contact_cols_t **ret_rows, int *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, prospect_id);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, lock == PS_LOCK_UPDATE ? &Q_CONTACTS_UPDATE : &Q_CONTACTS, &p, st);
  if (!s) return -1;
  ps_contact_cols_t *rows = NULL;
  int n = 0;
  size_t cap = 0;
  for (;;) {
    ps_contact_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_contact_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    rows = ps_arena_grow(a, rows, (size_t)n, &cap, sizeof *rows, 16);
    if (!rows)
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory reading contact persons.");
    rows[n++] = c;
  }
  *ret_rows = rows;
  *ret_n = n;
  return 0;
}

int ps_store_merge_insert(ps_db_t *db, const char *tenant, const ps_merge_row_t *m,
                          ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &m->id);
  ps_param_id(&p, &m->target_id);
  ps_param_time(&p, m->create_us);
  ps_param_str(&p, m->caller ? m->caller : "");
  ps_param_str(&p, m->acting_user ? m->acting_user : "");
  ps_param_blob(&p, m->record.data ? (const void *)m->record.data : "", m->record.len);
  return ps_db_exec(db, &Q_INSERT, &p, st) ? 0 : -1;
}

static void merge_bind(ps_row_t *r, ps_merge_row_t *m) {
  ps_col_id(r, &m->id);
  ps_col_id(r, &m->target_id);
  ps_col_time(r, &m->create_us);
  ps_col_str(r, &m->caller);
  ps_col_str(r, &m->acting_user);
  ps_col_blob(r, &m->record);
}

int ps_store_merge_get(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                       ps_merge_row_t *ret, ps_status_t *st) {
  return ps_store_merge_get_locked(db, a, tenant, id, PS_LOCK_NONE, ret, st);
}

int ps_store_merge_get_locked(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                              ps_lock_t lock, ps_merge_row_t *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  MYSQL_STMT *s = ps_db_exec(db, lock == PS_LOCK_UPDATE ? &Q_GET_UPDATE : &Q_GET, &p, st);
  if (!s) return -1;
  ps_merge_row_t m;
  ps_row_t r;
  ps_row_init(&r);
  merge_bind(&r, &m);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc == 1) *ret = m;
  return rc;
}

int ps_store_merge_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_merge_query_t *q,
                        size_t max_bytes, ps_merge_row_t *ret_rows, int *ret_n, int *ret_cut,
                        ps_status_t *st) {
  ps_sql_t *sql = q->has_target ? (q->has_cursor ? &Q_LIST_TARGET_AFTER : &Q_LIST_TARGET)
                                : (q->has_cursor ? &Q_LIST_AFTER : &Q_LIST);
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  if (q->has_target) ps_param_id(&p, &q->target_id);
  if (q->has_cursor) ps_param_id(&p, &q->after_id);
  ps_param_i64(&p, q->limit);
  MYSQL_STMT *s = ps_db_exec(db, sql, &p, st);
  if (!s) return -1;
  int n = 0, cut = 0;
  size_t bytes = 0;
  while (n < q->limit) {
    if (n > 0 && bytes >= max_bytes) {
      cut = 1; /* the rest of the result is discarded by the next statement on db */
      break;
    }
    ps_merge_row_t m;
    ps_row_t r;
    ps_row_init(&r);
    merge_bind(&r, &m);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    bytes += m.record.len;
    ret_rows[n++] = m;
  }
  *ret_n = n;
  *ret_cut = cut;
  return 0;
}

int ps_store_merge_moved_page(ps_db_t *db, const char *tenant, const ps_id_t *merge_id,
                              const ps_moved_link_t *after, int limit, ps_moved_link_t *ret_rows,
                              int *ret_n, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, merge_id);
  if (after) {
    ps_param_id(&p, &after->source_id);
    ps_param_id(&p, &after->source_id);
    ps_param_id(&p, &after->link_id);
  }
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, after ? &Q_MOVED_AFTER : &Q_MOVED_FIRST, &p, st);
  if (!s) return -1;
  int n = 0;
  for (;;) {
    ps_moved_link_t m;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &m.source_id);
    ps_col_id(&r, &m.link_id);
    int rc = ps_db_fetch(db, s, &r, NULL, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < limit) ret_rows[n++] = m;
  }
  *ret_n = n;
  return 0;
}
