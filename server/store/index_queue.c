/* The queue of records whose word index is still to be written (see store/index_queue.h). */
#include "store/index_queue.h"

#include <stdio.h>
#include <string.h>

#include "store/import.h"

#define Q1 "(?, ?, ?)"
#define Q2 Q1 ", " Q1
#define Q4 Q2 ", " Q2
#define Q8 Q4 ", " Q4
#define Q16 Q8 ", " Q8
#define Q32 Q16 ", " Q16
#define ADD_BIG 32

#define Q_INSERT "INSERT INTO prospect_index_queue (tenant_id, id, enqueue_time) VALUES "
static ps_sql_t Q_ADD1 = PS_SQL(Q_INSERT Q1);
static ps_sql_t Q_ADD32 = PS_SQL(Q_INSERT Q32);
static ps_sql_t Q_DELETE = PS_SQL("DELETE FROM prospect_index_queue WHERE tenant_id = ? AND id = ?");
/* The first tenant after ? with an id no other transaction holds: the one read of a batch across
 * tenants (one key of the primary key, read in order). */
static ps_sql_t Q_NEXT_TENANT = PS_SQL(
    "SELECT tenant_id FROM prospect_index_queue WHERE tenant_id > ? ORDER BY tenant_id, id LIMIT 1"
    " FOR UPDATE SKIP LOCKED");
static ps_sql_t Q_TAKE = PS_SQL(
    "SELECT id FROM prospect_index_queue WHERE tenant_id = ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED");
/* A batch's ids, IDS of them a statement (a smaller group repeats its last id). */
#define IDS 48
#define IDS8 "?, ?, ?, ?, ?, ?, ?, ?"
#define IDS48 IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8 ", " IDS8
_Static_assert(IDS + 1 <= PS_DB_MAX_PARAMS, "the ids of a statement");
/* One record, locked: by its whole primary key, so that the lock is that row's alone. (An IN list
 * may be read as a range over the primary key, which would wait on the rows of another batch of
 * the tenant, whose ids interleave with this one's when SKIP LOCKED took them: two such batches
 * deadlock. The same holds for the queue rows, deleted one by one below.) */
static ps_sql_t Q_LOCK_ROW = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM prospects WHERE tenant_id = ? AND id = ? FOR UPDATE");
/* Which of them have word index rows (records updated since the import wrote their own): a plain
 * read, which takes no locks. Only those are unindexed: a DELETE of ids without rows would still
 * lock its way to the next row of the index, which may be another batch's uncommitted row, and
 * two batches of one tenant waiting so on each other deadlock. */
static ps_sql_t Q_HAS_TERMS = PS_SQL(
    "SELECT DISTINCT id FROM prospect_terms FORCE INDEX (prospect_terms_by_prospect)"
    " WHERE tenant_id = ? AND id IN (" IDS48 ")");
static ps_sql_t Q_UNINDEX = PS_SQL(
    "DELETE FROM prospect_terms WHERE tenant_id = ? AND id IN (" IDS48 ")");
static ps_sql_t Q_DEPTH = PS_SQL(
    "SELECT COUNT(*) FROM (SELECT 1 FROM prospect_index_queue LIMIT ?) q");
static ps_sql_t Q_DEPTH_ESTIMATE = PS_SQL(
    "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_NAME = 'prospect_index_queue'");

int ps_store_index_queue_add(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *rows,
                             size_t n, int64_t now_us, ps_status_t *st) {
  size_t i = 0;
  while (i < n) {
    size_t take = n - i >= ADD_BIG ? ADD_BIG : 1;
    ps_params_t p;
    ps_params_init(&p);
    for (size_t k = i; k < i + take; k++) {
      ps_param_str(&p, tenant);
      ps_param_id(&p, &rows[k].id);
      ps_param_time(&p, now_us);
    }
    if (!ps_db_exec(db, take == ADD_BIG ? &Q_ADD32 : &Q_ADD1, &p, st)) return -1;
    i += take;
  }
  return 0;
}

int ps_store_index_queue_delete(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_DELETE, &p, st) ? 0 : -1;
}

/* The first tenant after `after` with a free queued id into ret ("" when none). */
static int next_tenant(ps_db_t *db, ps_arena_t *a, const char *after, char *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, after);
  MYSQL_STMT *s = ps_db_exec(db, &Q_NEXT_TENANT, &p, st);
  if (!s) return -1;
  char *t = NULL;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &t);
  int rc;
  ret[0] = 0;
  while ((rc = ps_db_fetch(db, s, &r, a, st)) == 1) snprintf(ret, PS_TENANT_MAX + 1, "%s", t);
  return rc < 0 ? -1 : 0;
}

typedef struct step {
  ps_arena_t *a;
  const char *after;
  int limit;
  ps_index_queue_batch_t *ret;
} step_t;

