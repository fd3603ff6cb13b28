/* The jobs of the reindex and their rows in reindex_progress (see store/reindex.h). */
#include "store/reindex.h"

#include <stdio.h>
#include <string.h>

#include "core/normalize.h"
#include "store/prospects.h"
#include "store/search.h"

/* ------------------------------------------------------------------------------ job rows */

#define JOB_COLUMNS                                                                              \
  "version, cursor_tenant, cursor_id, rows_total, rows_done, rows_rebuilt, batches, start_time," \
  " update_time, finish_time"
static ps_sql_t Q_JOB_READ = PS_SQL("SELECT " JOB_COLUMNS " FROM reindex_progress WHERE job = ?");
static ps_sql_t Q_JOB_LOCK = PS_SQL(
    "SELECT " JOB_COLUMNS " FROM reindex_progress WHERE job = ? FOR UPDATE");
static ps_sql_t Q_JOB_INSERT = PS_SQL(
    "INSERT INTO reindex_progress (job, version, rows_total, worker, start_time, update_time)"
    " VALUES (?, ?, ?, ?, ?, ?)");
static ps_sql_t Q_JOB_RESTART = PS_SQL(
    "UPDATE reindex_progress SET version = ?, cursor_tenant = '', cursor_id = ?, rows_total = ?,"
    " rows_done = 0, rows_rebuilt = 0, batches = 0, worker = ?, start_time = ?, update_time = ?,"
    " finish_time = NULL WHERE job = ?");
static ps_sql_t Q_JOB_ADVANCE = PS_SQL(
    "UPDATE reindex_progress SET cursor_tenant = ?, cursor_id = ?, rows_done = rows_done + ?,"
    " rows_rebuilt = rows_rebuilt + ?, batches = batches + 1, worker = ?, update_time = ?,"
    " finish_time = ? WHERE job = ?");

/* The lock of a job in this database: GET_LOCK names are global to the MariaDB server, and at most
 * 64 characters long, hence the hash of the database and job names. */
#define LOCK_NAME "CONCAT('prospects.reindex.', SHA1(CONCAT(DATABASE(), '/', ?)))"
static ps_sql_t Q_LOCK = PS_SQL("SELECT GET_LOCK(" LOCK_NAME ", 0)");
static ps_sql_t Q_UNLOCK = PS_SQL("SELECT RELEASE_LOCK(" LOCK_NAME ")");

static const ps_id_t zero_id = {{0}};

/* Reads the job row of the statement just run (s) into *ret. */
static int fetch_state(ps_db_t *db, MYSQL_STMT *s, ps_reindex_state_t *ret, ps_status_t *st) {
  ps_arena_t a;
  if (ps_arena_init(&a, 256) != 0) {
    ps_arena_destroy(&a);
    return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  }
  ps_reindex_state_t x;
  memset(&x, 0, sizeof x);
  int64_t version = 0;
  char *tenant = NULL;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_i64(&r, &version);
  ps_col_str(&r, &tenant);
  ps_col_id(&r, &x.cursor_id);
  ps_col_u64(&r, &x.rows_total);
  ps_col_u64(&r, &x.rows_done);
  ps_col_u64(&r, &x.rows_rebuilt);
  ps_col_u64(&r, &x.batches);
  ps_col_time(&r, &x.start_us);
  ps_col_time(&r, &x.update_us);
  ps_col_time(&r, &x.finish_us);
  int rc = ps_db_fetch(db, s, &r, &a, st);
  if (rc == 1) {
    x.exists = 1;
    x.version = (uint32_t)version;
    snprintf(x.cursor_tenant, sizeof x.cursor_tenant, "%s", tenant);
    x.finished = x.finish_us != 0;
    while ((rc = ps_db_fetch(db, s, &r, &a, st)) == 1) { /* one row: the primary key */
    }
  }
  ps_arena_destroy(&a);
  if (rc < 0) return -1;
  *ret = x;
  return 0;
}

static int read_state(ps_db_t *db, ps_sql_t *q, const char *job, ps_reindex_state_t *ret,
                      ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, job);
  MYSQL_STMT *s = ps_db_exec(db, q, &p, st);
  if (!s) return -1;
  return fetch_state(db, s, ret, st);
}

int ps_store_reindex_read(ps_db_t *db, const char *job, ps_reindex_state_t *ret, ps_status_t *st) {
  return read_state(db, &Q_JOB_READ, job, ret, st);
}

