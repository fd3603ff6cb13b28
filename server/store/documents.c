/* Document links (S5, S13). */
#include "store/documents.h"

#include <string.h>

#include "core/names.h"

static ps_sql_t Q_INSERT = PS_SQL(
    "INSERT INTO document_links (tenant_id, id, prospect_id, type, document_id, number, title,"
    " document_time, party_snapshot, link_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
static ps_sql_t Q_FIND = PS_SQL(
    "SELECT " PS_DOCUMENT_COLUMNS " FROM document_links"
    " WHERE tenant_id = ? AND type = ? AND document_id = ?");
static ps_sql_t Q_DELETE = PS_SQL(
    "DELETE FROM document_links WHERE tenant_id = ? AND type = ? AND document_id = ?");
/* Newest first, keyset pagination. A list of one type reads its range of index
 * document_links_by_prospect_type in order. There is no index of all types (a merge would rewrite
 * each moved link in it too), so a list of all types takes one of two ways:
 * - a record with at most PS_FEW_LINKS links: the record's range of that index, sorted (cheap);
 * - a larger one: from each type's range, the keys of the newest `limit` entries (index only);
 *   of those the newest `limit`, whose rows are then read by primary key. That reads at most
 *   PS_DOCUMENT_TYPES * limit index entries whatever the record holds, but costs a few hundred
 *   microseconds more than the first way on a small record.
 * Q_FEW tells which: it counts the record's links up to PS_FEW_LINKS + 1. Both ways give the same
 * rows, so a record that grows between the two statements gets a right page, only slower. */
#define PS_FEW_LINKS 200
static ps_sql_t Q_FEW = PS_SQL(
    "SELECT COUNT(*) FROM (SELECT 1 FROM document_links WHERE tenant_id = ? AND prospect_id = ?"
    " LIMIT ?) x");
#define KEYS_AFTER " AND (document_time < ? OR (document_time = ? AND id < ?))"
#define FEW(after)                                                                                 \
  "SELECT " PS_DOCUMENT_COLUMNS " FROM document_links WHERE tenant_id = ? AND prospect_id = ?"     \
  after " ORDER BY document_time DESC, id DESC LIMIT ?"
#define KEYS_OF_TYPE(t, after)                                                                     \
  "(SELECT document_time AS kt, id AS kid FROM document_links"                                     \
  " WHERE tenant_id = ? AND prospect_id = ? AND type = " #t after                                  \
  " ORDER BY document_time DESC, id DESC LIMIT ?)"
#define MANY(after)                                                                                \
  "SELECT " PS_DOCUMENT_COLUMNS " FROM (SELECT kt, kid FROM ("                                     \
  KEYS_OF_TYPE(1, after) " UNION ALL " KEYS_OF_TYPE(2, after) " UNION ALL "                        \
  KEYS_OF_TYPE(3, after) " UNION ALL " KEYS_OF_TYPE(4, after) " UNION ALL "                        \
  KEYS_OF_TYPE(5, after) " UNION ALL " KEYS_OF_TYPE(6, after) " UNION ALL "                        \
  KEYS_OF_TYPE(7, after) " UNION ALL " KEYS_OF_TYPE(8, after)                                      \
  ") u ORDER BY kt DESC, kid DESC LIMIT ?) k"                                                      \
  " JOIN document_links d ON d.tenant_id = ? AND d.id = k.kid ORDER BY k.kt DESC, k.kid DESC"
_Static_assert(PS_DOCUMENT_TYPES == 8, "MANY names each document type");
static ps_sql_t Q_LIST_FEW = PS_SQL(FEW(""));
static ps_sql_t Q_LIST_FEW_AFTER = PS_SQL(FEW(KEYS_AFTER));
static ps_sql_t Q_LIST_MANY = PS_SQL(MANY(""));
static ps_sql_t Q_LIST_MANY_AFTER = PS_SQL(MANY(KEYS_AFTER));
static ps_sql_t Q_LIST_TYPE = PS_SQL(
    "SELECT " PS_DOCUMENT_COLUMNS " FROM document_links WHERE tenant_id = ? AND prospect_id = ?"
    " AND type = ? ORDER BY document_time DESC, id DESC LIMIT ?");
static ps_sql_t Q_LIST_TYPE_AFTER = PS_SQL(
    "SELECT " PS_DOCUMENT_COLUMNS " FROM document_links WHERE tenant_id = ? AND prospect_id = ?"
    " AND type = ?" KEYS_AFTER " ORDER BY document_time DESC, id DESC LIMIT ?");

void ps_store_document_bind(ps_row_t *r, ps_document_cols_t *c) {
  ps_col_id(r, &c->id);
  ps_col_id(r, &c->prospect_id);
  ps_col_int(r, &c->type);
  ps_col_str(r, &c->document_id);
  ps_col_str(r, &c->number);
  ps_col_str(r, &c->title);
  ps_col_time(r, &c->document_us);
  ps_col_blob(r, &c->snapshot);
  ps_col_time(r, &c->link_us);
}

Prospects__V1__Document *ps_store_document_msg(ps_arena_t *a, const char *tenant,
                                               const ps_document_cols_t *c) {
  Prospects__V1__Document *m = ps_arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  prospects__v1__document__init(m);
  if (!(m->name = ps_name_document(a, tenant, &c->prospect_id, &c->id))) return NULL;
  if (!(m->prospect = ps_name_prospect(a, tenant, &c->prospect_id))) return NULL;
  m->type = (Prospects__V1__DocumentType)c->type;
  m->document_id = c->document_id;
  m->number = c->number;
  m->title = c->title;
  if (!(m->document_time = ps_db_timestamp(a, c->document_us))) return NULL;
  if (!(m->link_time = ps_db_timestamp(a, c->link_us))) return NULL;
  m->party_snapshot =
      prospects__v1__party_snapshot__unpack(&a->allocator, c->snapshot.len, c->snapshot.data);
  if (!m->party_snapshot) return NULL;
  return m;
}

int ps_store_document_insert(ps_db_t *db, const char *tenant, const ps_document_cols_t *c,
                             ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, &c->id);
  ps_param_id(&p, &c->prospect_id);
  ps_param_i64(&p, c->type);
  ps_param_str(&p, c->document_id);
  ps_param_str(&p, c->number);
  ps_param_str(&p, c->title);
  ps_param_time(&p, c->document_us);
  ps_param_blob(&p, c->snapshot.data ? (const void *)c->snapshot.data : "", c->snapshot.len);
  ps_param_time(&p, c->link_us);
  return ps_db_exec(db, &Q_INSERT, &p, st) ? 0 : -1;
}