/* Binds the tenant and up to IDS ids from ids[0..n), the last repeated. */
static void bind_ids(ps_params_t *p, const char *tenant, const ps_id_t *ids, int n) {
  ps_params_init(p);
  ps_param_str(p, tenant);
  for (int i = 0; i < IDS; i++) ps_param_id(p, &ids[i < n ? i : n - 1]);
}

/* The batch: its queued ids locked (taken), then their records locked FOR UPDATE and read, their
 * old terms (a record updated meanwhile has some) deleted, the terms of their current columns
 * written, and the queue rows deleted. */
static int step_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  step_t *x = arg;
  ps_index_queue_batch_t *b = x->ret;
  memset(b, 0, sizeof *b);
  if (next_tenant(db, x->a, x->after, b->tenant, st) != 0) return -1;
  if (!b->tenant[0] && x->after[0] && next_tenant(db, x->a, "", b->tenant, st) != 0) return -1;
  if (!b->tenant[0]) return 0;
  ps_id_t *ids = ps_arena_alloc(x->a, sizeof *ids * (size_t)x->limit);
  ps_prospect_cols_t *rows = ps_arena_alloc(x->a, sizeof *rows * (size_t)x->limit);
  if (!ids || !rows) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, b->tenant);
  ps_param_i64(&p, x->limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_TAKE, &p, st);
  if (!s) return -1;
  ps_id_t id;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_id(&r, &id);
  int rc;
  while ((rc = ps_db_fetch(db, s, &r, NULL, st)) == 1) /* read whole: one result set at a time */
    if (b->rows < x->limit) ids[b->rows++] = id;
  if (rc < 0) return -1;
  ps_prospect_cols_t c;
  ps_row_init(&r);
  ps_store_prospect_bind(&r, &c);
  for (int i = 0; i < b->rows; i++) { /* the records that still exist (not merged, erased) */
    ps_params_init(&p);
    ps_param_str(&p, b->tenant);
    ps_param_id(&p, &ids[i]);
    if (!(s = ps_db_exec(db, &Q_LOCK_ROW, &p, st))) return -1;
    while ((rc = ps_db_fetch(db, s, &r, x->a, st)) == 1)
      if (b->indexed < b->rows) rows[b->indexed++] = c;
    if (rc < 0) return -1;
  }
  /* the records are locked now: no writer adds index rows to them until this commits */
  ps_id_t *stale = ps_arena_alloc(x->a, sizeof *stale * (size_t)x->limit);
  if (!stale) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  int n_stale = 0;
  ps_row_init(&r);
  ps_col_id(&r, &id);
  for (int i = 0; i < b->rows; i += IDS) {
    bind_ids(&p, b->tenant, ids + i, b->rows - i < IDS ? b->rows - i : IDS);
    if (!(s = ps_db_exec(db, &Q_HAS_TERMS, &p, st))) return -1;
    while ((rc = ps_db_fetch(db, s, &r, NULL, st)) == 1)
      if (n_stale < x->limit) stale[n_stale++] = id;
    if (rc < 0) return -1;
  }
  for (int i = 0; i < n_stale; i += IDS) {
    bind_ids(&p, b->tenant, stale + i, n_stale - i < IDS ? n_stale - i : IDS);
    if (!ps_db_exec(db, &Q_UNINDEX, &p, st)) return -1;
  }
  if (b->indexed && ps_store_import_terms(db, x->a, b->tenant, rows, (size_t)b->indexed, st) != 0)
    return -1;
  for (int i = 0; i < b->rows; i++)
    if (ps_store_index_queue_delete(db, b->tenant, &ids[i], st) != 0) return -1;
  return 0;
}

int ps_store_index_queue_step(ps_db_t *db, ps_arena_t *a, const char *after_tenant, int limit,
                              ps_index_queue_batch_t *ret, ps_status_t *st) {
  step_t x = {.a = a, .after = after_tenant, .limit = limit < 1 ? 1 : limit, .ret = ret};
  if (ps_db_tx(db, step_tx, &x, st) != 0) {
    memset(ret, 0, sizeof *ret);
    return -1;
  }
  return 0;
}

int ps_store_index_queue_depth(ps_db_t *db, uint64_t cap, uint64_t *ret, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_i64(&p, (int64_t)cap);
  int64_t n = 0, estimate = 0;
  if (ps_db_query_i64(db, &Q_DEPTH, &p, &n, st) != 0) return -1;
  if ((uint64_t)n >= cap && ps_db_query_i64(db, &Q_DEPTH_ESTIMATE, NULL, &estimate, st) != 0)
    return -1;
  if (estimate > n) n = estimate;
  *ret = n < 0 ? 0 : (uint64_t)n;
  return 0;
}