typedef struct begin_tx {
  const ps_reindex_job_t *job;
  const char *worker;
  uint64_t total;
  ps_reindex_state_t state; /* out */
} begin_tx_t;

static int begin_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  begin_tx_t *t = arg;
  if (read_state(db, &Q_JOB_LOCK, t->job->name, &t->state, st) != 0) return -1;
  if (t->state.exists && t->state.version >= t->job->version) return 0; /* running, done or newer */
  int64_t now = ps_db_now_us();
  ps_params_t p;
  ps_params_init(&p);
  if (!t->state.exists) {
    ps_param_str(&p, t->job->name);
    ps_param_i64(&p, t->job->version);
    ps_param_u64(&p, t->total);
    ps_param_str(&p, t->worker);
    ps_param_time(&p, now);
    ps_param_time(&p, now);
    if (!ps_db_exec(db, &Q_JOB_INSERT, &p, st)) return -1;
  } else {
    ps_param_i64(&p, t->job->version);
    ps_param_id(&p, &zero_id);
    ps_param_u64(&p, t->total);
    ps_param_str(&p, t->worker);
    ps_param_time(&p, now);
    ps_param_time(&p, now);
    ps_param_str(&p, t->job->name);
    if (!ps_db_exec(db, &Q_JOB_RESTART, &p, st)) return -1;
  }
  memset(&t->state, 0, sizeof t->state);
  t->state.exists = 1;
  t->state.version = t->job->version;
  t->state.rows_total = t->total;
  t->state.start_us = t->state.update_us = now;
  return 0;
}

int ps_store_reindex_begin(ps_db_t *db, const ps_reindex_job_t *job, const char *worker,
                           ps_reindex_state_t *ret, ps_status_t *st) {
  begin_tx_t t;
  memset(&t, 0, sizeof t);
  t.job = job;
  t.worker = worker;
  /* counted before the transaction: a long count holds no lock */
  if (job->count(db, &t.total, st) != 0) return -1;
  if (ps_db_tx(db, begin_tx, &t, st) != 0) return -1;
  *ret = t.state;
  return 0;
}

typedef struct step_tx {
  ps_arena_t *a;
  const ps_reindex_job_t *job;
  int limit;
  const char *worker;
  ps_reindex_state_t state; /* out */
  ps_reindex_batch_t batch; /* out */
} step_tx_t;

static int step_tx(ps_db_t *db, void *arg, ps_status_t *st) {
  step_tx_t *t = arg;
  memset(&t->batch, 0, sizeof t->batch);
  if (read_state(db, &Q_JOB_LOCK, t->job->name, &t->state, st) != 0) return -1;
  ps_reindex_state_t *x = &t->state;
  if (!x->exists || x->version != t->job->version || x->finished) return 0; /* the caller sees why */
  ps_reindex_batch_t *b = &t->batch;
  if (t->job->batch(db, t->a, x->version, x->cursor_tenant, &x->cursor_id, t->limit, b, st) != 0)
    return -1;
  int64_t now = ps_db_now_us();
  int finished = b->finished;
  snprintf(x->cursor_tenant, sizeof x->cursor_tenant, "%s", b->last_tenant);
  x->cursor_id = b->last_id;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, x->cursor_tenant);
  ps_param_id(&p, &x->cursor_id);
  ps_param_i64(&p, b->rows);
  ps_param_i64(&p, b->rebuilt);
  ps_param_str(&p, t->worker);
  ps_param_time(&p, now);
  if (finished) ps_param_time(&p, now);
  else ps_param_null(&p);
  ps_param_str(&p, t->job->name);
  if (!ps_db_exec(db, &Q_JOB_ADVANCE, &p, st)) return -1;
  x->rows_done += (uint64_t)b->rows;
  x->rows_rebuilt += (uint64_t)b->rebuilt;
  x->batches++;
  x->update_us = now;
  if (finished) {
    x->finished = 1;
    x->finish_us = now;
  }
  return 0;
}

int ps_store_reindex_step(ps_db_t *db, ps_arena_t *a, const ps_reindex_job_t *job, int limit,
                          const char *worker, ps_reindex_state_t *ret_state,
                          ps_reindex_batch_t *ret_batch, ps_status_t *st) {
  step_tx_t t;
  memset(&t, 0, sizeof t);
  t.a = a;
  t.job = job;
  t.limit = limit > 0 ? limit : 1;
  t.worker = worker;
  if (ps_db_tx(db, step_tx, &t, st) != 0) return -1;
  *ret_state = t.state;
  *ret_batch = t.batch;
  return 0;
}

