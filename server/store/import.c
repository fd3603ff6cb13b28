/* Bulk writes of an import. */
#include "store/import.h"

#include <stdlib.h>
#include <string.h>

#include "store/index_queue.h"
#include "store/search.h"

#define P1 PS_PROSPECT_INSERT_ROW
#define P2 P1 ", " P1
#define P4 P2 ", " P2
#define P8 P4 ", " P4
#define ROWS_BIG 8

#define C1 PS_CONTACT_INSERT_ROW
#define C2 C1 ", " C1
#define C4 C2 ", " C2
#define C8 C4 ", " C4
#define C16 C8 ", " C8
#define CONTACTS_BIG 16

#define T1 "(?, ?, ?, ?, ?)"
#define T2 T1 ", " T1
#define T4 T2 ", " T2
#define T8 T4 ", " T4
#define T16 T8 ", " T8
#define T32 T16 ", " T16
#define TERMS_BIG 32

#define P_INSERT "INSERT INTO prospects (" PS_PROSPECT_INSERT_COLUMNS ") VALUES "
#define C_INSERT "INSERT INTO contact_persons (" PS_CONTACT_INSERT_COLUMNS ") VALUES "
static ps_sql_t Q_P1 = PS_SQL(P_INSERT P1);
static ps_sql_t Q_P8 = PS_SQL(P_INSERT P8);
static ps_sql_t Q_C1 = PS_SQL(C_INSERT C1);
static ps_sql_t Q_C16 = PS_SQL(C_INSERT C16);
/* records without terms (new ids, or their terms just deleted): a plain INSERT */
static ps_sql_t Q_T1 = PS_SQL(
    "INSERT INTO prospect_terms (tenant_id, term, state, id, display_name) VALUES " T1);
static ps_sql_t Q_T32 = PS_SQL(
    "INSERT INTO prospect_terms (tenant_id, term, state, id, display_name) VALUES " T32);

/* Index terms waiting for a full statement. */
typedef struct term_batch {
  int n;
  const char *term[TERMS_BIG];
  const ps_prospect_cols_t *row[TERMS_BIG];
} term_batch_t;

static int terms_flush(ps_db_t *db, const char *tenant, term_batch_t *b, ps_status_t *st) {
  for (int i = 0; i < b->n;) {
    int take = b->n - i == TERMS_BIG ? TERMS_BIG : 1;
    ps_params_t p;
    ps_params_init(&p);
    for (int k = i; k < i + take; k++) {
      ps_param_str(&p, tenant);
      ps_param_str(&p, b->term[k]);
      ps_param_i64(&p, b->row[k]->state);
      ps_param_id(&p, &b->row[k]->id);
      ps_param_str(&p, b->row[k]->display_name);
    }
    if (!ps_db_exec(db, take == TERMS_BIG ? &Q_T32 : &Q_T1, &p, st)) return -1;
    i += take;
  }
  b->n = 0;
  return 0;
}

typedef struct term_ref {
  const char *term;
  const ps_prospect_cols_t *row;
} term_ref_t;

static int term_cmp(const void *x, const void *y) {
  return strcmp(((const term_ref_t *)x)->term, ((const term_ref_t *)y)->term);
}

/* The index terms of rows, written in the order of the index (term first): neighbouring rows of a
 * statement land on the same pages of prospect_terms. */
int ps_store_import_terms(ps_db_t *db, ps_arena_t *a, const char *tenant,
                          const ps_prospect_cols_t *rows, size_t n, ps_status_t *st) {
  static __thread ps_search_terms_t t; /* 32 KiB: kept off the worker's stack */
  size_t cap = n * 24, used = 0;
  term_ref_t *refs = ps_arena_alloc(a, sizeof *refs * cap);
  if (!refs) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory writing the import.");
  for (size_t i = 0; i < n; i++) {
    ps_search_record_terms(&rows[i], &t);
    for (int k = 0; k < t.n; k++) {
      if (used == cap) {
        term_ref_t *more = ps_arena_alloc(a, sizeof *refs * cap * 2);
        if (!more) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory writing the import.");
        memcpy(more, refs, sizeof *refs * used);
        refs = more;
        cap *= 2;
      }
      const char *s = ps_arena_strdup(a, t.term[k]);
      if (!s) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory writing the import.");
      refs[used].term = s;
      refs[used++].row = &rows[i];
    }
  }
  qsort(refs, used, sizeof *refs, term_cmp);
  term_batch_t b;
  b.n = 0;
  for (size_t i = 0; i < used; i++) {
    if (b.n == TERMS_BIG && terms_flush(db, tenant, &b, st) != 0) return -1;
    b.term[b.n] = refs[i].term;
    b.row[b.n++] = refs[i].row;
  }
  return terms_flush(db, tenant, &b, st);
}

int ps_store_import_insert(ps_db_t *db, ps_arena_t *a, const char *tenant,
                           const ps_prospect_cols_t *rows, size_t n,
                           const ps_contact_cols_t *contacts, size_t n_contacts, int index_now,
                           ps_status_t *st) {
  static __thread ps_prospect_norms_t nf[ROWS_BIG]; /* 20 KiB: kept off the worker's stack */
  ps_params_t p;
  size_t i = 0;
  while (i < n) {
    size_t take = n - i >= ROWS_BIG ? ROWS_BIG : 1;
    ps_params_init(&p);
    for (size_t k = 0; k < take; k++) ps_store_prospect_bind_insert(&p, tenant, &rows[i + k], &nf[k]);
    if (!ps_db_exec(db, take == ROWS_BIG ? &Q_P8 : &Q_P1, &p, st)) return -1;
    i += take;
  }
  if (index_now ? ps_store_import_terms(db, a, tenant, rows, n, st)
                : ps_store_index_queue_add(db, tenant, rows, n, ps_db_now_us(), st))
    return -1;
  i = 0;
  while (i < n_contacts) {
    size_t take = n_contacts - i >= CONTACTS_BIG ? CONTACTS_BIG : 1;
    ps_params_init(&p);
    for (size_t k = 0; k < take; k++) ps_store_contact_bind_insert(&p, tenant, &contacts[i + k]);
    if (!ps_db_exec(db, take == CONTACTS_BIG ? &Q_C16 : &Q_C1, &p, st)) return -1;
    i += take;
  }
  return 0;
}
