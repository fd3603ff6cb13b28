/* The word index of the overview (prospect_terms), the overview query and the duplicate lookups. */
#include "store/search.h"

#include <stdint.h>
#include <string.h>

#include "core/normalize.h"
#include "core/validate.h"

/* ------------------------------------------------------------------------------ words (pure) */

/* Bytes of the first k characters of s[0..n) (valid UTF-8). */
static size_t char_prefix(const char *s, size_t n, size_t k) {
  size_t chars = 0;
  for (size_t i = 0; i < n; i++) {
    if (((unsigned char)s[i] & 0xC0) != 0x80) {
      if (chars == k) return i;
      chars++;
    }
  }
  return n;
}

static size_t char_count(const char *s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xC0) != 0x80) chars++;
  return chars;
}

static void add_term(ps_search_terms_t *t, const char *s, size_t n) {
  if (n == 0 || n >= PS_SEARCH_TERM_BYTES || t->n >= PS_SEARCH_TERMS_MAX) return;
  for (int i = 0; i < t->n; i++)
    if (strncmp(t->term[i], s, n) == 0 && t->term[i][n] == '\0') return;
  memcpy(t->term[t->n], s, n);
  t->term[t->n][n] = '\0';
  t->n++;
}

static void add_word(ps_search_terms_t *t, const char *w, size_t n) {
  n = char_prefix(w, n, PS_SEARCH_WORD_MAX);
  for (size_t k = 1; k <= PS_SEARCH_PREFIX_MAX; k++) {
    size_t b = char_prefix(w, n, k);
    add_term(t, w, b);
    if (b == n) return;
  }
  add_term(t, w, n);
}

/* Calls fn for each word of text in normal form. */
static void each_word(const char *text, void (*fn)(void *, const char *, size_t), void *arg) {
  char norm[2048];
  size_t n = ps_norm_name(text, norm, sizeof norm);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && norm[j] != ' ') j++;
    if (j > i) fn(arg, norm + i, j - i);
    i = j + 1;
  }
}

static void add_word_cb(void *arg, const char *w, size_t n) { add_word(arg, w, n); }

static void add_text(ps_search_terms_t *t, const char *text) {
  if (text && *text) each_word(text, add_word_cb, t);
}

/* text with every '.' turned into a space ("jan.jansen@example.com": jan jansen example com). */
static void add_text_dots_split(ps_search_terms_t *t, const char *text) {
  if (!text || !strchr(text, '.')) return;
  char buf[1024];
  size_t n = strlen(text);
  if (n >= sizeof buf) n = sizeof buf - 1;
  memcpy(buf, text, n);
  buf[n] = '\0';
  for (char *p = buf; *p; p++)
    if (*p == '.') *p = ' ';
  add_text(t, buf);
}

void ps_search_record_terms(const ps_prospect_cols_t *c, ps_search_terms_t *ret) {
  ret->n = 0;
  add_text(ret, c->display_name);
  add_text(ret, c->company_name);
  add_text(ret, c->city);
  add_text(ret, c->email);
  add_text_dots_split(ret, c->email);
  add_text(ret, c->vat_number);
  char vat[256];
  size_t vn = ps_norm_vat(c->vat_number, c->country_code, vat, sizeof vat);
  if (vn) {
    add_text(ret, vat);
    int letters = vn > 2 && vat[0] >= 'A' && vat[0] <= 'Z' && vat[1] >= 'A' && vat[1] <= 'Z';
    if (letters) add_text(ret, vat + 2);
  }
}

#define QUERY_WORDS_SCAN 64

typedef struct qwords {
  int n;          /* distinct words collected */
  int overflow;   /* more than QUERY_WORDS_SCAN distinct words */
  char w[QUERY_WORDS_SCAN][PS_SEARCH_TERM_BYTES];
} qwords_t;

static void add_query_word(void *arg, const char *w, size_t n) {
  qwords_t *q = arg;
  n = char_prefix(w, n, PS_SEARCH_WORD_MAX);
  for (int i = 0; i < q->n; i++)
    if (strncmp(q->w[i], w, n) == 0 && q->w[i][n] == '\0') return;
  if (q->n == QUERY_WORDS_SCAN) {
    q->overflow = 1;
    return;
  }
  memcpy(q->w[q->n], w, n);
  q->w[q->n][n] = '\0';
  q->n++;
}