int ps_store_reindex_lock(ps_db_t *db, const char *job, int *ret_got, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, job);
  MYSQL_STMT *s = ps_db_exec(db, &Q_LOCK, &p, st);
  if (!s) return -1;
  int got = 0; /* NULL (an error in GET_LOCK) reads as 0: not held */
  ps_row_t r;
  ps_row_init(&r);
  ps_col_int(&r, &got);
  if (ps_db_fetch(db, s, &r, NULL, st) < 0) return -1;
  *ret_got = got == 1;
  return 0;
}

void ps_store_reindex_unlock(ps_db_t *db, const char *job) {
  ps_status_t st;
  ps_status_clear(&st);
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, job);
  MYSQL_STMT *s = ps_db_exec(db, &Q_UNLOCK, &p, &st);
  if (!s) return; /* the connection is gone, and the lock with it */
  int released = 0;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_int(&r, &released);
  ps_db_fetch(db, s, &r, NULL, &st);
}

/* ------------------------------------------------------------------------------ prospect_norms */

/* A batch holds rows of one tenant: their keys after the cursor in primary-key order (a plain read,
 * for the cursor), then those of an older version among them locked FOR UPDATE with their stored
 * forms. READ COMMITTED: the rows the norm_version condition leaves out are not kept locked. Rows
 * inserted in the range in between are of the current version (every write sets it), or, written
 * by an older server during a rolling update, locked and rebuilt with the rest. When a tenant has
 * no rows left, the next tenant is found: the one statement of the job that reads more than one
 * tenant (one key of the primary key's first column). */
static ps_sql_t Q_NORMS_KEYS = PS_SQL(
    "SELECT id FROM prospects FORCE INDEX (PRIMARY) WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?");
static ps_sql_t Q_NORMS_ROWS = PS_SQL(
    "SELECT email_norm, vat_norm, phone_norm, name_key, " PS_PROSPECT_COLUMNS
    " FROM prospects FORCE INDEX (PRIMARY) WHERE tenant_id = ? AND id > ? AND id <= ?"
    " AND norm_version < ? ORDER BY id FOR UPDATE");
static ps_sql_t Q_NORMS_NEXT_TENANT = PS_SQL(
    "SELECT tenant_id FROM prospects WHERE tenant_id > ? ORDER BY tenant_id LIMIT 1");
/* The rows of prospects for the job's progress: counted when InnoDB's own figure (kept up to date
 * by every insert and delete, an estimate after a restart) is below COUNT_EXACT_MAX, else that
 * figure. A count of a bigger table could take longer than the connection's read timeout. */
#define COUNT_EXACT_MAX 1000000
static ps_sql_t Q_NORMS_ESTIMATE = PS_SQL(
    "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"
    " AND TABLE_NAME = 'prospects'");
static ps_sql_t Q_NORMS_COUNT = PS_SQL("SELECT COUNT(*) FROM prospects");

static int norms_count(ps_db_t *db, uint64_t *ret, ps_status_t *st) {
  int64_t n = 0;
  if (ps_db_query_i64(db, &Q_NORMS_ESTIMATE, NULL, &n, st) != 0) return -1;
  if (n < COUNT_EXACT_MAX && ps_db_query_i64(db, &Q_NORMS_COUNT, NULL, &n, st) != 0) return -1;
  *ret = n < 0 ? 0 : (uint64_t)n;
  return 0;
}

/* The word index rows of the batch's records (prospect_terms_by_prospect holds (tenant_id, id)
 * first, so they are one range too), read once the records are locked: every writer of a record's
 * terms locks the record first. And the records whose forms are current already but whose
 * norm_version is old, marked MARK_IDS a statement (a smaller group repeats its last id). */
static ps_sql_t Q_NORMS_TERMS = PS_SQL(
    "SELECT id, term, state, display_name FROM prospect_terms FORCE INDEX (prospect_terms_by_prospect)"
    " WHERE tenant_id = ? AND id > ? AND id <= ? ORDER BY id");
#define MARK_IDS 48
#define IDS8 "?, ?, ?, ?, ?, ?, ?, ?"
static ps_sql_t Q_NORMS_MARK = PS_SQL(
    "UPDATE prospects SET norm_version = ? WHERE tenant_id = ? AND id IN (" IDS8 ", " IDS8 ", " IDS8
    ", " IDS8 ", " IDS8 ", " IDS8 ")");