int ps_store_document_find(ps_db_t *db, ps_arena_t *a, const char *tenant, int type,
                           const char *document_id, ps_document_cols_t *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_i64(&p, type);
  ps_param_str(&p, document_id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_FIND, &p, st);
  if (!s) return -1;
  ps_document_cols_t c;
  ps_row_t r;
  ps_row_init(&r);
  ps_store_document_bind(&r, &c);
  int rc = ps_db_fetch(db, s, &r, a, st);
  if (rc == 1) *ret = c;
  return rc;
}

int ps_store_document_delete(ps_db_t *db, const char *tenant, int type, const char *document_id,
                             ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_i64(&p, type);
  ps_param_str(&p, document_id);
  MYSQL_STMT *s = ps_db_exec(db, &Q_DELETE, &p, st);
  if (!s) return -1;
  return ps_db_affected(s) > 0 ? 1 : 0;
}

/* 1 when the record holds more than PS_FEW_LINKS links, 0 when not, -1 on failure. */
static int has_many_links(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  ps_param_i64(&p, PS_FEW_LINKS + 1);
  int64_t n = 0;
  if (ps_db_query_i64(db, &Q_FEW, &p, &n, st) != 0) return -1;
  return n > PS_FEW_LINKS;
}

int ps_store_document_list(ps_db_t *db, ps_arena_t *a, const char *tenant,
                           const ps_document_query_t *q, ps_document_cols_t *ret_rows, int *ret_n,
                           int *ret_cut, ps_status_t *st) {
  int many = 0;
  if (!q->type && (many = has_many_links(db, tenant, &q->prospect_id, st)) < 0) return -1;
  ps_sql_t *sql = q->type ? (q->has_cursor ? &Q_LIST_TYPE_AFTER : &Q_LIST_TYPE)
                  : many  ? (q->has_cursor ? &Q_LIST_MANY_AFTER : &Q_LIST_MANY)
                          : (q->has_cursor ? &Q_LIST_FEW_AFTER : &Q_LIST_FEW);
  ps_params_t p;
  ps_params_init(&p);
  for (int t = 1; t <= (many ? PS_DOCUMENT_TYPES : 1); t++) { /* each type's range, or the one */
    ps_param_str(&p, tenant);
    ps_param_id(&p, &q->prospect_id);
    if (q->type) ps_param_i64(&p, q->type);
    if (q->has_cursor) {
      ps_param_time(&p, q->after_us);
      ps_param_time(&p, q->after_us);
      ps_param_id(&p, &q->after_id);
    }
    ps_param_i64(&p, q->limit);
  }
  if (many) {
    ps_param_i64(&p, q->limit);
    ps_param_str(&p, tenant);
  }
  MYSQL_STMT *s = ps_db_exec(db, sql, &p, st);
  if (!s) return -1;
  int n = 0, cut = 0;
  size_t held0 = a->held;
  for (;;) {
    if (q->max_bytes && n > 0 && a->held - held0 >= q->max_bytes) {
      cut = 1; /* the rest of the result is discarded by the next statement on db */
      break;
    }
    ps_document_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_document_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < q->limit) ret_rows[n++] = c;
  }
  *ret_n = n;
  *ret_cut = cut;
  return 0;
}
