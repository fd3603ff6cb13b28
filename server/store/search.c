/* The word index of the overview (prospect_terms), the overview query and the duplicate lookups. */
#include "store/search.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/normalize.h"
#include "core/normalize_v1.h"
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

_Static_assert(PS_SEARCH_TERM_SLOTS >= 2 * PS_SEARCH_TERMS_MAX &&
                   (PS_SEARCH_TERM_SLOTS & (PS_SEARCH_TERM_SLOTS - 1)) == 0,
               "a power of 2, at most half full");

/* Adds the term s[0..n) unless the record has it already (a hash of its terms: comparing each new
 * term with every earlier one made a record's terms cost about 8,000 string comparisons, and the
 * in-C check of a listing computes them for up to 64 candidates). */
static void add_term(ps_search_terms_t *t, const char *s, size_t n) {
  if (n == 0 || n >= PS_SEARCH_TERM_BYTES || t->n >= PS_SEARCH_TERMS_MAX) return;
  unsigned k = (unsigned)ps_hash64(s, n, PS_HASH_SEED) & (PS_SEARCH_TERM_SLOTS - 1);
  for (; t->slot[k]; k = (k + 1) & (PS_SEARCH_TERM_SLOTS - 1)) {
    const char *have = t->term[t->slot[k] - 1];
    if (memcmp(have, s, n) == 0 && have[n] == '\0') return;
  }
  memcpy(t->term[t->n], s, n);
  t->term[t->n][n] = '\0';
  t->slot[k] = (unsigned short)(++t->n);
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

/* How text becomes words: ps_norm_name, or version 1's for the lookups of rows not rebuilt yet. */
typedef size_t (*fold_fn)(const char *text, char *out, size_t outsz);

/* Calls fn for each word of text in normal form. */
static void each_word_folded(const char *text, fold_fn fold, void (*fn)(void *, const char *, size_t),
                             void *arg) {
  char norm[2048];
  size_t n = fold(text, norm, sizeof norm);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && norm[j] != ' ') j++;
    if (j > i) fn(arg, norm + i, j - i);
    i = j + 1;
  }
}