int ps_search_query_words(const char *query, char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES],
                          int *ret_n) {
  static __thread qwords_t q; /* 8 KiB: kept off the worker's stack */
  q.n = 0;
  q.overflow = 0;
  if (query && *query) each_word(query, add_query_word, &q);
  if (q.overflow) return -1;
  /* a word that starts another query word adds nothing: "jan jansen" is "jansen" */
  int keep[QUERY_WORDS_SCAN], n_keep = 0;
  for (int i = 0; i < q.n; i++) {
    size_t li = strlen(q.w[i]);
    int redundant = 0;
    for (int j = 0; j < q.n && !redundant; j++)
      if (j != i && strlen(q.w[j]) > li && strncmp(q.w[j], q.w[i], li) == 0) redundant = 1;
    if (!redundant) keep[n_keep++] = i;
  }
  if (n_keep > PS_SEARCH_QUERY_WORDS) return -1;
  /* longest (in characters) first, stable: it drives the lookup */
  for (int a = 1; a < n_keep; a++) {
    int v = keep[a], b = a;
    size_t cv = char_count(q.w[v], strlen(q.w[v]));
    while (b > 0 && char_count(q.w[keep[b - 1]], strlen(q.w[keep[b - 1]])) < cv) {
      keep[b] = keep[b - 1];
      b--;
    }
    keep[b] = v;
  }
  for (int i = 0; i < n_keep; i++) memcpy(ret[i], q.w[keep[i]], strlen(q.w[keep[i]]) + 1);
  *ret_n = n_keep;
  return 0;
}

/* ------------------------------------------------------------------------------ index rows */

#define TERMS_PER_INSERT 8

static ps_sql_t Q_TERMS_INSERT = PS_SQL(
    "INSERT INTO prospect_terms (tenant_id, term, state, id, display_name) VALUES"
    " (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?),"
    " (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE display_name = VALUES(display_name)");
static ps_sql_t Q_TERMS_DELETE = PS_SQL(
    "DELETE FROM prospect_terms WHERE tenant_id = ? AND id = ?");

int ps_store_search_unindex(ps_db_t *db, const char *tenant, const ps_id_t *id, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_id(&p, id);
  return ps_db_exec(db, &Q_TERMS_DELETE, &p, st) ? 0 : -1;
}

int ps_store_search_index(ps_db_t *db, const char *tenant, const ps_prospect_cols_t *c, int replace,
                          ps_status_t *st) {
  if (replace && ps_store_search_unindex(db, tenant, &c->id, st) != 0) return -1;
  static __thread ps_search_terms_t t; /* 16 KiB: kept off the worker's stack */
  ps_search_record_terms(c, &t);
  for (int i = 0; i < t.n; i += TERMS_PER_INSERT) {
    ps_params_t p;
    ps_params_init(&p);
    for (int k = 0; k < TERMS_PER_INSERT; k++) {
      int j = i + k < t.n ? i + k : t.n - 1; /* pad with the last term: the duplicate is a no-op */
      ps_param_str(&p, tenant);
      ps_param_str(&p, t.term[j]);
      ps_param_i64(&p, c->state);
      ps_param_id(&p, &c->id);
      ps_param_str(&p, c->display_name);
    }
    if (!ps_db_exec(db, &Q_TERMS_INSERT, &p, st)) return -1;
  }
  return 0;
}

int ps_store_search_reindex(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *id,
                            ps_status_t *st) {
  ps_prospect_cols_t c;
  int rc = ps_store_prospect_get(db, a, tenant, id, PS_LOCK_NONE, &c, st);
  if (rc < 0) return -1;
  if (rc == 0) return ps_store_search_unindex(db, tenant, id, st);
  return ps_store_search_index(db, tenant, &c, 1, st);
}

/* ------------------------------------------------------------------------------ the overview */

/* The further query words, each checked on the candidate's own terms (index prefix tenant_id, id,
 * term). A scalar subquery, so that the optimizer never turns it into a join that would lose the
 * order of the driving index. Two parameters each: used (0/1) and the LIKE pattern. */
#define WORD_FILTER(t)                                                                          \
  " AND (? = 0 OR (SELECT 1 FROM prospect_terms f WHERE f.tenant_id = " t ".tenant_id"         \
  " AND f.id = " t ".id AND f.term LIKE ? LIMIT 1) IS NOT NULL)"