_Static_assert(MARK_IDS == 6 * 8 && MARK_IDS + 2 <= PS_DB_MAX_PARAMS, "Q_NORMS_MARK's ids");

/* A locked row of an older version, with the forms stored in it. */
typedef struct old_row {
  char *email_norm, *vat_norm, *phone_norm, *name_key;
  ps_prospect_cols_t c;
} old_row_t;

/* One word index row. */
typedef struct term_row {
  ps_id_t id;
  char *term;
  int state;
  char *name;
} term_row_t;

/* 1 when rows[0..n) are the terms ps_store_search_index writes for c: the same terms, each once,
 * with c's state and display name. */
static int terms_current(const ps_prospect_cols_t *c, const term_row_t *rows, int n) {
  static __thread ps_search_terms_t t; /* 32 KiB: kept off the thread's stack */
  ps_search_record_terms(c, &t);
  if (n != t.n) return 0;
  unsigned char seen[PS_SEARCH_RECORD_TERMS];
  memset(seen, 0, sizeof seen);
  for (int r = 0; r < n; r++) {
    if (rows[r].state != c->state || strcmp(rows[r].name, c->display_name) != 0) return 0;
    int i = 0;
    while (i < t.n && strcmp(t.term[i], rows[r].term) != 0) i++;
    if (i == t.n || seen[i]) return 0;
    seen[i] = 1;
  }
  return 1;
}

/* Marks the n records of tenant (ids) as built by version. */
static int mark_current(ps_db_t *db, uint32_t version, const char *tenant, const ps_id_t *ids, int n,
                        ps_status_t *st) {
  if (n == 0) return 0;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_i64(&p, version);
  ps_param_str(&p, tenant);
  for (int i = 0; i < MARK_IDS; i++) ps_param_id(&p, &ids[i < n ? i : n - 1]);
  return ps_db_exec(db, &Q_NORMS_MARK, &p, st) ? 0 : -1;
}

/* Binds tenant and the ids after `after` up to and including `last`, as the statements above name
 * them. */
static void bind_range(ps_params_t *p, const char *tenant, const ps_id_t *after, const ps_id_t *last) {
  ps_param_str(p, tenant);
  ps_param_id(p, after);
  ps_param_id(p, last);
}

