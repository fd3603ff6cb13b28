/* Normal forms for the duplicate check and the search words. Output is always valid UTF-8: it is cut
 * on a character boundary when it does not fit, and bytes that are not valid UTF-8 are dropped.
 * Names are folded with utf8proc (case folding, compatibility decomposition, marks stripped), so
 * this file keeps no Unicode tables beyond the few letters that have nothing to strip. */
#include "core/normalize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/validate.h"

/* ------------------------------------------------------------------------------------ output */

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

/* Appends as much of the ASCII string s[0..n) as fits. */
static int wb_put_ascii(wbuf_t *w, const char *s, size_t n) {
  if (!w->full && n > w->cap - w->len) {
    n = w->cap - w->len;
    w->full = 1;
  }
  if (n) memcpy(w->out + w->len, s, n);
  w->len += n;
  return w->full ? -1 : 0;
}

static size_t wb_done(wbuf_t *w, size_t outsz) {
  if (outsz) w->out[w->len] = '\0';
  return w->len;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static char to_lower(unsigned char c) { return is_upper(c) ? (char)(c + 32) : (char)c; }
static char to_upper(unsigned char c) { return is_lower(c) ? (char)(c - 32) : (char)c; }

/* ------------------------------------------------------------------------------------ e-mail */

size_t ps_norm_email(const char *email, char *out, size_t outsz) {
  wbuf_t w;
  wb_init(&w, out, outsz);
  if (!email) return wb_done(&w, outsz);
  size_t b = 0, e = strlen(email);
  while (b < e && is_space((unsigned char)email[b])) b++;
  while (e > b && is_space((unsigned char)email[e - 1])) e--;
  for (size_t i = b; i < e && !w.full;) {
    uint32_t cp;
    size_t len = ps_utf8_decode(email + i, e - i, &cp);
    if (!len) {
      i++;
      continue;
    }
    char c = to_lower((unsigned char)email[i]);
    wb_put(&w, len == 1 ? &c : email + i, len);
    i += len;
  }
  return wb_done(&w, outsz);
}

/* ------------------------------------------------------------------------------------ VAT */

/* Only letters and digits are kept, so "BE 0123.456.789", "be0123-456-789" and "BE0123/456/789"
 * agree. Greece uses the VAT prefix EL, not its ISO code GR: both give EL. */
size_t ps_norm_vat(const char *vat, const char *country_code, char *out, size_t outsz) {
  char buf[64];
  size_t n = 0;
  wbuf_t w;
  wb_init(&w, out, outsz);
  if (!vat) return wb_done(&w, outsz);
  for (const unsigned char *p = (const unsigned char *)vat; *p && n < sizeof buf; p++)
    if (is_digit(*p) || is_upper(*p) || is_lower(*p)) buf[n++] = to_upper(*p);
  if (n == 0) return wb_done(&w, outsz);

  const char *body = buf;
  size_t body_len = n;
  char prefix[3] = "";
  if (n >= 2 && is_upper((unsigned char)buf[0]) && is_upper((unsigned char)buf[1])) {
    prefix[0] = buf[0];
    prefix[1] = buf[1];
    body += 2;
    body_len -= 2;
  } else if (country_code && is_upper((unsigned char)to_upper((unsigned char)country_code[0])) &&
             is_upper((unsigned char)to_upper((unsigned char)country_code[1])) &&
             country_code[2] == '\0') {
    prefix[0] = to_upper((unsigned char)country_code[0]);
    prefix[1] = to_upper((unsigned char)country_code[1]);
  }
  if (strcmp(prefix, "GR") == 0) memcpy(prefix, "EL", 2);
  if (wb_put_ascii(&w, prefix, strlen(prefix)) == 0) wb_put_ascii(&w, body, body_len);
  return wb_done(&w, outsz);
}

/* ------------------------------------------------------------------------------------ phone */

/* Country calling codes and national trunk prefixes (ITU-T E.164 assignments). trunk is stripped
 * from national numbers ("06 12345678" in NL), and a trunk 0 written after the country code in an
 * international number ("+31 (0)6 ...", "+44 020 ...") is dropped. Countries without a trunk
 * prefix (IT, ES, PT, GR, DK, NO, PL, ...) keep a leading 0: it is part of the number. Sorted by
 * ISO code. */
typedef struct calling_code {
  char iso[3];        /* ISO 3166-1 alpha-2 */
  const char *code;   /* country calling code, digits */
  const char *trunk;  /* national trunk prefix, "" for none */
  const char *trunk2; /* an alternative trunk prefix, "" for none */
} calling_code_t;

static const calling_code_t k_calling[] = {
    {"AD", "376", "", ""},   {"AL", "355", "0", ""},  {"AT", "43", "0", ""},
    {"AU", "61", "0", ""},   {"BA", "387", "0", ""},  {"BE", "32", "0", ""},
    {"BG", "359", "0", ""},  {"CA", "1", "1", ""},    {"CH", "41", "0", ""},
    {"CY", "357", "", ""},   {"CZ", "420", "", ""},   {"DE", "49", "0", ""},
    {"DK", "45", "", ""},    {"EE", "372", "", ""},   {"ES", "34", "", ""},
    {"FI", "358", "0", ""},  {"FR", "33", "0", ""},   {"GB", "44", "0", ""},
    {"GG", "44", "0", ""},   {"GI", "350", "", ""},   {"GR", "30", "", ""},
    {"HR", "385", "0", ""},  {"HU", "36", "06", ""},  {"IE", "353", "0", ""},
    {"IM", "44", "0", ""},   {"IS", "354", "", ""},   {"IT", "39", "", ""},
    {"JE", "44", "0", ""},   {"LI", "423", "", ""},   {"LT", "370", "8", "0"},
    {"LU", "352", "", ""},   {"LV", "371", "", ""},   {"MC", "377", "", ""},
    {"ME", "382", "0", ""},  {"MK", "389", "0", ""},  {"MT", "356", "", ""},
    {"NL", "31", "0", ""},   {"NO", "47", "", ""},    {"NZ", "64", "0", ""},
    {"PL", "48", "", ""},    {"PR", "1", "1", ""},    {"PT", "351", "", ""},
    {"RO", "40", "0", ""},   {"RS", "381", "0", ""},  {"SE", "46", "0", ""},
    {"SI", "386", "0", ""},  {"SK", "421", "0", ""},  {"SM", "378", "", ""},
    {"TR", "90", "0", ""},   {"UA", "380", "0", ""},  {"US", "1", "1", ""},
};

#define N_CALLING (sizeof k_calling / sizeof k_calling[0])

static int cmp_calling(const void *key, const void *elem) {
  return memcmp(key, ((const calling_code_t *)elem)->iso, 2);
}

static const calling_code_t *calling_by_country(const char *cc) {
  if (!cc || !cc[0] || !cc[1] || cc[2]) return NULL;
  char key[2] = {to_upper((unsigned char)cc[0]), to_upper((unsigned char)cc[1])};
  return bsearch(key, k_calling, N_CALLING, sizeof k_calling[0], cmp_calling);
}

/* Calling codes are prefix-free (E.164), so the first entry whose code starts digits is the one. */
static const calling_code_t *calling_by_number(const char *digits) {
  for (size_t i = 0; i < N_CALLING; i++) {
    size_t n = strlen(k_calling[i].code);
    if (strncmp(digits, k_calling[i].code, n) == 0) return &k_calling[i];
  }
  return NULL;
}

static int starts_with(const char *s, const char *prefix) {
  return *prefix && strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t ps_norm_phone(const char *phone, const char *country_code, char *out, size_t outsz) {
  char digits[64];
  size_t n = 0;
  int plus = 0;
  wbuf_t w;
  wb_init(&w, out, outsz);
  if (!phone) return wb_done(&w, outsz);

  const char *p = phone;
  while (is_space((unsigned char)*p)) p++;
  if (*p == '+') plus = 1;
  for (; *p && n < sizeof digits - 1; p++) {
    if (*p == '(') {
      /* "(0)": a trunk prefix written inside an international number, never dialled */
      const char *q = p + 1;
      while (*q == ' ') q++;
      if (*q == '0') {
        q++;
        while (*q == ' ') q++;
        if (*q == ')') {
          p = q;
          continue;
        }
      }
    }
    if (is_digit((unsigned char)*p)) digits[n++] = *p;
  }
  digits[n] = '\0';
  if (n == 0) return wb_done(&w, outsz);

  const calling_code_t *home = calling_by_country(country_code);
  const char *intl = NULL;
  if (plus) intl = digits;
  else if (starts_with(digits, "00")) intl = digits + 2;
  else if (home && strcmp(home->code, "1") == 0 && starts_with(digits, "011")) intl = digits + 3;

  if (intl) {
    /* a trunk prefix starting with 0 can only be a mistake after the country code: no national
     * significant number of such a country starts with 0 */
    const calling_code_t *c = calling_by_number(intl);
    size_t cl = c ? strlen(c->code) : 0, skip = 0;
    if (c && c->trunk[0] == '0' && starts_with(intl + cl, c->trunk)) skip = strlen(c->trunk);
    else if (c && c->trunk2[0] == '0' && starts_with(intl + cl, c->trunk2)) skip = strlen(c->trunk2);
    if (wb_put_ascii(&w, intl, cl) == 0) wb_put_ascii(&w, intl + cl + skip, strlen(intl + cl + skip));
    return wb_done(&w, outsz);
  }
  if (!home) {
    wb_put_ascii(&w, digits, n);
    return wb_done(&w, outsz);
  }
  const char *national = digits;
  if (starts_with(national, home->trunk)) national += strlen(home->trunk);
  else if (starts_with(national, home->trunk2)) national += strlen(home->trunk2);
  if (!*national) return wb_done(&w, outsz);
  if (wb_put_ascii(&w, home->code, strlen(home->code)) == 0) wb_put_ascii(&w, national, strlen(national));
  return wb_done(&w, outsz);
}

/* ------------------------------------------------------------------------------------ name */

/* How a letter or digit is folded, by utf8proc, one code point at a time: its compatibility
 * decomposition (ligatures, full-width, superscript and other presentation forms become the plain
 * letters and digits: "ﬁ" -> "fi", "Ĳ" -> "IJ", "²" -> "2", "ª" -> "a"), full Unicode case folding
 * ("Σ" -> "σ", "ς" -> "σ", "Д" -> "д", "ß" and "ẞ" -> "ss") and every mark stripped ("é" -> "e",
 * "Ș" -> "s", "ễ" -> "e", "ά" -> "α", "й" -> "и", "が" -> "か"). Marks are stripped after the
 * decomposition, so a letter reads the same whether it came composed or as letter + mark. */
#define FOLD_OPTIONS                                                                               \
  ((utf8proc_option_t)(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK))

/* Letters that have no decomposition to strip a mark from, written as the plain Latin letters
 * readers and keyboards use for them (case folding has made them lower case first, so "Ø" and
 * "ø" both give "o"). These are the Latin-1 and Latin Extended-A letters of that kind; ß is not
 * here because case folding already makes it "ss". Sorted by code point. */
static const struct {
  uint32_t cp;
  const char *ascii;
} k_letters[] = {
    {0x00e6, "ae"}, /* æ */
    {0x00f0, "d"},  /* ð (eth) */
    {0x00f8, "o"},  /* ø */
    {0x00fe, "th"}, /* þ (thorn) */
    {0x0111, "d"},  /* đ */
    {0x0127, "h"},  /* ħ */
    {0x0131, "i"},  /* ı (dotless i) */
    {0x0138, "k"},  /* ĸ (kra) */
    {0x0142, "l"},  /* ł */
    {0x014b, "n"},  /* ŋ (eng) */
    {0x0153, "oe"}, /* œ */
    {0x0167, "t"},  /* ŧ */
};

static const char *plain_letter(uint32_t cp) {
  if (cp < 0xe6 || cp > 0x167) return NULL;
  for (size_t i = 0; i < sizeof k_letters / sizeof k_letters[0]; i++)
    if (k_letters[i].cp == cp) return k_letters[i].ascii;
  return NULL;
}

/* Legal-form words dropped from a name key. */
static const char *const k_forms[] = {"bv",  "bvba", "gmbh", "inc", "llc", "ltd",
                                      "nv",  "sa",   "sarl", "srl", "vof"};

static int is_form(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof k_forms / sizeof k_forms[0]; i++)
    if (strlen(k_forms[i]) == n && memcmp(k_forms[i], s, n) == 0) return 1;
  return 0;
}

/* Dropped inside a word, so "B.V." is "bv" and "O'Brien", "O’Brien" and "O´Brien" are "obrien": the
 * full stop, the apostrophe and the characters written for it (grave and acute accent, modifier
 * letter apostrophe, the single quotation marks). */
static int is_dropped(uint32_t cp) {
  return cp == '.' || cp == '\'' || cp == '`' || cp == 0xb4 || cp == 0x2bc || cp == 0x2018 ||
         cp == 0x2019 || cp == 0x201b;
}

static int is_letter_or_digit(utf8proc_category_t c) {
  return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
         (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

static int is_mark(utf8proc_category_t c) {
  return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

static int is_space_sep(utf8proc_category_t c) {
  return c >= UTF8PROC_CATEGORY_ZS && c <= UTF8PROC_CATEGORY_ZP;
}

/* One word's folded code points, composed before they are written: stripping the marks leaves
 * nothing to compose but Hangul, whose syllables the decomposition split into jamo. Each code point
 * here becomes at least one byte of output, so a word of WORD_CPS code points already fills any
 * output buffer the callers use (at most 2048 bytes); a longer word is written in pieces. */
#define WORD_CPS 2048

typedef struct word {
  utf8proc_int32_t cp[WORD_CPS]; /* folded code points not written yet */
  size_t n;                      /* how many */
  size_t start;                  /* w.len where the word's first byte is (after its space) */
  size_t mark;                   /* w.len before the word and its leading space */
  int open;                      /* a word has started */
} word_t;

/* Composes and writes the word's pending code points; whole characters only. */
static void word_flush(word_t *wd, wbuf_t *w) {
  utf8proc_ssize_t n = utf8proc_normalize_utf32(wd->cp, (utf8proc_ssize_t)wd->n, UTF8PROC_COMPOSE);
  for (utf8proc_ssize_t i = 0; i < n && !w->full; i++) {
    utf8proc_uint8_t b[4];
    utf8proc_ssize_t len = utf8proc_encode_char(wd->cp[i], b);
    if (len > 0) wb_put(w, (const char *)b, (size_t)len);
  }
  wd->n = 0;
}

/* Adds one folded letter or digit to the word, starting the word (and its separator) if needed. */
static void word_add(word_t *wd, wbuf_t *w, utf8proc_int32_t cp) {
  if (!wd->open) {
    wd->mark = w->len;
    if (w->len > 0 && wb_put(w, " ", 1) < 0) return;
    wd->start = w->len;
    wd->open = 1;
  }
  if (wd->n == WORD_CPS) word_flush(wd, w);
  wd->cp[wd->n++] = cp;
}

/* Ends the word: writes it, and takes it back out when it is a legal form. */
static void word_end(word_t *wd, wbuf_t *w) {
  if (!wd->open) return;
  word_flush(wd, w);
  if (!w->full && is_form(w->out + wd->start, w->len - wd->start)) w->len = wd->mark;
  wd->open = 0;
}

/* Adds the folded form of the letter, digit or mark cp (the special letters as their plain
 * letters). A letter may fold to spaces as well ("ﷺ"): those end a word; anything else it folds
 * to that is neither letter nor digit (the middle dot of "ŀ", the fraction slash of "½") is part
 * of it and dropped. */
static void add_folded(word_t *wd, wbuf_t *w, uint32_t cp) {
  utf8proc_int32_t f[32];
  int boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, f, 32, FOLD_OPTIONS, &boundclass);
  if (n < 0 || n > 32) return; /* no code point folds to more than 18 */
  for (utf8proc_ssize_t i = 0; i < n && !w->full; i++) {
    utf8proc_category_t c = utf8proc_category(f[i]);
    const char *plain;
    if (is_dropped((uint32_t)f[i]) || !is_letter_or_digit(c)) {
      if (is_space_sep(c)) word_end(wd, w);
    } else if ((plain = plain_letter((uint32_t)f[i])) != NULL) {
      for (; *plain; plain++) word_add(wd, w, (unsigned char)*plain);
    } else {
      word_add(wd, w, f[i]);
    }
  }
}

size_t ps_norm_name(const char *name, char *out, size_t outsz) {
  static __thread word_t wd; /* 8 KiB: kept off the worker's stack */
  wbuf_t w;
  wb_init(&w, out, outsz);
  if (!name) return wb_done(&w, outsz);
  wd.n = 0;
  wd.open = 0;
  size_t n = strlen(name);
  for (size_t i = 0; i < n && !w.full;) {
    uint32_t cp = 0;
    size_t len = ps_utf8_decode(name + i, n - i, &cp);
    if (!len) { /* not UTF-8: dropped */
      i++;
      continue;
    }
    i += len;
    if (is_dropped(cp)) continue;
    if (cp < 0x80) { /* ASCII without utf8proc: letters and digits, the rest separates words */
      if (is_digit((unsigned char)cp) || is_lower((unsigned char)cp) || is_upper((unsigned char)cp))
        word_add(&wd, &w, to_lower((unsigned char)cp));
      else
        word_end(&wd, &w);
      continue;
    }
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    if (is_letter_or_digit(c) || is_mark(c)) add_folded(&wd, &w, cp);
    else word_end(&wd, &w); /* punctuation, symbols, spaces, controls, unassigned */
  }
  word_end(&wd, &w);
  /* a word cut short leaves no dangling separator */
  if (w.len > 0 && w.out[w.len - 1] == ' ') w.len--;
  return wb_done(&w, outsz);
}