#define WORD_FILTERS(t) WORD_FILTER(t) WORD_FILTER(t) WORD_FILTER(t) WORD_FILTER(t)
#define N_FILTERS 4

/* Outer query: the keys of both state branches joined to the rows. */
#define OUTER_NEWEST(branch)                                                                    \
  "SELECT " PS_PROSPECT_COLUMNS " FROM (" branch " UNION ALL " branch ") k"                     \
  " STRAIGHT_JOIN prospects p ON p.tenant_id = ? AND p.id = k.kid WHERE p.state IN (?, ?)"     \
  " ORDER BY k.kid DESC LIMIT ?"
#define OUTER_BY_NAME(branch)                                                                   \
  "SELECT " PS_PROSPECT_COLUMNS " FROM (" branch " UNION ALL " branch ") k"                     \
  " STRAIGHT_JOIN prospects p ON p.tenant_id = ? AND p.id = k.kid WHERE p.state IN (?, ?)"     \
  " ORDER BY k.kname, k.kid LIMIT ?"

/* No query: the overview indexes (tenant_id, state, id) and (tenant_id, state, display_name, id). */
#define B_PLAIN_NEWEST                                                                          \
  "(SELECT id AS kid FROM prospects WHERE tenant_id = ? AND state = ? AND id < ?"              \
  " ORDER BY id DESC LIMIT ?)"
#define B_PLAIN_BY_NAME                                                                         \
  "(SELECT display_name AS kname, id AS kid FROM prospects WHERE tenant_id = ? AND state = ?"  \
  " AND (display_name > ? OR (display_name = ? AND id > ?)) ORDER BY display_name, id LIMIT ?)"
/* The term branches name their index: with ORDER BY id and LIMIT the optimizer may otherwise walk
 * (tenant_id, id, term) for its order, i.e. every word of every record of the tenant.
 * A short driving word (<= 3 characters): one exact term, read in index order. */
#define B_EXACT_NEWEST                                                                          \
  "(SELECT t.id AS kid FROM prospect_terms t FORCE INDEX (PRIMARY)"                           \
  " WHERE t.tenant_id = ? AND t.term = ?"                                                      \
  " AND t.state = ? AND t.id < ?" WORD_FILTERS("t") " ORDER BY t.id DESC LIMIT ?)"
#define B_EXACT_BY_NAME                                                                         \
  "(SELECT t.display_name AS kname, t.id AS kid FROM prospect_terms t FORCE INDEX"             \
  " (prospect_terms_by_name) WHERE t.tenant_id = ? AND t.term = ? AND t.state = ?"             \
  " AND (t.display_name > ? OR (t.display_name = ? AND t.id > ?))" WORD_FILTERS("t")           \
  " ORDER BY t.display_name, t.id LIMIT ?)"
/* A longer driving word: the whole words starting with it, then sorted. */
#define B_RANGE_NEWEST                                                                          \
  "(SELECT DISTINCT t.id AS kid FROM prospect_terms t FORCE INDEX (PRIMARY)"                  \
  " WHERE t.tenant_id = ? AND t.term LIKE ?"                                                   \
  " AND t.state = ? AND t.id < ?" WORD_FILTERS("t") " ORDER BY kid DESC LIMIT ?)"
#define B_RANGE_BY_NAME                                                                         \
  "(SELECT DISTINCT t.display_name AS kname, t.id AS kid FROM prospect_terms t"                \
  " FORCE INDEX (PRIMARY) WHERE t.tenant_id = ? AND t.term LIKE ? AND t.state = ?"             \
  " AND (t.display_name > ? OR (t.display_name = ? AND t.id > ?))" WORD_FILTERS("t")           \
  " ORDER BY kname, kid LIMIT ?)"

static ps_sql_t Q_PLAIN_NEWEST = PS_SQL(OUTER_NEWEST(B_PLAIN_NEWEST));
static ps_sql_t Q_PLAIN_BY_NAME = PS_SQL(OUTER_BY_NAME(B_PLAIN_BY_NAME));
static ps_sql_t Q_EXACT_NEWEST = PS_SQL(OUTER_NEWEST(B_EXACT_NEWEST));
static ps_sql_t Q_EXACT_BY_NAME = PS_SQL(OUTER_BY_NAME(B_EXACT_BY_NAME));
static ps_sql_t Q_RANGE_NEWEST = PS_SQL(OUTER_NEWEST(B_RANGE_NEWEST));
static ps_sql_t Q_RANGE_BY_NAME = PS_SQL(OUTER_BY_NAME(B_RANGE_BY_NAME));