/* Rebuilds the records of tenant in (after, last] of an older version. */
static int norms_rebuild(ps_db_t *db, ps_arena_t *a, uint32_t version, const char *tenant,
                         const ps_id_t *after, const ps_id_t *last, int rows, int *ret_rebuilt,
                         ps_status_t *st) {
  /* those of an older version, locked */
  old_row_t *old = ps_arena_alloc(a, sizeof *old * (size_t)rows);
  if (!old) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  ps_params_t p;
  ps_params_init(&p);
  bind_range(&p, tenant, after, last);
  ps_param_i64(&p, version);
  MYSQL_STMT *s = ps_db_exec(db, &Q_NORMS_ROWS, &p, st);
  if (!s) return -1;
  old_row_t o;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &o.email_norm);
  ps_col_str(&r, &o.vat_norm);
  ps_col_str(&r, &o.phone_norm);
  ps_col_str(&r, &o.name_key);
  ps_store_prospect_bind(&r, &o.c);
  int n = 0, cap = rows;
  for (;;) { /* read whole before the rows are written: one result set at a time */
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n == cap) { /* rows inserted in the range since the keys were read */
      old_row_t *more = ps_arena_alloc(a, sizeof *more * (size_t)cap * 2);
      if (!more) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
      memcpy(more, old, sizeof *old * (size_t)n);
      old = more;
      cap *= 2;
    }
    old[n++] = o;
  }
  if (n == 0) return 0;

  /* their word index rows (and those of the current records in the range, skipped below) */
  ps_params_init(&p);
  bind_range(&p, tenant, after, last);
  if (!(s = ps_db_exec(db, &Q_NORMS_TERMS, &p, st))) return -1;
  term_row_t tr, *terms = NULL;
  int n_terms = 0, terms_cap = 0;
  ps_row_init(&r);
  ps_col_id(&r, &tr.id);
  ps_col_str(&r, &tr.term);
  ps_col_int(&r, &tr.state);
  ps_col_str(&r, &tr.name);
  for (;;) {
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n_terms == terms_cap) {
      int more_cap = terms_cap ? 2 * terms_cap : 32 * n;
      term_row_t *more = ps_arena_alloc(a, sizeof *more * (size_t)more_cap);
      if (!more) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
      if (n_terms) memcpy(more, terms, sizeof *terms * (size_t)n_terms);
      terms = more;
      terms_cap = more_cap;
    }
    terms[n_terms++] = tr;
  }

  /* each record: its forms rewritten when they changed, its terms when they differ, else only
   * its norm_version raised */
  static __thread ps_prospect_norms_t nf; /* 2.5 KiB: kept off the thread's stack */
  ps_id_t mark[MARK_IDS];
  int n_mark = 0, t = 0;
  for (int i = 0; i < n; i++) {
    const old_row_t *row = &old[i];
    while (t < n_terms && memcmp(terms[t].id.b, row->c.id.b, 16) < 0) t++;
    int t_end = t;
    while (t_end < n_terms && memcmp(terms[t_end].id.b, row->c.id.b, 16) == 0) t_end++;
    ps_store_prospect_norms(&row->c, &nf);
    int norms_changed = strcmp(nf.email, row->email_norm) != 0 || strcmp(nf.vat, row->vat_norm) != 0 ||
                        strcmp(nf.phone, row->phone_norm) != 0 || strcmp(nf.name_key, row->name_key) != 0;
    int terms_changed = !terms_current(&row->c, terms + t, t_end - t);
    t = t_end;
    if (norms_changed || terms_changed) (*ret_rebuilt)++;
    if (terms_changed && ps_store_search_index(db, tenant, &row->c, 1, st) != 0) return -1;
    if (norms_changed) {
      if (ps_store_prospect_set_norms(db, tenant, &row->c, st) != 0) return -1;
      continue;
    }
    if (n_mark == MARK_IDS) {
      if (mark_current(db, version, tenant, mark, n_mark, st) != 0) return -1;
      n_mark = 0;
    }
    mark[n_mark++] = row->c.id;
  }
  return mark_current(db, version, tenant, mark, n_mark, st);
}

static int norms_batch(ps_db_t *db, ps_arena_t *a, uint32_t version, const char *after_tenant,
                       const ps_id_t *after_id, int limit, ps_reindex_batch_t *ret,
                       ps_status_t *st) {
  ret->rows = ret->rebuilt = ret->finished = 0;
  snprintf(ret->last_tenant, sizeof ret->last_tenant, "%s", after_tenant);
  ret->last_id = *after_id;
  /* the next `limit` records of the cursor's tenant ("": none, the walk has not started) */
  if (after_tenant[0]) {
    ps_params_t p;
    ps_params_init(&p);
    ps_param_str(&p, after_tenant);
    ps_param_id(&p, after_id);
    ps_param_i64(&p, limit);
    MYSQL_STMT *s = ps_db_exec(db, &Q_NORMS_KEYS, &p, st);
    if (!s) return -1;
    ps_id_t id;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    for (;;) {
      int rc = ps_db_fetch(db, s, &r, NULL, st);
      if (rc < 0) return -1;
      if (rc == 0) break;
      ret->rows++;
      ret->last_id = id;
    }
    if (ret->rows > 0 &&
        norms_rebuild(db, a, version, after_tenant, after_id, &ret->last_id, ret->rows,
                      &ret->rebuilt, st) != 0)
      return -1;
  }
  if (ret->rows == limit) return 0;
  /* the tenant has no more: the next one starts at its first record, or the table is done */
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, after_tenant);
  MYSQL_STMT *s = ps_db_exec(db, &Q_NORMS_NEXT_TENANT, &p, st);
  if (!s) return -1;
  char *next = NULL;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_str(&r, &next);
  int rc, found = 0;
  while ((rc = ps_db_fetch(db, s, &r, a, st)) == 1) found = 1;
  if (rc < 0) return -1;
  if (!found) {
    ret->finished = 1;
    return 0;
  }
  snprintf(ret->last_tenant, sizeof ret->last_tenant, "%s", next);
  memset(&ret->last_id, 0, sizeof ret->last_id);
  return 0;
}

const ps_reindex_job_t ps_store_reindex_norms = {
    .name = "prospect_norms",
    .what = "the normal forms and word index of prospects",
    .version = PS_NORM_VERSION,
    .count = norms_count,
    .batch = norms_batch,
};
