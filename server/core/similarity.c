/* Closeness of name keys for the fuzzy duplicate check. Keys are decoded to code points once;
 * everything else works on those arrays, on the stack (PS_SIM_CHARS_MAX characters). */
#include "core/similarity.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX PS_SIM_CHARS_MAX
#define MAX_WORDS 16

typedef struct cps {
  uint32_t c[MAX];
  int n;       /* characters kept */
  int cut;     /* the key had more than MAX */
} cps_t;

/* Decodes valid UTF-8 (as ps_norm_name writes it); a stray byte counts as one character. */
static void decode(const char *s, cps_t *r) {
  const unsigned char *p = (const unsigned char *)s;
  r->n = 0;
  r->cut = 0;
  while (*p) {
    if (r->n == MAX) {
      r->cut = 1;
      return;
    }
    uint32_t c = *p;
    int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    if (len > 1) {
      c &= 0x3Fu >> (len - 1);
      for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
          len = 1;
          c = *p;
          break;
        }
        c = (c << 6) | (p[i] & 0x3F);
      }
    }
    r->c[r->n++] = c;
    p += len;
  }
}

/* UTF-8 of c into out (4 bytes room); returns the bytes written. */
static size_t encode(uint32_t c, char *out) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xC0 | (c >> 6));
    out[1] = (char)(0x80 | (c & 0x3F));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xE0 | (c >> 12));
    out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (c >> 18));
  out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
  out[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

/* Three rows of the distance table: i-2, i-1 and i. */
static int osa(const uint32_t *a, int n, const uint32_t *b, int m) {
  int r[3][MAX + 1];
  for (int j = 0; j <= m; j++) r[0][j] = j;
  for (int i = 1; i <= n; i++) {
    int *cur = r[i % 3], *up = r[(i - 1) % 3], *up2 = r[(i + 1) % 3]; /* (i - 2) % 3 */
    cur[0] = i;
    for (int j = 1; j <= m; j++) {
      int cost = a[i - 1] != b[j - 1];
      int v = up[j] + 1;
      if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
      if (up[j - 1] + cost < v) v = up[j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && up2[j - 2] + 1 < v)
        v = up2[j - 2] + 1;
      cur[j] = v;
    }
  }
  return r[n % 3][m];
}

int ps_sim_edit_distance(const char *a, const char *b) {
  cps_t x, y;
  decode(a, &x);
  decode(b, &y);
  return osa(x.c, x.n, y.c, y.n);
}

/* ---------------------------------------------------------------------------------- words */

typedef struct words {
  int n;
  int start[MAX_WORDS], len[MAX_WORDS]; /* in characters of the decoded key */
} words_t;

static void split(const cps_t *k, words_t *w) {
  w->n = 0;
  int i = 0;
  while (i < k->n && w->n < MAX_WORDS) {
    while (i < k->n && k->c[i] == ' ') i++;
    int s = i;
    while (i < k->n && k->c[i] != ' ') i++;
    if (i > s) {
      w->start[w->n] = s;
      w->len[w->n] = i - s;
      w->n++;
    }
  }
}

static int word_cmp(const cps_t *k, const words_t *w, int x, int y) {
  int n = w->len[x] < w->len[y] ? w->len[x] : w->len[y];
  for (int i = 0; i < n; i++) {
    uint32_t a = k->c[w->start[x] + i], b = k->c[w->start[y] + i];
    if (a != b) return a < b ? -1 : 1;
  }
  return w->len[x] - w->len[y];
}

/* The key's words in sorted order, one space apart. */
static void sorted(const cps_t *k, cps_t *out) {
  words_t w;
  split(k, &w);
  int order[MAX_WORDS];
  for (int i = 0; i < w.n; i++) {
    int j = i;
    while (j > 0 && word_cmp(k, &w, order[j - 1], i) > 0) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  out->n = 0;
  out->cut = k->cut;
  for (int i = 0; i < w.n; i++) {
    if (i) out->c[out->n++] = ' ';
    memcpy(out->c + out->n, k->c + w.start[order[i]], sizeof(uint32_t) * (size_t)w.len[order[i]]);
    out->n += w.len[order[i]];
  }
}

static int same(const cps_t *a, const cps_t *b) {
  return a->n == b->n && memcmp(a->c, b->c, sizeof(uint32_t) * (size_t)a->n) == 0;
}

/* 1 when the words of s are a run of consecutive words of l (and fewer). */
static int run_of(const cps_t *s, const cps_t *l) {
  words_t ws, wl;
  split(s, &ws);
  split(l, &wl);
  if (ws.n == 0 || ws.n >= wl.n) return 0;
  for (int at = 0; at + ws.n <= wl.n; at++) {
    int ok = 1;
    for (int i = 0; i < ws.n && ok; i++) {
      int a = ws.start[i], b = wl.start[at + i];
      ok = ws.len[i] == wl.len[at + i] &&
           memcmp(s->c + a, l->c + b, sizeof(uint32_t) * (size_t)ws.len[i]) == 0;
    }
    if (ok) return 1;
  }
  return 0;
}

/* Characters other than spaces. */
static int letters(const cps_t *k) {
  int n = 0;
  for (int i = 0; i < k->n; i++) n += k->c[i] != ' ';
  return n;
}

double ps_sim_names(const char *a, const char *b, ps_sim_kind_t *ret_kind) {
  *ret_kind = PS_SIM_NONE;
  if (!a || !b || !*a || !*b) return 0;
  if (strcmp(a, b) == 0) {
    *ret_kind = PS_SIM_EQUAL;
    return 1;
  }
  cps_t x, y;
  decode(a, &x);
  decode(b, &y);
  if (x.n < 3 || y.n < 3) return 0;
  double best = 0;
  ps_sim_kind_t kind = PS_SIM_NONE;
  cps_t sx, sy;
  sorted(&x, &sx);
  sorted(&y, &sy);
  if (same(&sx, &sy) && !x.cut && !y.cut) {
    best = 0.95;
    kind = PS_SIM_SWAPPED;
  }
  int longer = x.n > y.n ? x.n : y.n;
  int allowed = longer / 5 > 1 ? longer / 5 : 1;
  int d = osa(x.c, x.n, y.c, y.n);
  if (d <= allowed) {
    double s = 1.0 - (double)d / longer;
    if (s > best) {
      best = s;
      kind = PS_SIM_NEAR;
    }
  }
  if (kind == PS_SIM_NONE) {
    int d2 = osa(sx.c, sx.n, sy.c, sy.n);
    if (d2 <= allowed) {
      double s = 0.95 * (1.0 - (double)d2 / longer);
      if (s > best) {
        best = s;
        kind = PS_SIM_NEAR;
      }
    }
  }
  const cps_t *sh = x.n <= y.n ? &x : &y, *lo = x.n <= y.n ? &y : &x;
  if (letters(sh) >= 4 && run_of(sh, lo)) {
    double s = 0.7 + 0.2 * (double)letters(sh) / letters(lo);
    if (s > best) {
      best = s;
      kind = PS_SIM_CONTAINED;
    }
  }
  *ret_kind = kind;
  return best;
}

/* ------------------------------------------------------------------------------- variants */

typedef struct emit {
  int (*fn)(void *, const char *, size_t);
  void *arg;
  int calls;
  int stopped;
} emit_t;

static void emit(emit_t *e, const uint32_t *c, int n) {
  if (e->stopped) return;
  char buf[MAX * 4 + 8];
  size_t len = 0;
  for (int i = 0; i < n; i++) len += encode(c[i], buf + len);
  buf[len] = '\0';
  if (e->fn(e->arg, buf, len) != 0) {
    e->stopped = 1;
    return;
  }
  e->calls++;
}

/* Emits the words of k in the order given, one space apart. */
static void emit_words(emit_t *e, const cps_t *k, const words_t *w, const int *order, int n) {
  uint32_t c[MAX];
  int len = 0;
  for (int i = 0; i < n; i++) {
    if (i) c[len++] = ' ';
    memcpy(c + len, k->c + w->start[order[i]], sizeof(uint32_t) * (size_t)w->len[order[i]]);
    len += w->len[order[i]];
  }
  emit(e, c, len);
}

static void permute(emit_t *e, const cps_t *k, const words_t *w, int *order, int at) {
  if (at == w->n) {
    for (int i = 0; i < w->n; i++)
      if (order[i] != i) {
        emit_words(e, k, w, order, w->n);
        return;
      }
    return;
  }
  for (int i = at; i < w->n; i++) {
    int t = order[at];
    order[at] = order[i];
    order[i] = t;
    permute(e, k, w, order, at + 1);
    order[i] = order[at];
    order[at] = t;
  }
}

int ps_sim_variants(const char *key, int (*fn)(void *arg, const char *s, size_t n), void *arg) {
  emit_t e = {fn, arg, 0, 0};
  cps_t k;
  decode(key, &k);
  if (k.cut || k.n < 3) return 0;
  /* the letters tried: a-z, then the key's own others (accents folded away, other scripts) */
  uint32_t alpha[26 + MAX];
  int na = 0;
  for (uint32_t c = 'a'; c <= 'z'; c++) alpha[na++] = c;
  for (int i = 0; i < k.n; i++) {
    uint32_t c = k.c[i];
    if (c == ' ' || (c >= 'a' && c <= 'z')) continue;
    int seen = 0;
    for (int j = 26; j < na && !seen; j++) seen = alpha[j] == c;
    if (!seen) alpha[na++] = c;
  }
  uint32_t v[MAX + 1];
  for (int i = 0; i < k.n; i++) { /* delete */
    memcpy(v, k.c, sizeof(uint32_t) * (size_t)i);
    memcpy(v + i, k.c + i + 1, sizeof(uint32_t) * (size_t)(k.n - i - 1));
    emit(&e, v, k.n - 1);
  }
  memcpy(v, k.c, sizeof(uint32_t) * (size_t)k.n);
  for (int i = 0; i + 1 < k.n; i++) { /* swap neighbours */
    if (v[i] == v[i + 1]) continue;
    uint32_t t = v[i];
    v[i] = v[i + 1];
    v[i + 1] = t;
    emit(&e, v, k.n);
    v[i + 1] = v[i];
    v[i] = t;
  }
  for (int i = 0; i < k.n; i++) { /* substitute */
    if (k.c[i] == ' ') continue;
    for (int a = 0; a < na; a++) {
      if (alpha[a] == k.c[i]) continue;
      v[i] = alpha[a];
      emit(&e, v, k.n);
    }
    v[i] = k.c[i];
  }
  if (k.n < MAX)
    for (int i = 0; i <= k.n; i++) { /* insert */
      memcpy(v, k.c, sizeof(uint32_t) * (size_t)i);
      memcpy(v + i + 1, k.c + i, sizeof(uint32_t) * (size_t)(k.n - i));
      for (int a = 0; a < na; a++) {
        v[i] = alpha[a];
        emit(&e, v, k.n + 1);
      }
    }
  words_t w;
  split(&k, &w);
  if (w.n >= 2 && w.n <= 4) { /* the words in another order */
    int order[MAX_WORDS];
    for (int i = 0; i < w.n; i++) order[i] = i;
    permute(&e, &k, &w, order, 0);
  }
  for (int from = 0; from < w.n; from++) /* runs of consecutive words */
    for (int to = from; to < w.n; to++) {
      if (from == 0 && to == w.n - 1) continue;
      int order[MAX_WORDS], chars = 0;
      for (int i = from; i <= to; i++) {
        order[i - from] = i;
        chars += w.len[i];
      }
      if (chars >= 4) emit_words(&e, &k, &w, order, to - from + 1);
    }
  return e.stopped ? -1 : e.calls;
}