/* "w%" with LIKE's wildcards escaped (words hold none, but never trust that). */
static char *like_prefix(ps_arena_t *a, const char *w) {
  size_t n = strlen(w);
  char *out = ps_arena_alloc(a, 2 * n + 2);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (w[i] == '%' || w[i] == '_' || w[i] == '\\') out[o++] = '\\';
    out[o++] = w[i];
  }
  out[o++] = '%';
  out[o] = '\0';
  return out;
}

/* How many records have a word starting with w, counted up to DRIVER_COUNT_CAP (one index range
 * each): with several query words the rarest drives the lookup, so that a common word ("amsterdam")
 * next to a rare one never makes the query walk all records of the common one. */
#define DRIVER_COUNT_CAP 5000
static ps_sql_t Q_COUNT_EXACT = PS_SQL(
    "SELECT COUNT(*) FROM (SELECT 1 FROM prospect_terms WHERE tenant_id = ? AND term = ? LIMIT 5000) x");
static ps_sql_t Q_COUNT_RANGE = PS_SQL(
    "SELECT COUNT(*) FROM (SELECT 1 FROM prospect_terms WHERE tenant_id = ? AND term LIKE ? LIMIT 5000) x");

static int word_count(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *w, int64_t *ret,
                      ps_status_t *st) {
  int exact = ps_utf8_chars(w) <= PS_SEARCH_PREFIX_MAX;
  const char *v = exact ? w : like_prefix(a, w);
  if (!v) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, v);
  MYSQL_STMT *s = ps_db_exec(db, exact ? &Q_COUNT_EXACT : &Q_COUNT_RANGE, &p, st);
  if (!s) return -1;
  int64_t n = 0;
  ps_row_t r;
  ps_row_init(&r);
  ps_col_i64(&r, &n);
  if (ps_db_fetch(db, s, &r, NULL, st) < 0) return -1;
  *ret = n;
  return 0;
}

