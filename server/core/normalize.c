/* Normal forms for the duplicate check. Output is always valid UTF-8: it is cut on a character
 * boundary when it does not fit, and bytes that are not valid UTF-8 are dropped. */
#include "core/normalize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

size_t ps_norm_name(const char *name, char *out, size_t outsz) {
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