static void each_word(const char *text, void (*fn)(void *, const char *, size_t), void *arg) {
  each_word_folded(text, ps_norm_name, fn, arg);
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

void ps_search_pair_term(const char *a, const char *b, char out[PS_SEARCH_PAIR_BYTES]) {
  if (strcmp(a, b) > 0) {
    const char *x = a;
    a = b;
    b = x;
  }
  size_t na = strlen(a), nb = strlen(b);
  if (na + nb + 2 > PS_SEARCH_PAIR_BYTES) { /* not a first-3-character term: never the case */
    out[0] = '\0';
    return;
  }
  memcpy(out, a, na);
  out[na] = ' ';
  memcpy(out + na + 1, b, nb + 1);
}

int ps_search_pairable(const char *term) {
  if (char_count(term, strlen(term)) != PS_SEARCH_PREFIX_MAX) return 0;
  for (const char *c = term; *c; c++)
    if (*c >= '0' && *c <= '9') return 0;
  return 1;
}

/* The pair terms of the record's pairable terms (a word of 3 characters or more has one, its term
 * of exactly 3 characters: they are distinct already), or PS_SEARCH_PAIRS_NONE when there are more
 * than PS_SEARCH_PAIR_PREFIXES_MAX of them (store/search.h, "Pairs"). */
static void add_pairs(ps_search_terms_t *t) {
  int p3[PS_SEARCH_PAIR_PREFIXES_MAX], n3 = 0, words = t->n;
  for (int i = 0; i < words; i++) {
    if (!ps_search_pairable(t->term[i])) continue;
    if (n3 == PS_SEARCH_PAIR_PREFIXES_MAX) {
      memcpy(t->term[t->n++], PS_SEARCH_PAIRS_NONE, sizeof PS_SEARCH_PAIRS_NONE);
      return;
    }
    p3[n3++] = i;
  }
  for (int i = 0; i < n3; i++)
    for (int j = i + 1; j < n3; j++)
      ps_search_pair_term(t->term[p3[i]], t->term[p3[j]], t->term[t->n++]);
}

void ps_search_record_terms(const ps_prospect_cols_t *c, ps_search_terms_t *ret) {
  ret->n = 0;
  memset(ret->slot, 0, sizeof ret->slot);
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
  ret->n_words = ret->n;
  add_pairs(ret);
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

static int query_words(const char *query, fold_fn fold,
                       char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES], int *ret_n) {
  static __thread qwords_t q; /* 8 KiB: kept off the worker's stack */
  q.n = 0;
  q.overflow = 0;
  if (query && *query) each_word_folded(query, fold, add_query_word, &q);
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

int ps_search_query_words(const char *query, char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES],
                          int *ret_n) {
  return query_words(query, ps_norm_name, ret, ret_n);
}

int ps_search_query_words_v1(const char *query, char ret[PS_SEARCH_QUERY_WORDS][PS_SEARCH_TERM_BYTES],
                             int *ret_n) {
  return query_words(query, ps_norm_name_v1, ret, ret_n);
}

/* ------------------------------------------------------------------------------ index rows */

/* A record's terms go in statements of 32 rows while that many are left, then of 8 (the last one
 * padded with its last row: the duplicate is a no-op). */
#define TERMS_ROW "(?, ?, ?, ?, ?)"
#define TERMS_ROWS4 TERMS_ROW ", " TERMS_ROW ", " TERMS_ROW ", " TERMS_ROW
#define TERMS_ROWS8 TERMS_ROWS4 ", " TERMS_ROWS4
#define TERMS_ROWS32 TERMS_ROWS8 ", " TERMS_ROWS8 ", " TERMS_ROWS8 ", " TERMS_ROWS8
#define TERMS_INSERT(rows)                                                                      \
  "INSERT INTO prospect_terms (tenant_id, term, state, id, display_name) VALUES " rows         \
  " ON DUPLICATE KEY UPDATE display_name = VALUES(display_name)"
static ps_sql_t Q_TERMS_INSERT = PS_SQL(TERMS_INSERT(TERMS_ROWS8));
static ps_sql_t Q_TERMS_INSERT32 = PS_SQL(TERMS_INSERT(TERMS_ROWS32));
_Static_assert(5 * 32 <= PS_DB_MAX_PARAMS, "Q_TERMS_INSERT32's parameters");
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
  static __thread ps_search_terms_t t; /* 32 KiB: kept off the worker's stack */
  ps_search_record_terms(c, &t);
  for (int i = 0; i < t.n;) {
    int rows = t.n - i >= 32 ? 32 : 8;
    ps_params_t p;
    ps_params_init(&p);
    for (int k = 0; k < rows; k++) {
      int j = i + k < t.n ? i + k : t.n - 1; /* pad with the last term: the duplicate is a no-op */
      ps_param_str(&p, tenant);
      ps_param_str(&p, t.term[j]);
      ps_param_i64(&p, c->state);
      ps_param_id(&p, &c->id);
      ps_param_str(&p, c->display_name);
    }
    if (!ps_db_exec(db, rows == 32 ? &Q_TERMS_INSERT32 : &Q_TERMS_INSERT, &p, st)) return -1;
    i += rows;
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

/* The whole query word checked on a candidate of its first characters' term (list_one, a dense
 * word), on the candidate's own terms (index prefix tenant_id, id, term). A scalar subquery, so that
 * the optimizer never turns it into a join that would lose the order of the driving index. One
 * parameter: the LIKE pattern. The statements that check no word leave it out rather than switch it
 * off with a parameter: a switched-off check still cost MariaDB a condition per row examined (about
 * a seventh of a range's statement at a million records, see bench/overview.py). */
#define WORD_FILTER(t)                                                                          \
  " AND (SELECT 1 FROM prospect_terms f WHERE f.tenant_id = " t ".tenant_id"                   \
  " AND f.id = " t ".id AND f.term LIKE ? LIMIT 1) IS NOT NULL"
#define NO_FILTER(t) ""

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
#define B_EXACT_NEWEST(filter)                                                                  \
  "(SELECT t.id AS kid FROM prospect_terms t FORCE INDEX (PRIMARY)"                           \
  " WHERE t.tenant_id = ? AND t.term = ?"                                                      \
  " AND t.state = ? AND t.id < ?" filter("t") " ORDER BY t.id DESC LIMIT ?)"
#define B_EXACT_BY_NAME(filter)                                                                 \
  "(SELECT t.display_name AS kname, t.id AS kid FROM prospect_terms t FORCE INDEX"             \
  " (prospect_terms_by_name) WHERE t.tenant_id = ? AND t.term = ? AND t.state = ?"             \
  " AND (t.display_name > ? OR (t.display_name = ? AND t.id > ?))" filter("t")                 \
  " ORDER BY t.display_name, t.id LIMIT ?)"
/* A longer driving word: the whole words starting with it, then sorted. The range of terms is not
 * ordered by state, so one branch reads both states (the other branch is given LIMIT 0). A record
 * with several such words has a row for each: they are folded by id before the sort, so that the
 * sort by name computes the collation's keys once per record. The rows of one record carry the
 * same display_name (they are written together, ps_store_search_index), so grouping by id alone
 * is exact. (Against DISTINCT on (display_name, id): 2.60 against 3.22 ms for a word of 625 records
 * with 1,250 rows at a million, medians of 15 in MariaDB's profile.) */
#define B_RANGE_NEWEST                                                                          \
  "(SELECT t.id AS kid FROM prospect_terms t FORCE INDEX (PRIMARY)"                           \
  " WHERE t.tenant_id = ? AND t.term LIKE ?"                                                   \
  " AND t.state IN (?, ?) AND t.id < ? GROUP BY t.id ORDER BY kid DESC LIMIT ?)"
#define B_RANGE_BY_NAME                                                                         \
  "(SELECT t.display_name AS kname, t.id AS kid FROM prospect_terms t"                         \
  " FORCE INDEX (PRIMARY) WHERE t.tenant_id = ? AND t.term LIKE ? AND t.state IN (?, ?)"       \
  " AND (t.display_name > ? OR (t.display_name = ? AND t.id > ?))"                             \
  " GROUP BY t.id ORDER BY kname, kid LIMIT ?)"
/* One state (the overview's default filter) and no range: the page is read straight from the
 * driving index in its order, each row joined as it comes, with no union of state branches, no
 * derived table and no sort. At a million records MariaDB took 0.53 against 1.23 ms for the first
 * page of the overview, 0.81 against 1.15 ms for a short word's (medians of 15 in its profile). The
 * record's own state is checked as in the union's outer query. */
#define COLS_P PS_PROSPECT_COLUMNS_OF("p.")
#define ONE_PLAIN_NEWEST                                                                        \
  "SELECT " COLS_P " FROM prospects p FORCE INDEX (prospects_overview_newest)"                  \
  " WHERE p.tenant_id = ? AND p.state = ? AND p.id < ? ORDER BY p.id DESC LIMIT ?"
#define ONE_PLAIN_BY_NAME                                                                       \
  "SELECT " COLS_P " FROM prospects p FORCE INDEX (prospects_overview_name)"                    \
  " WHERE p.tenant_id = ? AND p.state = ?"                                                     \
  " AND (p.display_name > ? OR (p.display_name = ? AND p.id > ?))"                             \
  " ORDER BY p.display_name, p.id LIMIT ?"
#define ONE_JOIN " STRAIGHT_JOIN prospects p ON p.tenant_id = t.tenant_id AND p.id = t.id"
#define ONE_EXACT_NEWEST(filter)                                                                \
  "SELECT " COLS_P " FROM prospect_terms t FORCE INDEX (PRIMARY)" ONE_JOIN                     \
  " WHERE t.tenant_id = ? AND t.term = ? AND t.state = ? AND t.id < ?" filter("t")             \
  " AND p.state = ? ORDER BY t.id DESC LIMIT ?"
#define ONE_EXACT_BY_NAME(filter)                                                               \
  "SELECT " COLS_P " FROM prospect_terms t FORCE INDEX (prospect_terms_by_name)" ONE_JOIN      \
  " WHERE t.tenant_id = ? AND t.term = ? AND t.state = ?"                                      \
  " AND (t.display_name > ? OR (t.display_name = ? AND t.id > ?))" filter("t")                 \
  " AND p.state = ? ORDER BY t.display_name, t.id LIMIT ?"
/* The range is sorted whole, so its statement stops once it has examined RANGE_EXAMINED_MAX rows:
 * the word's index rows, then the distinct records and the rows joined (MariaDB's LIMIT ROWS
 * EXAMINED: a warning, or error ER_FILSORT_ABORT when it stops in the sort; ps_db_store_examined).
 * A word with that many records is read through its first characters' term instead (list_one). */
#define RANGE_EXAMINED_MAX 5000
#define ROWS_EXAMINED " ROWS EXAMINED ?"

static ps_sql_t Q_PLAIN_NEWEST = PS_SQL(OUTER_NEWEST(B_PLAIN_NEWEST));
static ps_sql_t Q_PLAIN_BY_NAME = PS_SQL(OUTER_BY_NAME(B_PLAIN_BY_NAME));
static ps_sql_t Q_EXACT_NEWEST = PS_SQL(OUTER_NEWEST(B_EXACT_NEWEST(NO_FILTER)));
static ps_sql_t Q_EXACT_BY_NAME = PS_SQL(OUTER_BY_NAME(B_EXACT_BY_NAME(NO_FILTER)));
static ps_sql_t Q_CHECKED_NEWEST = PS_SQL(OUTER_NEWEST(B_EXACT_NEWEST(WORD_FILTER)));
static ps_sql_t Q_CHECKED_BY_NAME = PS_SQL(OUTER_BY_NAME(B_EXACT_BY_NAME(WORD_FILTER)));
static ps_sql_t Q_ONE_PLAIN_NEWEST = PS_SQL(ONE_PLAIN_NEWEST);
static ps_sql_t Q_ONE_PLAIN_BY_NAME = PS_SQL(ONE_PLAIN_BY_NAME);
static ps_sql_t Q_ONE_EXACT_NEWEST = PS_SQL(ONE_EXACT_NEWEST(NO_FILTER));
static ps_sql_t Q_ONE_EXACT_BY_NAME = PS_SQL(ONE_EXACT_BY_NAME(NO_FILTER));
static ps_sql_t Q_ONE_CHECKED_NEWEST = PS_SQL(ONE_EXACT_NEWEST(WORD_FILTER));
static ps_sql_t Q_ONE_CHECKED_BY_NAME = PS_SQL(ONE_EXACT_BY_NAME(WORD_FILTER));
static ps_sql_t Q_RANGE_NEWEST = PS_SQL(OUTER_NEWEST(B_RANGE_NEWEST) ROWS_EXAMINED);
static ps_sql_t Q_RANGE_BY_NAME = PS_SQL(OUTER_BY_NAME(B_RANGE_BY_NAME) ROWS_EXAMINED);

/* list_run's statement: [one state, in index order][the driving word][by name] (a range always
 * reads both states in one branch: it has no statement of its own for one state). */
enum { DRIVE_NONE, DRIVE_EXACT, DRIVE_CHECKED, DRIVE_RANGE };
static ps_sql_t *const LIST_SQL[2][4][2] = {
    {{&Q_PLAIN_NEWEST, &Q_PLAIN_BY_NAME},
     {&Q_EXACT_NEWEST, &Q_EXACT_BY_NAME},
     {&Q_CHECKED_NEWEST, &Q_CHECKED_BY_NAME},
     {&Q_RANGE_NEWEST, &Q_RANGE_BY_NAME}},
    {{&Q_ONE_PLAIN_NEWEST, &Q_ONE_PLAIN_BY_NAME},
     {&Q_ONE_EXACT_NEWEST, &Q_ONE_EXACT_BY_NAME},
     {&Q_ONE_CHECKED_NEWEST, &Q_ONE_CHECKED_BY_NAME},
     {NULL, NULL}}};

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

/* ------------------------------------------------------------------------------ several words */

/* A query of several words intersects the words' postings. (Before, the rarest word, by a count
 * capped at 5000, drove and every other word was checked on each of its records; two common words
 * whose combination is rare, such as a common city and a common first name, walked every record of
 * one of them: half a second at a million records, see bench/overview.py.)
 *
 * Postings. A word's postings are one ordered index range: the rows of one exact term, per state,
 * in the order of the page (primary key: id; prospect_terms_by_name: display_name, id). The term is
 * the word itself up to 3 characters; a longer word is read through its first 3 characters, a
 * superset, and the whole word is checked at the end on the few records left (Q_VERIFY).
 *
 * Rounds. One term, the driver, is read after the cursor: a chunk of 4 x the rows wanted (at least
 * ISECT_CHUNK_MIN), doubling each round up to ISECT_CHUNK_MAX. Every other term is read over the
 * same stretch (after the cursor, up to and including the chunk's last key) and the chunk keeps
 * the records found in both: a merge of two ordered ranges, on the ids in C. Reading a term stops
 * after ISECT_SCAN_FACTOR x the candidates left (+64): a term that dense costs less to look up per
 * candidate (Q_PROBE, ISECT_BATCH ids a statement) than to read. A term with fewer rows over the
 * stretch than half the chunk drives the next round, so that the sparser term sets the pace. The
 * candidates left are checked on the long words and read from prospects (state checked) in the
 * chunk's order until the page is full. The next round starts after the chunk's last key. No key
 * is compared in C (by name that would need the collation): the database bounds every range.
 *
 * So a common combination ends in the first round, and a rare one reads each range once: the rows
 * read grow with the records of the two words, not with their product, and no driver row costs a
 * lookup of its own.
 *
 * A long word with few records. Its first characters may be far more common than the word
 * ("brouwker" and "bro"). When the first round did not fill the page and a long word's term would
 * go on driving, the long words are tested once, longest first: one with fewer than ISECT_SET_ROWS
 * rows in the index drives from then on, on its own records (read whole; newest first sorted here,
 * by name read sorted by the database).
 *
 * Measured (bench/overview.py, a million records, a city and a first name with 33,333 and 50,025
 * records, 26 together): before, 500 ms p50 newest first and by name; now 53-80 ms and 26-54 ms
 * (four runs on a shared machine). The alternatives, for the same two terms in one state, on the
 * 2-core machine of the benchmark: a join of the two terms' rows, which MariaDB runs as a nested
 * loop with a primary-key lookup per row, 54 ms of server CPU; IN (subquery), the same plan,
 * 56 ms; UNION ALL of both ranges with GROUP BY id HAVING COUNT(*) = 2, 68 ms; a hash join
 * (join_cache_level 4), 370 ms; primary-key lookups of one term's ids in the other, 64 a
 * statement, 4.4 µs an id, 145 ms; reading both ranges whole into C and merging, 38 ms. The
 * rounds come close to the last (and stop early when the page fills): reading 83,000 index rows at
 * about 0.45 µs each is the floor of intersecting postings stored one row per record and term.
 *
 * Pairs (store/search.h). So when every record has its pair terms (q->pairs), two words of 3
 * characters or more drive by their pair: its postings, read with those of PS_SEARCH_PAIRS_NONE
 * (the records without pairs; kmark tells them apart), hold about the records of the combination,
 * so the rows read grow with the matches, not with the words. The pair's two words are then not
 * read over the stretch (its records have their terms), but for the candidates read through the
 * marker, which are looked up. The long words are checked as before. A pair of a rare word is no
 * rarer than the word's first characters (an e-mail address: "bra zig" is as common as its first
 * name and domain), so before a pair drives, a short read of the longest word (ISECT_RARE_ROWS)
 * tells whether that word's own records should; after a first round that did not fill the page,
 * the usual test of every long word follows. The first chunk is a page: nearly all of a pair's
 * records match. Measured (the same benchmark and data): the rare combination 2.3-3.5 ms p50 and
 * 3.2-8.5 ms p99 over five runs, against 49-101 ms p50 with the pairs left unused; an e-mail
 * address 1.4 ms p50 and 2.4 ms p99, from 4.7-9 ms p50; the other cases unchanged. The cost: the
 * pair rows, written with the others. A person with a city, an e-mail address and a VAT number has
 * 6 (on 25 word rows): CreateProspect went from 1,271 to 1,169 calls/s with 4 callers, MariaDB from
 * 696 to 853 µs of CPU per call (one run each, same machine). Pairs of every 3 characters, digits
 * included (the VAT number's), made that 15 rows and 1,054-1,088/s.
 *
 * When the pair covers every word (a query of two words), its first chunk is read joined to the
 * records (Q_SCAN_ROWS_*): only the marker's keys are looked up before the page, so the ids need no
 * fetch of their own. MariaDB's time is about the same (a 26-record pair at a million records:
 * 921-941 µs against 381-445 + 468-538 µs for the keys and the fetch, 200 calls each in
 * performance_schema), but it is one round trip less: the snapshot, the short read of the longest
 * word and the page, three in all (the COMMIT is not waited for, ps_db_end_snapshot).
 *
 * All statements of one listing read one snapshot (ps_db_begin_snapshot), so that the page is
 * what one statement would have given: a record changed meanwhile is never checked in one version
 * and returned in another. */

#define ISECT_CHUNK_MIN 64     /* first driver chunk: 4 x the rows wanted, at least this */
#define ISECT_CHUNK_MAX 4096   /* chunks double up to this */
#define ISECT_SCAN_FACTOR 4    /* read a term over a stretch up to this x candidates (+64) */
#define ISECT_SET_ROWS 2048    /* a long word with fewer index rows drives by itself */
#define ISECT_RARE_ROWS 64     /* before a pair drives: the longest word with fewer drives */
#define ISECT_BATCH 32         /* candidates per lookup statement (Q_PROBE) */
#define ISECT_EMIT 64          /* candidates per check and fetch statement (PS_DB_MAX_PARAMS): a
                                  page of 50 takes one of each */
#define ISECT_SCRATCH_MAX ((size_t)32 << 20) /* one round's rows */

/* A term's rows after the cursor, in the order of the page, up to and including an upper key when
 * one is given (newest first: a lower bound of the id; by name: the flag and the name and id). One
 * state per branch: the two states of ALL_STATES are two ordered ranges, merged by the outer ORDER
 * BY (the branch is empty for state 0: one state only). A pair is read with PS_SEARCH_PAIRS_NONE,
 * one branch each: each row says whether it is the marker's (kmark). */
#define SCAN_MARK "term = '" PS_SEARCH_PAIRS_NONE "'"
#define SCAN_NEWEST(cols)                                                                       \
  "SELECT " cols " FROM prospect_terms FORCE INDEX (PRIMARY) WHERE tenant_id = ? AND term = ?" \
  " AND state = ? AND id < ? AND id >= ? ORDER BY id DESC LIMIT ?"
#define SCAN_BY_NAME(cols)                                                                      \
  "SELECT " cols " FROM prospect_terms FORCE INDEX (prospect_terms_by_name)"                    \
  " WHERE tenant_id = ? AND term = ? AND state = ?"                                             \
  " AND (display_name > ? OR (display_name = ? AND id > ?))"                                    \
  " AND (? = 0 OR display_name < ? OR (display_name = ? AND id <= ?))"                          \
  " ORDER BY display_name, id LIMIT ?"
static ps_sql_t Q_SCAN_NEWEST1 = PS_SQL(SCAN_NEWEST("id, " SCAN_MARK));
#define SCAN_NEWEST_K SCAN_NEWEST("id AS kid, " SCAN_MARK " AS kmark")
static ps_sql_t Q_SCAN_NEWEST2 = PS_SQL(
    "SELECT kid, kmark FROM ((" SCAN_NEWEST_K ") UNION ALL (" SCAN_NEWEST_K ")) k"
    " ORDER BY kid DESC LIMIT ?");
static ps_sql_t Q_SCAN_NEWEST4 = PS_SQL(
    "SELECT kid, kmark FROM ((" SCAN_NEWEST_K ") UNION ALL (" SCAN_NEWEST_K ") UNION ALL ("
    SCAN_NEWEST_K ") UNION ALL (" SCAN_NEWEST_K ")) k ORDER BY kid DESC LIMIT ?");
static ps_sql_t Q_SCAN_BY_NAME1 = PS_SQL(SCAN_BY_NAME("display_name, id, " SCAN_MARK));
#define SCAN_BY_NAME_K SCAN_BY_NAME("display_name AS kname, id AS kid, " SCAN_MARK " AS kmark")
static ps_sql_t Q_SCAN_BY_NAME2 = PS_SQL(
    "SELECT kname, kid, kmark FROM ((" SCAN_BY_NAME_K ") UNION ALL (" SCAN_BY_NAME_K ")) k"
    " ORDER BY kname, kid LIMIT ?");
static ps_sql_t Q_SCAN_BY_NAME4 = PS_SQL(
    "SELECT kname, kid, kmark FROM ((" SCAN_BY_NAME_K ") UNION ALL (" SCAN_BY_NAME_K ") UNION ALL ("
    SCAN_BY_NAME_K ") UNION ALL (" SCAN_BY_NAME_K ")) k ORDER BY kname, kid LIMIT ?");
/* The same keys joined to their records (the state checked, as the fetch does), for a round whose
 * keys all go to the page but for the long words' check on the text: a pair's first round when the
 * pair covers every word (isect_run). One statement instead of the keys and then a fetch of their
 * ids. */
#define SCAN_ROWS(keys, order)                                                                  \
  "SELECT " COLS_P ", k.kmark FROM (" keys ") k STRAIGHT_JOIN prospects p"                      \
  " ON p.tenant_id = ? AND p.id = k.kid WHERE p.state IN (?, ?) ORDER BY " order " LIMIT ?"
#define SCAN_NEWEST_2K "(" SCAN_NEWEST_K ") UNION ALL (" SCAN_NEWEST_K ")"
#define SCAN_BY_NAME_2K "(" SCAN_BY_NAME_K ") UNION ALL (" SCAN_BY_NAME_K ")"
static ps_sql_t Q_SCAN_ROWS_NEWEST2 = PS_SQL(SCAN_ROWS(SCAN_NEWEST_2K, "k.kid DESC"));
static ps_sql_t Q_SCAN_ROWS_NEWEST4 = PS_SQL(
    SCAN_ROWS(SCAN_NEWEST_2K " UNION ALL " SCAN_NEWEST_2K, "k.kid DESC"));
static ps_sql_t Q_SCAN_ROWS_BY_NAME2 = PS_SQL(SCAN_ROWS(SCAN_BY_NAME_2K, "k.kname, k.kid"));
static ps_sql_t Q_SCAN_ROWS_BY_NAME4 = PS_SQL(
    SCAN_ROWS(SCAN_BY_NAME_2K " UNION ALL " SCAN_BY_NAME_2K, "k.kname, k.kid"));
/* A long word's records, when it has fewer than ISECT_SET_ROWS rows in the index: its ids (the
 * rows examined are capped, whatever their state), or by name after the cursor. */
static ps_sql_t Q_SET_IDS = PS_SQL(
    "SELECT id, state FROM prospect_terms FORCE INDEX (PRIMARY) WHERE tenant_id = ?"
    " AND term LIKE ? LIMIT ?");
static ps_sql_t Q_SET_BY_NAME = PS_SQL(
    "SELECT DISTINCT display_name, id FROM prospect_terms FORCE INDEX (PRIMARY) WHERE tenant_id = ?"
    " AND term LIKE ? AND state IN (?, ?) AND (display_name > ? OR (display_name = ? AND id > ?))"
    " ORDER BY display_name, id LIMIT ?");
#define IDS4 "?, ?, ?, ?"
#define IDS8 IDS4 ", " IDS4
#define IDS16 IDS8 ", " IDS8
#define IDS32 IDS16 ", " IDS16
#define IDS64 IDS32 ", " IDS32
/* Which candidates have a term (primary key lookups), which have a word starting with a long word
 * (a range of the candidate's own terms each), and the records of those left, state checked. */
static ps_sql_t Q_PROBE = PS_SQL(
    "SELECT id FROM prospect_terms FORCE INDEX (PRIMARY) WHERE tenant_id = ? AND term IN (?, ?)"
    " AND state IN (?, ?) AND id IN (" IDS32 ")");
/* The check and the fetch take up to ISECT_EMIT ids, in statements of 8, 16, 32 and 64 (a smaller
 * batch repeats its last id): the optimizer plans a range per id, so a few candidates bound as 64
 * cost more than bound as 8 (26 records: 0.54 against 0.83 ms for the check as 32 and as 64, on a
 * noisy machine). The check has one statement per number of long words (1 to 5): an unused NULL
 * pattern would make the optimizer read every term of the candidates (about 1,000 index rows for
 * 32 records instead of about 100), and a repeated one costs planning time (64 ids and 5 patterns:
 * 1.2 ms in ANALYZE, with 2 patterns 0.7 ms). */
#define EMIT_SIZES 4 /* 8 << class ids */
#define EMIT_CLASSES(M, x) {M(IDS8, x), M(IDS16, x), M(IDS32, x), M(IDS64, x)}
#define VERIFY(ids, likes)                                                                      \
  PS_SQL("SELECT id, term FROM prospect_terms FORCE INDEX (prospect_terms_by_prospect)"        \
         " WHERE tenant_id = ? AND id IN (" ids ") AND (" likes ")")
#define LIKE1 "term LIKE ?"
#define LIKE2 LIKE1 " OR " LIKE1
static ps_sql_t Q_VERIFY[][EMIT_SIZES] = {
    EMIT_CLASSES(VERIFY, LIKE1), EMIT_CLASSES(VERIFY, LIKE2),
    EMIT_CLASSES(VERIFY, LIKE2 " OR " LIKE1), EMIT_CLASSES(VERIFY, LIKE2 " OR " LIKE2),
    EMIT_CLASSES(VERIFY, LIKE2 " OR " LIKE2 " OR " LIKE1)};
_Static_assert(sizeof Q_VERIFY / sizeof Q_VERIFY[0] == PS_SEARCH_QUERY_WORDS, "up to every word");
#define FETCH(ids, unused)                                                                      \
  PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (PRIMARY)"                  \
         " WHERE tenant_id = ? AND id IN (" ids ") AND state IN (?, ?)")
static ps_sql_t Q_FETCH[EMIT_SIZES] = EMIT_CLASSES(FETCH, 0);
_Static_assert((8 << (EMIT_SIZES - 1)) == ISECT_EMIT, "a statement for the largest batch");

/* Binds the tenant and k ids (1 <= k <= ISECT_EMIT) as the check and the fetch take them, the last
 * id repeated up to the size of their statement: ps_db_size_class's, from 8 ids up. Its class. */
static int emit_params(ps_params_t *p, const char *tenant, const ps_id_t *ids, int k) {
  size_t size;
  int cls = ps_db_size_class((size_t)(k < 8 ? 8 : k), &size) - 2; /* class 2: 8 ids */
  ps_params_init(p);
  ps_param_str(p, tenant);
  for (size_t j = 0; j < size; j++) ps_param_id(p, &ids[j < (size_t)k ? j : (size_t)k - 1]);
  return cls;
}

/* Runs the fetch of k ids (1 <= k <= ISECT_EMIT) of the tenant, in states s0 and s1 (Q_FETCH). */
static MYSQL_STMT *fetch_ids(ps_db_t *db, const char *tenant, const ps_id_t *ids, int k, int s0,
                             int s1, ps_status_t *st) {
  ps_params_t p;
  int cls = emit_params(&p, tenant, ids, k);
  ps_param_i64(&p, s0);
  ps_param_i64(&p, s1);
  return ps_db_exec(db, &Q_FETCH[cls], &p, st);
}

typedef struct isect_key {
  ps_id_t id;
  char *name; /* by name: display_name (in the round's scratch arena) */
  int marker; /* read as PS_SEARCH_PAIRS_NONE's row (with a pair: the record has no pair terms) */
} isect_key_t;

typedef struct isect {
  ps_db_t *db;
  ps_arena_t *a;       /* the call's: the rows returned */
  ps_arena_t *scratch; /* one round's keys; reset every round */
  const char *tenant;
  const ps_list_query_t *q;
  int by_name, two_states;
  ps_id_t cur_id;      /* the position the next chunk starts after */
  const char *cur_name;
  ps_search_terms_t *terms; /* a candidate's terms (isect_emit), in the call's arena once needed */
} isect_t;

static const ps_id_t isect_min_id = {{0}};
static const ps_id_t isect_max_id = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static int isect_oom(ps_status_t *st) { return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory."); }

/* Rows of term (and of term2 when not NULL: a record has one or the other) after the cursor (up to
 * and including hi when not NULL) in the page's order, at most limit, into keys (ids; names too by
 * name). With rows (term2 given), the records too, joined in the same statement (their state
 * checked; strings in the round's scratch): rows[i] is keys[i]'s. The count, or -1 with st set. */
static int isect_scan(isect_t *x, const char *term, const char *term2, const isect_key_t *hi,
                      int limit, isect_key_t *keys, ps_prospect_cols_t *rows, ps_status_t *st) {
  const ps_list_query_t *q = x->q;
  ps_params_t p;
  ps_params_init(&p);
  int terms = term2 ? 2 : 1, branches = (x->two_states ? 2 : 1) * terms;
  if (rows && !term2) return ps_fail(st, PS_INTERNAL, "", "The records of one term's rows."); /* a bug */
  for (int b = 0; b < branches; b++) {
    ps_param_str(&p, x->tenant);
    ps_param_str(&p, b % terms ? term2 : term);
    ps_param_i64(&p, q->states[b / terms]);
    if (x->by_name) {
      ps_param_str(&p, x->cur_name);
      ps_param_str(&p, x->cur_name);
      ps_param_id(&p, &x->cur_id);
      ps_param_i64(&p, hi ? 1 : 0);
      ps_param_str(&p, hi ? hi->name : "");
      ps_param_str(&p, hi ? hi->name : "");
      ps_param_id(&p, hi ? &hi->id : &isect_min_id);
    } else {
      ps_param_id(&p, &x->cur_id);
      ps_param_id(&p, hi ? &hi->id : &isect_min_id);
    }
    ps_param_i64(&p, limit);
  }
  if (rows) {
    ps_param_str(&p, x->tenant);
    ps_param_i64(&p, q->states[0]);
    ps_param_i64(&p, q->states[1] ? q->states[1] : q->states[0]);
  }
  if (branches > 1) ps_param_i64(&p, limit);
  ps_sql_t *sql;
  if (rows)
    sql = x->by_name ? (branches == 4 ? &Q_SCAN_ROWS_BY_NAME4 : &Q_SCAN_ROWS_BY_NAME2)
                     : (branches == 4 ? &Q_SCAN_ROWS_NEWEST4 : &Q_SCAN_ROWS_NEWEST2);
  else
    sql = x->by_name ? (branches == 4 ? &Q_SCAN_BY_NAME4
                        : branches == 2 ? &Q_SCAN_BY_NAME2 : &Q_SCAN_BY_NAME1)
                     : (branches == 4 ? &Q_SCAN_NEWEST4
                        : branches == 2 ? &Q_SCAN_NEWEST2 : &Q_SCAN_NEWEST1);
  MYSQL_STMT *s = ps_db_exec(x->db, sql, &p, st);
  if (!s) return -1;
  isect_key_t k = {{{0}}, NULL, 0};
  ps_prospect_cols_t c;
  ps_row_t r;
  ps_row_init(&r);
  if (rows) {
    ps_store_prospect_bind(&r, &c);
  } else {
    if (x->by_name) ps_col_str(&r, &k.name);
    ps_col_id(&r, &k.id);
  }
  ps_col_int(&r, &k.marker);
  int n = 0;
  for (;;) {
    int rc = ps_db_fetch(x->db, s, &r, x->scratch, st);
    if (rc < 0) return -1;
    if (rc == 0) break;
    if (n >= limit) continue;
    if (rows) { /* the key is the record's: its terms carry its id and display_name */
      k.id = c.id;
      k.name = c.display_name;
      rows[n] = c;
    }
    keys[n++] = k;
  }
  return n;
}

/* The chunk's ids in an open-addressing table (index + 1; 0: empty) of mask + 1 slots. */
static unsigned isect_hash(const ps_id_t *id, unsigned mask) {
  uint64_t hi, lo;
  memcpy(&hi, id->b, 8);
  memcpy(&lo, id->b + 8, 8);
  uint64_t h = (hi * 0x9e3779b97f4a7c15ull) ^ (lo * 0xc2b2ae3d27d4eb4full);
  return (unsigned)(h ^ (h >> 31) ^ (h >> 47)) & mask;
}

/* The position of id among the chunk's keys, or -1. */
static int isect_find(const int *table, unsigned mask, const isect_key_t *keys, const ps_id_t *id) {
  for (unsigned h = isect_hash(id, mask);; h = (h + 1) & mask) {
    int i = table[h] - 1;
    if (i < 0) return -1;
    if (memcmp(keys[i].id.b, id->b, 16) == 0) return i;
  }
}

/* Marks in seen[] the live candidates that have term or term2 (when not NULL; ISECT_BATCH ids a
 * statement). */
static int isect_probe(isect_t *x, const char *term, const char *term2, const isect_key_t *keys,
                       const unsigned char *live, int m, const int *table, unsigned mask,
                       unsigned char *seen, ps_status_t *st) {
  const ps_list_query_t *q = x->q;
  int i = 0;
  while (i < m) {
    int batch[ISECT_BATCH], k = 0;
    for (; i < m && k < ISECT_BATCH; i++)
      if (live[i]) batch[k++] = i;
    if (k == 0) break;
    ps_params_t p;
    ps_params_init(&p);
    ps_param_str(&p, x->tenant);
    ps_param_str(&p, term);
    ps_param_str(&p, term2 ? term2 : term);
    ps_param_i64(&p, q->states[0]);
    ps_param_i64(&p, q->states[1] ? q->states[1] : q->states[0]);
    for (int j = 0; j < ISECT_BATCH; j++) ps_param_id(&p, &keys[batch[j < k ? j : k - 1]].id);
    MYSQL_STMT *s = ps_db_exec(x->db, &Q_PROBE, &p, st);
    if (!s) return -1;
    ps_id_t id;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    for (;;) {
      int rc = ps_db_fetch(x->db, s, &r, NULL, st);
      if (rc < 0) return -1;
      if (rc == 0) break;
      int at = isect_find(table, mask, keys, &id);
      if (at >= 0) seen[at] = 1;
    }
  }
  return 0;
}

static int id_desc(const void *x, const void *y) { return memcmp(y, x, sizeof(ps_id_t)); }

/* The words that drive or are merged, and their LIKE patterns for the final check. */
typedef struct isect_words {
  int n;                                      /* query words */
  const char *word[PS_SEARCH_QUERY_WORDS];    /* the query words */
  const char *pattern[PS_SEARCH_QUERY_WORDS]; /* "word%" (long) or the exact term (short) */
  int is_long[PS_SEARCH_QUERY_WORDS];
  int term_of[PS_SEARCH_QUERY_WORDS];         /* the word's term, an index into term[] */
  int long_term[PS_SEARCH_QUERY_WORDS + 1];   /* per term: only long words read through it */
  int n_terms;
  const char *term[PS_SEARCH_QUERY_WORDS + 1];  /* distinct exact terms read in order, and */
  const char *term2[PS_SEARCH_QUERY_WORDS + 1]; /* the one read with each (a pair's: its NONE) */
  int pair;                                   /* the pair term's index in term[], or -1 */
  int covered[PS_SEARCH_QUERY_WORDS + 1];     /* per term: the pair's record has it */
} isect_words_t;

/* A pattern of w for LIKE: the word and '%' (prefix) or the exact term, wildcards escaped. */
static char *like_pattern(ps_arena_t *a, const char *w, int prefix) {
  char *p = like_prefix(a, w);
  if (p && !prefix) p[strlen(p) - 1] = '\0';
  return p;
}

/* 1 when record c has, for every long word c of check[], a word starting with it: computed from its
 * text (ps_search_record_terms, into t), which gives the terms its index rows hold when every row
 * is of the current version (q->pairs). */
static int isect_text_has(const ps_prospect_cols_t *c, const isect_words_t *w, const int *check,
                          ps_search_terms_t *t) {
  ps_search_record_terms(c, t);
  for (int k = 0; k < w->n; k++) {
    if (!check[k]) continue;
    size_t n = strlen(w->word[k]);
    int found = 0;
    /* a pair term ("abc def") starts with a word only when the word's own 3-character term
     * does, and that term is among the words' terms (the pairs are added after them) */
    for (int i = 0; i < t->n_words && !found; i++) found = strncmp(t->term[i], w->word[k], n) == 0;
    if (!found) return 0;
  }
  return 1;
}

/* Copies the strings of c into a. 0, or -1 when out of memory. */
static int cols_keep(ps_arena_t *a, ps_prospect_cols_t *c) {
  char **f[] = {&c->display_name, &c->first_name,   &c->last_name,   &c->company_name,
                &c->vat_number,   &c->email,        &c->phone,       &c->website,
                &c->street,       &c->postal_code,  &c->city,        &c->country_code,
                &c->language,     &c->notes,        &c->converting_invoice};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (!(*f[i] = ps_arena_strdup(a, *f[i] ? *f[i] : ""))) return -1;
  return 0;
}

/* The live candidates in order, ISECT_EMIT at a time: the long words checked on each (check[]),
 * then the records of those left read, their state checked, and appended to ret_rows until
 * q->limit rows or the byte cap. With rows (read with the keys, isect_scan; only once every row
 * is of the current version), the records are not read again: rows[i] is keys[i]'s, and those kept
 * are copied out of the round's scratch. */
static int isect_emit(isect_t *x, const isect_words_t *w, const int *check, const isect_key_t *keys,
                      const unsigned char *live, int m, const ps_prospect_cols_t *rows,
                      ps_prospect_cols_t *ret_rows, int *ret_n, size_t *bytes, int *ret_cut,
                      ps_status_t *st) {
  const ps_list_query_t *q = x->q;
  int checks = 0;
  for (int c = 0; c < w->n; c++)
    if (check[c]) checks |= 1 << c;
  /* Once every row is of the current version, a candidate's words are those of its text: the
   * records are fetched into the round's scratch and checked here, and only those kept are
   * copied to the call's arena (one statement less per batch: 0.3-1 ms for 64 candidates). */
  int in_text = checks && q->pairs;
  if (in_text && !x->terms && !(x->terms = ps_arena_alloc(x->a, sizeof *x->terms)))
    return isect_oom(st);
  if (rows && !q->pairs) return ps_fail(st, PS_INTERNAL, "", "Rows read with keys of an old version.");
  int i = 0;
  while (i < m && *ret_n < q->limit && !*ret_cut) {
    ps_id_t ids[ISECT_EMIT];
    ps_prospect_cols_t got[ISECT_EMIT];
    unsigned char have[ISECT_EMIT] = {0};
    int k = 0;
    for (; i < m && k < ISECT_EMIT; i++)
      if (live[i]) {
        if (rows) { /* read with the keys (strings in the round's scratch) */
          got[k] = rows[i];
          have[k] = 1;
        }
        ids[k++] = keys[i].id;
      }
    size_t held0 = x->a->held;
    if (checks && !in_text && k > 0) { /* one statement for every long word: the terms tell */
      ps_params_t p;
      int cls = emit_params(&p, x->tenant, ids, k);
      int n_checks = 0;
      for (int c = 0; c < w->n; c++)
        if (check[c]) {
          ps_param_str(&p, w->pattern[c]);
          n_checks++;
        }
      MYSQL_STMT *s = ps_db_exec(x->db, &Q_VERIFY[n_checks - 1][cls], &p, st);
      if (!s) return -1;
      int found[ISECT_EMIT] = {0}; /* bit c: the record has a word starting with word c */
      ps_id_t id;
      char *term = NULL;
      ps_row_t r;
      ps_row_init(&r);
      ps_col_id(&r, &id);
      ps_col_str(&r, &term);
      for (;;) {
        int rc = ps_db_fetch(x->db, s, &r, x->scratch, st);
        if (rc < 0) return -1;
        if (rc == 0) break;
        for (int j = 0; j < k; j++)
          if (memcmp(ids[j].b, id.b, 16) == 0) {
            for (int c = 0; c < w->n; c++)
              if (check[c] && strncmp(term, w->word[c], strlen(w->word[c])) == 0) found[j] |= 1 << c;
            break;
          }
      }
      int kept = 0;
      for (int j = 0; j < k; j++)
        if (found[j] == checks) ids[kept++] = ids[j];
      k = kept;
    }
    if (k == 0) continue;
    if (!rows) {
      MYSQL_STMT *s = fetch_ids(x->db, x->tenant, ids, k, q->states[0],
                                q->states[1] ? q->states[1] : q->states[0], st);
      if (!s) return -1;
      for (;;) {
        ps_prospect_cols_t c;
        ps_row_t r;
        ps_row_init(&r);
        ps_store_prospect_bind(&r, &c);
        int rc = ps_db_fetch(x->db, s, &r, in_text ? x->scratch : x->a, st);
        if (rc < 0) return -1;
        if (rc == 0) break;
        for (int j = 0; j < k; j++)
          if (!have[j] && memcmp(ids[j].b, c.id.b, 16) == 0) {
            got[j] = c;
            have[j] = 1;
            break;
          }
      }
    }
    if (in_text || rows) /* in the page's order, so that the copies stop where the page is full */
      for (int j = 0, kept = *ret_n; j < k; j++) {
        if (!have[j]) continue;
        if (kept >= q->limit || (in_text && !isect_text_has(&got[j], w, check, x->terms))) {
          have[j] = 0;
          continue;
        }
        if (cols_keep(x->a, &got[j]) != 0) return isect_oom(st);
        kept++;
      }
    *bytes += x->a->held - held0;
    for (int j = 0; j < k && *ret_n < q->limit; j++)
      if (have[j]) ret_rows[(*ret_n)++] = got[j];
    if (q->max_bytes && *ret_n > 0 && *bytes >= q->max_bytes) *ret_cut = 1;
  }
  return 0;
}

/* The first long word (longest first: the likeliest to be rare; of the first `words` query words)
 * with fewer than max_rows (at most ISECT_SET_ROWS) rows in the index: *ret_word (-1: none) and its
 * records in the states, newest first, in the call's arena. 0, or -1 with st set. */
static int isect_find_set(isect_t *x, const isect_words_t *w, int words, int max_rows,
                          int *ret_word, ps_id_t **ret_set, int *ret_n, ps_status_t *st) {
  const ps_list_query_t *q = x->q;
  *ret_word = -1;
  for (int i = 0; i < w->n && i < words; i++) {
    if (!w->is_long[i]) continue;
    ps_id_t *ids = ps_arena_alloc(x->a, sizeof *ids * (size_t)max_rows);
    if (!ids) return isect_oom(st);
    ps_params_t p;
    ps_params_init(&p);
    ps_param_str(&p, x->tenant);
    ps_param_str(&p, w->pattern[i]);
    ps_param_i64(&p, max_rows);
    MYSQL_STMT *s = ps_db_exec(x->db, &Q_SET_IDS, &p, st);
    if (!s) return -1;
    ps_id_t id;
    int state = 0;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    ps_col_int(&r, &state);
    int rows = 0, n = 0;
    for (;;) {
      int f = ps_db_fetch(x->db, s, &r, NULL, st);
      if (f < 0) return -1;
      if (f == 0) break;
      rows++;
      if (n < max_rows && (state == q->states[0] || (q->states[1] && state == q->states[1])))
        ids[n++] = id;
    }
    if (rows >= max_rows) continue;
    qsort(ids, (size_t)n, sizeof *ids, id_desc);
    int k = 0; /* one id per record */
    for (int j = 0; j < n; j++)
      if (k == 0 || memcmp(ids[k - 1].b, ids[j].b, 16) != 0) ids[k++] = ids[j];
    *ret_word = i;
    *ret_set = ids;
    *ret_n = k;
    return 0;
  }
  return 0;
}

/* The rounds: driver chunk, merges, fetch; until the page is full or the driver is exhausted. */
static int isect_run(isect_t *x, isect_words_t *w, ps_prospect_cols_t *ret_rows, int *ret_n,
                     int *ret_cut, ps_status_t *st) {
  const ps_list_query_t *q = x->q;
  size_t bytes = 0;
  int driver = w->pair >= 0 ? w->pair : w->term_of[0]; /* a term, or -1: the set of set_word */
  int set_word = -1, set_n = 0, set_pos = 0, tested = 0;
  ps_id_t *set = NULL;        /* newest first; set_pos: the next one */
  /* a pair's records have both words (but for the long words' check): a page's worth first */
  int chunk = w->pair >= 0 ? q->limit : q->limit * 4;
  if (chunk < ISECT_CHUNK_MIN) chunk = ISECT_CHUNK_MIN;
  if (chunk > ISECT_CHUNK_MAX) chunk = ISECT_CHUNK_MAX;
  /* A pair's first chunk is checked on the long words record by record. When the longest word is
   * rare (an e-mail address, a surname), its own few records are cheaper to start from: one short
   * read tells (up to ISECT_RARE_ROWS of its index rows). */
  if (w->pair >= 0) {
    if (isect_find_set(x, w, 1, ISECT_RARE_ROWS, &set_word, &set, &set_n, st) != 0) return -1;
    if (set_word >= 0) {
      if (set_n == 0) return 0; /* no record has the word */
      driver = -1;
      while (set_pos < set_n && memcmp(set[set_pos].b, x->cur_id.b, 16) >= 0) set_pos++;
    }
  }
  /* A pair that covers every word (two words) reads its first chunk, about a page, with the
   * records: nothing but the marker's keys is looked up before they go to the page. */
  int covers_all = w->pair >= 0;
  for (int t = 0; t < w->n_terms; t++)
    if (t != w->pair && !w->covered[t]) covers_all = 0;
  for (int round = 0;; round++) {
    ps_arena_reset(x->scratch);
    /* the driver's chunk */
    int m, want = driver < 0 && x->by_name ? ISECT_SET_ROWS : chunk;
    isect_key_t *keys = ps_arena_alloc(x->scratch, sizeof *keys * (size_t)want);
    if (!keys) return isect_oom(st);
    ps_prospect_cols_t *rows = NULL;
    if (round == 0 && covers_all && driver == w->pair &&
        !(rows = ps_arena_alloc(x->scratch, sizeof *rows * (size_t)want)))
      return isect_oom(st);
    if (driver >= 0) {
      if ((m = isect_scan(x, w->term[driver], w->term2[driver], NULL, want, keys, rows, st)) < 0)
        return -1;
    } else if (!x->by_name) {
      for (m = 0; m < want && set_pos < set_n; m++) {
        keys[m].id = set[set_pos++];
        keys[m].marker = 0;
      }
    } else { /* the whole rest of the set, in one sorted read */
      ps_params_t p;
      ps_params_init(&p);
      ps_param_str(&p, x->tenant);
      ps_param_str(&p, w->pattern[set_word]);
      ps_param_i64(&p, q->states[0]);
      ps_param_i64(&p, q->states[1] ? q->states[1] : q->states[0]);
      ps_param_str(&p, x->cur_name);
      ps_param_str(&p, x->cur_name);
      ps_param_id(&p, &x->cur_id);
      ps_param_i64(&p, want);
      MYSQL_STMT *s = ps_db_exec(x->db, &Q_SET_BY_NAME, &p, st);
      if (!s) return -1;
      isect_key_t k = {{{0}}, NULL, 0};
      ps_row_t r;
      ps_row_init(&r);
      ps_col_str(&r, &k.name);
      ps_col_id(&r, &k.id);
      for (m = 0;;) {
        int rc = ps_db_fetch(x->db, s, &r, x->scratch, st);
        if (rc < 0) return -1;
        if (rc == 0) break;
        if (m < want) keys[m++] = k;
      }
    }
    if (m == 0) return 0;
    unsigned mask = 63;
    while (mask + 1 < 2 * (unsigned)m) mask = mask * 2 + 1;
    int *table = ps_arena_alloc(x->scratch, sizeof *table * (mask + 1));
    unsigned char *live = ps_arena_alloc(x->scratch, (size_t)m);
    unsigned char *seen = ps_arena_alloc(x->scratch, (size_t)m);
    if (!table || !live || !seen) return isect_oom(st);
    for (int i = 0; i < m; i++) {
      unsigned h = isect_hash(&keys[i].id, mask);
      while (table[h]) h = (h + 1) & mask;
      table[h] = i + 1;
      live[i] = 1;
    }
    int n_live = m;
    /* the other terms over the same stretch */
    int next_driver = driver, fewest = m / 2;
    for (int t = 0; t < w->n_terms && n_live > 0; t++) {
      if (t == driver || (driver < 0 && t == w->term_of[set_word])) continue; /* has them all */
      /* not driving, a pair filters nothing that its two words' terms do not */
      if (t == w->pair) continue;
      if (driver >= 0 && driver == w->pair && w->covered[t]) {
        /* a record read through the pair has both its words' terms: only those read through
         * the marker (no pair terms) are looked up */
        int marked = 0;
        for (int i = 0; i < m; i++) {
          seen[i] = !keys[i].marker;
          if (live[i] && keys[i].marker) marked = 1;
        }
        if (marked) {
          unsigned char *look = ps_arena_alloc(x->scratch, (size_t)m);
          if (!look) return isect_oom(st);
          for (int i = 0; i < m; i++) look[i] = live[i] && keys[i].marker;
          if (isect_probe(x, w->term[t], w->term2[t], keys, look, m, table, mask, seen, st) != 0)
            return -1;
        }
      } else if (driver < 0 && n_live <= ISECT_BATCH) { /* a few records of a set: one lookup */
        memset(seen, 0, (size_t)m);
        if (isect_probe(x, w->term[t], w->term2[t], keys, live, m, table, mask, seen, st) != 0)
          return -1;
      } else {
        int cap = ISECT_SCAN_FACTOR * n_live + 64;
        isect_key_t *other = ps_arena_alloc(x->scratch, sizeof *other * (size_t)cap);
        if (!other) return isect_oom(st);
        int n = isect_scan(x, w->term[t], w->term2[t], &keys[m - 1], cap, other, NULL, st);
        if (n < 0) return -1;
        memset(seen, 0, (size_t)m);
        if (n < cap) { /* the whole stretch: merge */
          for (int j = 0; j < n; j++) {
            int i = isect_find(table, mask, keys, &other[j].id);
            if (i >= 0) seen[i] = 1;
          }
          if (driver >= 0 && n < fewest) {
            fewest = n;
            next_driver = t;
          }
        } else if (isect_probe(x, w->term[t], w->term2[t], keys, live, m, table, mask, seen, st) !=
                   0) {
          return -1;
        }
      }
      for (int i = 0; i < m; i++)
        if (live[i] && !seen[i]) {
          live[i] = 0;
          n_live--;
        }
    }
    /* the long words are checked on the record (their terms are their first characters) */
    int check[PS_SEARCH_QUERY_WORDS];
    for (int i = 0; i < w->n; i++) check[i] = i != set_word && w->is_long[i];
    if (n_live > 0 &&
        isect_emit(x, w, check, keys, live, m, rows, ret_rows, ret_n, &bytes, ret_cut, st) != 0)
      return -1;
    if (*ret_n >= q->limit || *ret_cut || m < want) return 0;
    /* the next chunk starts after this one */
    x->cur_id = keys[m - 1].id;
    if (x->by_name && !(x->cur_name = ps_arena_strdup(x->a, keys[m - 1].name))) return isect_oom(st);
    if (chunk < ISECT_CHUNK_MAX) chunk *= 2;
    driver = next_driver;
    /* The page did not fill: the combination is not common. When a long word's first characters
     * (or a pair of them) would go on driving, see (once) whether one of the long words has few
     * records: an e-mail address's pair ("bra zig") is as common as its first name and domain. */
    if (!tested && driver >= 0 && (w->long_term[driver] || driver == w->pair)) {
      tested = 1;
      if (isect_find_set(x, w, w->n, ISECT_SET_ROWS, &set_word, &set, &set_n, st) != 0) return -1;
      if (set_word >= 0) {
        if (set_n == 0) return 0; /* no record has the word */
        driver = -1;
        while (set_pos < set_n && memcmp(set[set_pos].b, x->cur_id.b, 16) >= 0) set_pos++;
      }
    }
  }
}

/* Several words (q->n_words >= 2): see the comment above ISECT_CHUNK_MIN. */
static int list_intersect(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q,
                          ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st) {
  *ret_n = 0;
  *ret_cut = 0;
  isect_words_t w;
  memset(&w, 0, sizeof w);
  w.n = q->n_words;
  for (int i = 0; i < w.n; i++) {
    const char *word = w.word[i] = q->words[i];
    w.is_long[i] = ps_utf8_chars(word) > PS_SEARCH_PREFIX_MAX;
    if (!(w.pattern[i] = like_pattern(a, word, w.is_long[i]))) return isect_oom(st);
    size_t b = char_prefix(word, strlen(word), PS_SEARCH_PREFIX_MAX);
    char *term = ps_arena_strndup(a, word, b);
    if (!term) return isect_oom(st);
    int t = 0;
    while (t < w.n_terms && strcmp(w.term[t], term) != 0) t++;
    if (t == w.n_terms) {
      w.long_term[t] = 1;
      w.term[w.n_terms++] = term;
    }
    if (!w.is_long[i]) w.long_term[t] = 0;
    w.term_of[i] = t;
  }
  /* the pair of the first two words (longest first) with pairable terms that differ */
  w.pair = -1;
  for (int i = 0; q->pairs && i < w.n && w.pair < 0; i++)
    for (int j = i + 1; j < w.n && w.pair < 0; j++) {
      const char *a3 = w.term[w.term_of[i]], *b3 = w.term[w.term_of[j]];
      if (!ps_search_pairable(a3) || !ps_search_pairable(b3) || strcmp(a3, b3) == 0) continue;
      char *pair = ps_arena_alloc(a, PS_SEARCH_PAIR_BYTES);
      if (!pair) return isect_oom(st);
      ps_search_pair_term(a3, b3, pair);
      w.covered[w.term_of[i]] = w.covered[w.term_of[j]] = 1;
      w.pair = w.n_terms;
      w.term[w.n_terms] = pair;
      w.term2[w.n_terms++] = PS_SEARCH_PAIRS_NONE;
    }
  isect_t x;
  memset(&x, 0, sizeof x);
  x.db = db;
  x.a = a;
  x.tenant = tenant;
  x.q = q;
  x.by_name = q->order == PS_LIST_BY_NAME;
  x.two_states = q->states[1] != 0;
  x.cur_id = q->has_cursor ? q->after_id : x.by_name ? isect_min_id : isect_max_id;
  x.cur_name = q->has_cursor && q->after_name ? q->after_name : "";
  ps_arena_t scratch;
  if (ps_arena_init(&scratch, 64 * 1024) != 0) {
    ps_arena_destroy(&scratch);
    return isect_oom(st);
  }
  ps_arena_set_limit(&scratch, ISECT_SCRATCH_MAX);
  x.scratch = &scratch;
  if (ps_db_begin_snapshot(db, st) != 0) {
    ps_arena_destroy(&scratch);
    return -1;
  }
  int rc = isect_run(&x, &w, ret_rows, ret_n, ret_cut, st);
  ps_db_end_snapshot(db);
  ps_arena_destroy(&scratch);
  return rc;
}

/* Runs the one statement of a listing of at most one word, or of a short driving word and one
 * further word checked on each candidate (list_one; no word: the overview indexes; a word of up to 3
 * characters: its exact term in index order; longer: the range of the whole words starting with it,
 * sorted). *ret_over is set when a range statement examined RANGE_EXAMINED_MAX rows and stopped:
 * its rows are not to be used. */
static int list_run(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q,
                    ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, int *ret_over,
                    ps_status_t *st) {
  *ret_over = 0;
  static const ps_id_t max_id = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0xff, 0xff, 0xff, 0xff, 0xff}};
  static const ps_id_t min_id = {{0}};
  int by_name = q->order == PS_LIST_BY_NAME;
  int words = q->n_words > 0;
  int exact = words && ps_utf8_chars(q->words[0]) <= PS_SEARCH_PREFIX_MAX;
  int range = words && !exact;
  int checked = q->n_words == 2;
  if (q->n_words > 2 || (range && checked)) /* several words go to list_intersect */
    return ps_fail(st, PS_INTERNAL, "", "Internal error.");
  int one = !range && !q->states[1]; /* one state, read in index order (ONE_PLAIN_NEWEST) */
  int drive = !words ? DRIVE_NONE : range ? DRIVE_RANGE : checked ? DRIVE_CHECKED : DRIVE_EXACT;
  ps_sql_t *sql = LIST_SQL[one][drive][by_name];
  const char *driver = NULL, *pattern = NULL;
  if (words) {
    driver = exact ? q->words[0] : like_prefix(a, q->words[0]);
    if (!driver || (checked && !(pattern = like_prefix(a, q->words[1]))))
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  }
  const ps_id_t *after = q->has_cursor ? &q->after_id : by_name ? &min_id : &max_id;
  const char *after_name = q->has_cursor && q->after_name ? q->after_name : "";
  int64_t state2 = q->states[1] ? q->states[1] : q->states[0];

  ps_params_t p;
  ps_params_init(&p);
  for (int b = 0; b < 2; b++) {
    ps_param_str(&p, tenant);
    if (words) ps_param_str(&p, driver);
    ps_param_i64(&p, q->states[range ? 0 : b]);
    if (range) ps_param_i64(&p, state2);
    if (by_name) {
      ps_param_str(&p, after_name);
      ps_param_str(&p, after_name);
    }
    ps_param_id(&p, after);
    if (checked) ps_param_str(&p, pattern);
    if (one) break;
    /* the second branch reads the second state: none with one state, or with a range (both) */
    ps_param_i64(&p, b == 1 && (range || !q->states[1]) ? 0 : q->limit);
  }
  if (one) { /* the record's state (a word's), then the page */
    if (words) ps_param_i64(&p, q->states[0]);
    ps_param_i64(&p, q->limit);
  } else {
    ps_param_str(&p, tenant);
    ps_param_i64(&p, q->states[0]);
    ps_param_i64(&p, state2);
    ps_param_i64(&p, q->limit);
    if (range) ps_param_i64(&p, RANGE_EXAMINED_MAX);
  }

  MYSQL_STMT *s = ps_db_exec(db, sql, &p, st);
  if (!s) return -1;
  /* a range's result (a page) is read whole first, to know whether it stopped at
   * RANGE_EXAMINED_MAX; any warning counts as that, and sends the listing the other way, which is
   * always right */
  if (range && (ps_db_store_examined(db, s, ret_over, st) != 0 || *ret_over))
    return *ret_over ? 0 : -1;
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

/* One listing (the words of q only). A long single word drives by the whole words starting with it,
 * sorted, unless that statement stops at RANGE_EXAMINED_MAX rows: a word with that many records is
 * dense, and reading its first characters' term in index order, the whole word checked on each
 * candidate, fills a page after a few candidates. (Before, a capped count of the word's index rows
 * chose between the two, and a rare word read its range twice.) */
static int list_one(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q_in,
                    ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st) {
  if (q_in->n_words > 1) return list_intersect(db, a, tenant, q_in, ret_rows, ret_n, ret_cut, st);
  int over = 0;
  if (list_run(db, a, tenant, q_in, ret_rows, ret_n, ret_cut, &over, st) != 0) return -1;
  if (!over) return 0;
  ps_list_query_t q = *q_in;
  const char *w = q.words[0];
  size_t b = 0, chars = 0;
  for (; w[b]; b++)
    if (((unsigned char)w[b] & 0xC0) != 0x80 && chars++ == PS_SEARCH_PREFIX_MAX) break;
  char *prefix_driver = ps_arena_strndup(a, w, b);
  if (!prefix_driver) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  q.words[1] = w;
  q.words[0] = prefix_driver;
  q.n_words = 2;
  return list_run(db, a, tenant, &q, ret_rows, ret_n, ret_cut, &over, st);
}

/* ------------------------------------------------------------------------------ old words */

/* While the reindex has not rebuilt every row, a row of version 1 is indexed under its version-1
 * words: the listing of the current words and the listing of the old words are read with the same
 * cursor and merged. Newest first is id order, merged here; by name, the order of the column's
 * collation, which only the database knows: it orders the union's ids (one statement over at most
 * two pages of primary keys). Records deleted in between drop out of that statement. The work is
 * done only for queries whose words fold differently in version 1 (not ASCII ones), and only until
 * the reindex is done (store/search.h, service/prospects.c). */
static ps_sql_t Q_UNION_BY_NAME = PS_SQL(
    "SELECT p.id FROM JSON_TABLE(?, '$[*]' COLUMNS (h CHAR(32) CHARACTER SET ascii PATH '$')) j"
    " STRAIGHT_JOIN prospects p FORCE INDEX (PRIMARY) ON p.tenant_id = ? AND p.id = UNHEX(j.h)"
    " ORDER BY p.display_name, p.id");

int ps_search_union_keep(int n, const int incomplete[2], const int last[2], int limit) {
  int keep = n < limit ? n : limit;
  for (int k = 0; k < 2; k++)
    if (incomplete[k] && last[k] + 1 < keep) keep = last[k] + 1 < 0 ? 0 : last[k] + 1;
  return keep;
}

static int cmp_id_desc(const void *x, const void *y) {
  const ps_prospect_cols_t *const *a = x, *const *b = y;
  return memcmp((*b)->id.b, (*a)->id.b, 16);
}

static int cmp_id_asc(const void *x, const void *y) {
  const ps_prospect_cols_t *const *a = x, *const *b = y;
  return memcmp((*a)->id.b, (*b)->id.b, 16);
}

/* The record with this id among the n sorted by id ascending, or NULL. */
static ps_prospect_cols_t *find_id(ps_prospect_cols_t **by_id, int n, const ps_id_t *id) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = (lo + hi) / 2, c = memcmp(by_id[mid]->id.b, id->b, 16);
    if (c == 0) return by_id[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int list_union(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q,
                      ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st) {
  ps_prospect_cols_t *rows[2];
  int n[2] = {0, 0}, cut[2] = {0, 0};
  /* The old words first: the reindex only ever takes a row from its old words to its current
   * ones, so a row it rebuilds between the two reads is found by one of them. */
  for (int k = 0; k < 2; k++) {
    ps_list_query_t one = *q;
    one.n_old_words = 0;
    if (k == 0) {
      one.n_words = q->n_old_words;
      for (int i = 0; i < one.n_words; i++) one.words[i] = q->old_words[i];
    }
    if (!(rows[k] = ps_arena_alloc(a, sizeof *rows[k] * (size_t)q->limit)))
      return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
    if (list_one(db, a, tenant, &one, rows[k], &n[k], &cut[k], st) != 0) return -1;
  }
  /* the distinct records, by id */
  int total = n[0] + n[1], m = 0;
  ps_prospect_cols_t **by_id = ps_arena_alloc(a, sizeof *by_id * (size_t)(total ? total : 1));
  ps_prospect_cols_t **order = ps_arena_alloc(a, sizeof *order * (size_t)(total ? total : 1));
  if (!by_id || !order) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < n[k]; i++) by_id[m++] = &rows[k][i];
  qsort(by_id, (size_t)m, sizeof *by_id, cmp_id_asc);
  int d = 0;
  for (int i = 0; i < m; i++)
    if (d == 0 || memcmp(by_id[d - 1]->id.b, by_id[i]->id.b, 16) != 0) by_id[d++] = by_id[i];
  m = d;
  /* in the page's order */
  int o = 0;
  if (q->order == PS_LIST_NEWEST || m < 2) {
    memcpy(order, by_id, sizeof *order * (size_t)m);
    qsort(order, (size_t)m, sizeof *order, cmp_id_desc);
    o = m;
  } else {
    char *json = ps_arena_alloc(a, (size_t)m * 35 + 3);
    if (!json) return ps_fail(st, PS_RESOURCE_EXHAUSTED, "", "Out of memory.");
    size_t len = 0;
    json[len++] = '[';
    for (int i = 0; i < m; i++) {
      static const char hex[] = "0123456789ABCDEF";
      if (i) json[len++] = ',';
      json[len++] = '"';
      for (int b = 0; b < 16; b++) {
        json[len++] = hex[by_id[i]->id.b[b] >> 4];
        json[len++] = hex[by_id[i]->id.b[b] & 15];
      }
      json[len++] = '"';
    }
    json[len++] = ']';
    json[len] = '\0';
    ps_params_t p;
    ps_params_init(&p);
    ps_param_str(&p, json);
    ps_param_str(&p, tenant);
    MYSQL_STMT *s = ps_db_exec(db, &Q_UNION_BY_NAME, &p, st);
    if (!s) return -1;
    ps_id_t id;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    for (;;) {
      int rc = ps_db_fetch(db, s, &r, NULL, st);
      if (rc < 0) return -1;
      if (rc == 0) break;
      ps_prospect_cols_t *c = find_id(by_id, m, &id);
      if (c && o < m) order[o++] = c;
    }
  }
  /* up to where both listings are known */
  int incomplete[2], last[2];
  for (int k = 0; k < 2; k++) {
    incomplete[k] = cut[k] || n[k] >= q->limit;
    last[k] = -1;
    for (int i = 0; i < o; i++) /* by id: a record both found may be the other listing's copy */
      if (n[k] > 0 && memcmp(order[i]->id.b, rows[k][n[k] - 1].id.b, 16) == 0) last[k] = i;
    if (incomplete[k] && last[k] < 0) /* its last record is gone: the one before that is there */
      for (int j = n[k] - 2; j >= 0 && last[k] < 0; j--)
        for (int i = 0; i < o; i++)
          if (memcmp(order[i]->id.b, rows[k][j].id.b, 16) == 0) last[k] = i;
  }
  int keep = ps_search_union_keep(o, incomplete, last, q->limit);
  for (int i = 0; i < keep; i++) ret_rows[i] = *order[i];
  *ret_n = keep;
  *ret_cut = keep < q->limit && (incomplete[0] || incomplete[1]);
  return 0;
}

int ps_store_prospect_list(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_list_query_t *q,
                           ps_prospect_cols_t *ret_rows, int *ret_n, int *ret_cut, ps_status_t *st) {
  if (q->n_old_words > 0 && q->n_words > 0)
    return list_union(db, a, tenant, q, ret_rows, ret_n, ret_cut, st);
  return list_one(db, a, tenant, q, ret_rows, ret_n, ret_cut, st);
}

/* ------------------------------------------------------------------------------ duplicates */

/* Each lookup names its index: for ORDER BY id DESC LIMIT the optimizer may otherwise walk the
 * primary key (tenant_id, id) backwards and test every record of the tenant (measured: 40 ms at a
 * million records instead of under 5). */

static ps_sql_t Q_DUP_NAME = PS_SQL("SELECT " PS_PROSPECT_COLUMNS " FROM prospects FORCE INDEX (prospects_dup_name)"
                                    " WHERE tenant_id = ? AND name_key = ? ORDER BY id DESC LIMIT ?");

/* The three exact keys in one statement, one round trip: each branch names its index and keeps
 * its order and limit, and says which key it is (dup_key: a ps_dup_key_t). An empty key binds
 * NULL, which equals nothing. */
#define DUP_BRANCH(index, column, key)                                                          \
  "(SELECT " PS_PROSPECT_COLUMNS ", " key " AS dup_key FROM prospects FORCE INDEX (" index ")"   \
  " WHERE tenant_id = ? AND " column " = ? ORDER BY id DESC LIMIT ?)"
static ps_sql_t Q_DUP_EXACT = PS_SQL(
    DUP_BRANCH("prospects_dup_email", "email_norm", "0") " UNION ALL "
    DUP_BRANCH("prospects_dup_vat", "vat_norm", "1") " UNION ALL "
    DUP_BRANCH("prospects_dup_phone", "phone_norm", "2"));
_Static_assert(PS_DUP_EMAIL == 0 && PS_DUP_VAT == 1 && PS_DUP_PHONE == 2, "the branches' dup_key");

/* Reads the rows of s through fn (all of them: the result set must be drained); with key < 0,
 * each row's key is its last column (Q_DUP_EXACT). */
static int dups_rows(ps_db_t *db, ps_arena_t *a, MYSQL_STMT *s, int key, ps_dup_fn fn, void *arg,
                     ps_status_t *st) {
  int stop = 0;
  for (;;) {
    ps_prospect_cols_t c;
    int row_key = key;
    ps_row_t r;
    ps_row_init(&r);
    ps_store_prospect_bind(&r, &c);
    if (key < 0) ps_col_int(&r, &row_key);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    if (row_key < PS_DUP_EMAIL || row_key > PS_DUP_NAME) continue; /* never: the statement's */
    if (!stop && fn(arg, &c, (ps_dup_key_t)row_key) != 0) stop = 1;
  }
}

/* The intersection's fetch (one statement for up to ISECT_EMIT ids), in both states: every record
 * is a prospect or a customer. */
int ps_store_prospect_dups_ids(ps_db_t *db, ps_arena_t *a, const char *tenant, const ps_id_t *ids,
                               int n, ps_dup_fn fn, void *arg, ps_status_t *st) {
  for (int at = 0; at < n; at += ISECT_EMIT) {
    MYSQL_STMT *s = fetch_ids(db, tenant, ids + at, n - at < ISECT_EMIT ? n - at : ISECT_EMIT,
                              PROSPECTS__V1__PROSPECT_STATE__PROSPECT,
                              PROSPECTS__V1__PROSPECT_STATE__CUSTOMER, st);
    if (!s || dups_rows(db, a, s, PS_DUP_NAME, fn, arg, st) != 0) return -1;
  }
  return 0;
}

int ps_store_prospect_dups_exact(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *email,
                                 const char *vat, const char *phone, int limit, ps_dup_fn fn,
                                 void *arg, ps_status_t *st) {
  const char *v[] = {email, vat, phone};
  if (!(email && *email) && !(vat && *vat) && !(phone && *phone)) return 0; /* nothing to compare */
  ps_params_t p;
  ps_params_init(&p);
  for (int k = 0; k < 3; k++) {
    ps_param_str(&p, tenant);
    ps_param_str_or_null(&p, v[k]);
    ps_param_i64(&p, limit);
  }
  MYSQL_STMT *s = ps_db_exec(db, &Q_DUP_EXACT, &p, st);
  if (!s) return -1;
  return dups_rows(db, a, s, -1, fn, arg, st);
}

int ps_store_prospect_dups_name(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *name_key,
                                int limit, ps_dup_fn fn, void *arg, ps_status_t *st) {
  if (!name_key || !*name_key) return 0; /* nothing to compare */
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, name_key);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_DUP_NAME, &p, st);
  if (!s) return -1;
  return dups_rows(db, a, s, PS_DUP_NAME, fn, arg, st);
}