int ps_store_prospect_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q_in,
                           ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st) {
  ps_list_query_t qq = *q_in, *q = &qq;
  int64_t driver_n = 0;
  if (q->n_words > 1 || (q->n_words == 1 && ps_utf8_chars(q->words[0]) > PS_SEARCH_PREFIX_MAX)) {
    int best = 0;
    int64_t best_n = INT64_MAX;
    for (int i = 0; i < q->n_words; i++) {
      int64_t n = 0;
      if (word_count(db, a, tenant, q->words[i], &n, st) != 0) return -1;
      if (n < best_n) {
        best_n = n;
        best = i;
      }
      if (n == 0) break; /* nothing can match */
    }
    const char *w = q->words[best];
    q->words[best] = q->words[0];
    q->words[0] = w;
    driver_n = best_n;
  }
  /* A long driving word with many records: sorting all of them would cost too much, and they are
   * dense, so read its first characters' term in index order instead and check the whole word on
   * each candidate like the other words; a page fills after a few candidates. */
  char *prefix_driver = NULL;
  if (q->n_words >= 1 && q->n_words <= N_FILTERS && driver_n >= DRIVER_COUNT_CAP &&
      ps_utf8_chars(q->words[0]) > PS_SEARCH_PREFIX_MAX) {
    const char *w = q->words[0];
    size_t b = 0, chars = 0;
    for (; w[b]; b++)
      if (((unsigned char)w[b] & 0xC0) != 0x80 && chars++ == PS_SEARCH_PREFIX_MAX) break;
    if (!(prefix_driver = ps_arena_strndup(a, w, b)))
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
    for (int i = q->n_words; i > 0; i--) q->words[i] = q->words[i - 1];
    q->words[0] = prefix_driver;
    q->n_words++;
  }
  static const ps_id_t max_id = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff}};
  static const ps_id_t min_id = {{0}};
  int by_name = q->order == PS_LIST_BY_NAME;
  int words = q->n_words > 0;
  int exact = words && ps_utf8_chars(q->words[0]) <= PS_SEARCH_PREFIX_MAX;
  ps_sql_t *sql = !words ? (by_name ? &Q_PLAIN_BY_NAME : &Q_PLAIN_NEWEST)
                  : exact ? (by_name ? &Q_EXACT_BY_NAME : &Q_EXACT_NEWEST)
                          : (by_name ? &Q_RANGE_BY_NAME : &Q_RANGE_NEWEST);
  const char *driver = NULL;
  const char *patterns[N_FILTERS] = {0};
  if (words) {
    driver = exact ? q->words[0] : like_prefix(a, q->words[0]);
    if (!driver) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
    for (int i = 1; i < q->n_words && i <= N_FILTERS; i++)
      if (!(patterns[i - 1] = like_prefix(a, q->words[i])))
        return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  }
  const ps_id_t *after = q->has_cursor ? &q->after_id : by_name ? &min_id : &max_id;
  const char *after_name = q->has_cursor && q->after_name ? q->after_name : "";

  ps_params_t p;
  ps_params_init(&p);
  for (int b = 0; b < 2; b++) {
    ps_param_str(&p, tenant);
    if (words) ps_param_str(&p, driver);
    ps_param_i64(&p, q->states[b]);
    if (by_name) {
      ps_param_str(&p, after_name);
      ps_param_str(&p, after_name);
    }
    ps_param_id(&p, after);
    if (words) {
      for (int f = 0; f < N_FILTERS; f++) {
        ps_param_i64(&p, patterns[f] ? 1 : 0);
        ps_param_str(&p, patterns[f] ? patterns[f] : "");
      }
    }
    ps_param_i64(&p, q->limit);
  }
  ps_param_str(&p, tenant);
  ps_param_i64(&p, q->states[0]);
  ps_param_i64(&p, q->states[1] ? q->states[1] : q->states[0]);
  ps_param_i64(&p, q->limit);

  MYSQL_STMT *s = ps_db_exec(db, sql, &p, st);
  if (!s) return -1;
  int n = 0, cut = 0;
  size_t held0 = a->held;
  for (;;) {
    if (q->max_bytes && n > 0 && a->held - held0 >= q->max_bytes) {
      cut = 1; /* the rest of the result is discarded by the next statement on db */
      break;
    }
    ps_prospect_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_prospect_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n < q->limit) ret_rows[n++] = c;
  }
  *ret_n = n;
  *ret_cut = cut;
  return 0;
}

/* ------------------------------------------------------------------------------ duplicates */

/* Each lookup names its index: for ORDER BY id DESC LIMIT the optimizer may otherwise walk the
 * primary key (tenant_id, id) backwards and test every record of the tenant (measured: 40 ms at a
 * million records instead of under 5). */

static ps_sql_t Q_DUP_EMAIL = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_dup_email)"
                                     " WHERE tenant_id = ? AND email_norm = ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_DUP_VAT = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_dup_vat)"
                                   " WHERE tenant_id = ? AND vat_norm = ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_DUP_PHONE = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_dup_phone)"
                                     " WHERE tenant_id = ? AND phone_norm = ? ORDER BY id DESC LIMIT ?");
static ps_sql_t Q_DUP_NAME = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_dup_name)"
                                    " WHERE tenant_id = ? AND name_key = ? ORDER BY id DESC LIMIT ?");

int ps_store_prospect_dups(ps_db_t *db, ps_arena_t *a, const char *tenant, ps_dup_key_t key,
                           const char *value, int limit, ps_dup_fn fn, void *arg, ps_status_t *st) {
  if (!value || !*value) return 0; /* nothing to compare */
  ps_sql_t *sql = key == PS_DUP_EMAIL ? &Q_DUP_EMAIL
                  : key == PS_DUP_VAT ? &Q_DUP_VAT
                  : key == PS_DUP_PHONE ? &Q_DUP_PHONE
                                        : &Q_DUP_NAME;
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, value);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, sql, &p, st);
  if (!s) return -1;
  int stop = 0;
  for (;;) {
    ps_prospect_cols_t c;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_prospect_bind(&r, &c);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (!stop && fn(arg, &c, key) != 0) stop = 1; /* keep fetching: the result set must be drained */
  }
  return 0;
}
