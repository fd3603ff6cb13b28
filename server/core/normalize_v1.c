/* ps_norm_name of PS_NORM_VERSION 1, as it was (see normalize_v1.h): the hand-written folding of
 * Latin-1 and Latin Extended-A. The output helpers are copies of normalize.c's, so that this file
 * stays the frozen old version whatever happens to the current one. */
#include "core/normalize_v1.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/validate.h"

typedef struct wbuf {
  char *out;  /* caller's buffer */
  size_t cap; /* bytes usable for text (outsz - 1) */
  size_t len; /* bytes written */
  int full;   /* something did not fit: write nothing more */
} wbuf_t;

static void wb_init(wbuf_t *w, char *out, size_t outsz) {
  w->out = out;
  w->cap = outsz ? outsz - 1 : 0;
  w->len = 0;
  w->full = 0;
}

/* Appends n bytes, all or nothing. */
static int wb_put(wbuf_t *w, const char *s, size_t n) {
  if (w->full || n > w->cap - w->len) {
    w->full = 1;
    return -1;
  }
  memcpy(w->out + w->len, s, n);
  w->len += n;
  return 0;
}

static size_t wb_done(wbuf_t *w, size_t outsz) {
  if (outsz) w->out[w->len] = '\0';
  return w->len;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static char to_lower(unsigned char c) { return is_upper(c) ? (char)(c + 32) : (char)c; }

/* Folding of U+00C0..U+017F to lower-case ASCII: one letter each, except '*' (several letters, see
 * fold_multi) and '_' (a word separator: the multiplication and division signs). */
static const char k_fold[] =
    "aaaaaa*ceeeeiiii" "dnooooo_ouuuuy**" /* U+00C0 */
    "aaaaaa*ceeeeiiii" "dnooooo_ouuuuy*y" /* U+00E0 */
    "aaaaaaccccccccdd" "ddeeeeeeeeeegggg" /* U+0100 */
    "gggghhhhiiiiiiii" "ii**jjkkklllllll" /* U+0120 */
    "lllnnnnnnnnnoooo" "oo**rrrrrrssssss" /* U+0140 */
    "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs" /* U+0160 */;

static const char *fold_multi(uint32_t cp) {
  switch (cp) {
  case 0xc6: case 0xe6: return "ae";
  case 0xde: case 0xfe: return "th";
  case 0xdf: return "ss";
  case 0x132: case 0x133: return "ij";
  case 0x152: case 0x153: return "oe";
  default: return NULL;
  }
}

/* Legal-form words dropped from a name key. */
static const char *const k_forms[] = {"bv",  "bvba", "gmbh", "inc", "llc", "ltd",
                                      "nv",  "sa",   "sarl", "srl", "vof"};

static int is_form(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof k_forms / sizeof k_forms[0]; i++)
    if (strlen(k_forms[i]) == n && memcmp(k_forms[i], s, n) == 0) return 1;
  return 0;
}

enum { K_SEP, K_DROP, K_TEXT };

/* Classifies one code point: K_SEP (ends a word), K_DROP (ignored inside a word: '.' and
 * apostrophes, so "B.V." is "bv" and "O'Brien" is "obrien") or K_TEXT with its folded bytes. */
static int classify(uint32_t cp, const char *src, size_t len, char tmp[4], const char **ret_s,
                    size_t *ret_n) {
  if (cp < 0x80) {
    if (is_digit((unsigned char)cp) || is_lower((unsigned char)cp) || is_upper((unsigned char)cp)) {
      tmp[0] = to_lower((unsigned char)cp);
      *ret_s = tmp;
      *ret_n = 1;
      return K_TEXT;
    }
    return cp == '.' || cp == '\'' || cp == '`' ? K_DROP : K_SEP;
  }
  if (cp < 0xc0) {
    if (cp == 0xaa || cp == 0xba) { /* feminine and masculine ordinal indicators */
      tmp[0] = cp == 0xaa ? 'a' : 'o';
      *ret_s = tmp;
      *ret_n = 1;
      return K_TEXT;
    }
    return cp == 0xb4 ? K_DROP : K_SEP; /* acute accent used as an apostrophe */
  }
  if (cp < 0x180) {
    char f = k_fold[cp - 0xc0];
    if (f == '_') return K_SEP;
    if (f == '*') {
      *ret_s = fold_multi(cp);
      *ret_n = 2;
      return K_TEXT;
    }
    tmp[0] = f;
    *ret_s = tmp;
    *ret_n = 1;
    return K_TEXT;
  }
  if (cp == 0x2bc || cp == 0x2018 || cp == 0x2019 || cp == 0x201b) return K_DROP; /* apostrophes */
  if ((cp >= 0x2000 && cp <= 0x206f) || cp == 0x3000 || cp == 0xfeff) return K_SEP;
  *ret_s = src; /* other scripts: kept as written */
  *ret_n = len;
  return K_TEXT;
}

size_t ps_norm_name_v1(const char *name, char *out, size_t outsz) {
  wbuf_t w;
  wb_init(&w, out, outsz);
  if (!name) return wb_done(&w, outsz);
  size_t n = strlen(name);
  size_t word_start = 0; /* w.len where the current word's first byte is (after its space) */
  size_t word_mark = 0;  /* w.len before the current word and its leading space */
  int in_word = 0;
  for (size_t i = 0; i <= n && !w.full;) {
    uint32_t cp = 0;
    size_t len = i < n ? ps_utf8_decode(name + i, n - i, &cp) : 0;
    const char *s = NULL;
    size_t sn = 0;
    char tmp[4];
    int kind;
    if (i == n) {
      kind = K_SEP; /* end of input ends the last word */
      len = 1;
    } else if (!len) {
      kind = K_DROP; /* not UTF-8: dropped */
      len = 1;
    } else {
      kind = classify(cp, name + i, len, tmp, &s, &sn);
    }
    i += len;
    if (kind == K_DROP) continue;
    if (kind == K_SEP) {
      if (in_word && is_form(w.out + word_start, w.len - word_start)) w.len = word_mark;
      in_word = 0;
      continue;
    }
    if (!in_word) {
      word_mark = w.len;
      if (w.len > 0 && wb_put(&w, " ", 1) < 0) break;
      word_start = w.len;
      in_word = 1;
    }
    if (wb_put(&w, s, sn) < 0) break;
  }
  /* a word cut short leaves no dangling separator */
  if (w.len > 0 && w.out[w.len - 1] == ' ') w.len--;
  return wb_done(&w, outsz);
}

/* ------------------------------------------------------------------------------------ in use */

static atomic_int g_v1_in_use = 1;

int ps_norm_v1_in_use(void) { return atomic_load_explicit(&g_v1_in_use, memory_order_relaxed); }

void ps_norm_v1_set_in_use(int in_use) {
  atomic_store_explicit(&g_v1_in_use, in_use ? 1 : 0, memory_order_relaxed);
}