/* The keys drive: one lookup of index prospects_dup_name per key (the same collation as the
 * column, or the index is not used). */
static ps_sql_t Q_DUP_NAMES = PS_SQL(
    "SELECT " PS_PROSPECT_COLUMNS " FROM JSON_TABLE(?, '$[*]' COLUMNS (k VARCHAR(255)"
    " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) j STRAIGHT_JOIN prospects"
    " FORCE INDEX (prospects_dup_name) ON prospects.tenant_id = ? AND prospects.name_key = j.k"
    " LIMIT ?");
/* The first `limit` records of the term's index range: ids and display names, no row read. */
static ps_sql_t Q_DUP_WORD = PS_SQL(
    "SELECT id, display_name FROM prospect_terms WHERE tenant_id = ? AND term = ? LIMIT ?");

int ps_store_prospect_dups_names(ps_db_t *db, ps_arena_t *a, const char *tenant,
                                 const char *keys_json, int limit, ps_dup_fn fn, void *arg,
                                 ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, keys_json);
  ps_param_str(&p, tenant);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_DUP_NAMES, &p, st);
  if (!s) return -1;
  return dups_rows(db, a, s, PS_DUP_NAME, fn, arg, st);
}

int ps_store_prospect_dups_word(ps_db_t *db, ps_arena_t *a, const char *tenant, const char *word,
                                int limit, ps_dup_name_fn fn, void *arg, ps_status_t *st) {
  ps_params_t p;
  ps_params_init(&p);
  ps_param_str(&p, tenant);
  ps_param_str(&p, word);
  ps_param_i64(&p, limit);
  MYSQL_STMT *s = ps_db_exec(db, &Q_DUP_WORD, &p, st);
  if (!s) return -1;
  int stop = 0;
  for (;;) {
    ps_id_t id;
    char *name = NULL;
    ps_row_t r;
    ps_row_init(&r);
    ps_col_id(&r, &id);
    ps_col_str(&r, &name);
    int rc = ps_db_fetch(db, s, &r, a, st);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    if (!stop && fn(arg, &id, name) != 0) stop = 1; /* the result set must be drained */
  }
}
