/* Field validation: every refusal is INVALID_ARGUMENT naming the field, one sentence, and never
 * echoes more than a bounded, escaped prefix of the offending value (ps_quote). */
#include "core/validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------ UTF-8 */

size_t ps_utf8_decode(const char *s, size_t n, uint32_t *ret_cp) {
  const unsigned char *p = (const unsigned char *)s;
  if (n == 0) return 0;
  unsigned c = p[0];
  if (c < 0x80) {
    *ret_cp = c;
    return 1;
  }
  size_t len;
  unsigned lo = 0x80, hi = 0xbf; /* bounds of the second byte (RFC 3629 table) */
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
    if (c == 0xe0) lo = 0xa0;      /* overlong */
    else if (c == 0xed) hi = 0x9f; /* surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
    if (c == 0xf0) lo = 0x90;      /* overlong */
    else if (c == 0xf4) hi = 0x8f; /* above U+10FFFF */
  } else {
    return 0; /* continuation byte, C0/C1 overlong lead, or F5..FF */
  }
  if (n < len) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  cp = cp << 6 | (p[1] & 0x3f);
  for (size_t i = 2; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  *ret_cp = cp;
  return len;
}

int ps_utf8_valid(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t len = ps_utf8_decode(s + i, n - i, &cp);
    if (!len) return 0;
    i += len;
  }
  return 1;
}

size_t ps_utf8_chars(const char *s) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xc0) != 0x80) n++;
  return n;
}

const char *ps_quote(const char *s, char out[PS_QUOTE_SIZE]) {
  enum { MAX_INPUT = 64 };
  size_t o = 0, i = 0;
  out[0] = '\0';
  if (!s) return out;
  size_t n = strnlen(s, MAX_INPUT + 4);
  while (i < n) {
    char tmp[20];
    size_t tlen;
    uint32_t cp = 0;
    size_t len = ps_utf8_decode(s + i, n - i, &cp);
    if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
      /* one byte of a control character or invalid sequence at a time */
      size_t take = len ? len : 1;
      tlen = 0;
      for (size_t k = 0; k < take; k++)
        tlen += (size_t)snprintf(tmp + tlen, sizeof tmp - tlen, "\\x%02x", (unsigned char)s[i + k]);
      len = take;
    } else if (cp == '"' || cp == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)cp;
      tlen = 2;
    } else {
      memcpy(tmp, s + i, len);
      tlen = len;
    }
    if (i + len > MAX_INPUT || o + tlen + 4 > PS_QUOTE_SIZE) break;
    memcpy(out + o, tmp, tlen);
    o += tlen;
    i += len;
  }
  if (i < n || s[i] != '\0') {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return out;
}

/* ------------------------------------------------------------------------------------ checks */

static int is_empty(const char *v) { return !v || !*v; }

int ps_check_text(const char *v, const char *field, size_t max_chars, int required, int multiline,
                  ps_status_t *st) {
  if (is_empty(v)) return required ? ps_fail_field(st, field, "is required") : 0;
  size_t n = strlen(v);
  size_t chars = 0;
  for (size_t i = 0; i < n;) {
    uint32_t cp;
    size_t len = ps_utf8_decode(v + i, n - i, &cp);
    if (!len) return ps_fail_field(st, field, "is not valid UTF-8 (bad byte at offset %zu)", i);
    int control = cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
    /* a newline may also be written CR LF (as browsers submit text areas) */
    if (control && multiline &&
        (cp == '\t' || cp == '\n' || (cp == '\r' && i + 1 < n && v[i + 1] == '\n')))
      control = 0;
    if (control)
      return ps_fail_field(st, field, "must not contain control characters%s (found U+%04X at offset %zu)",
                           multiline ? " other than tab and newline" : "", (unsigned)cp, i);
    chars++;
    i += len;
  }
  if (chars > max_chars)
    return ps_fail_field(st, field, "must be at most %zu characters, got %zu", max_chars, chars);
  return 0;
}

int ps_check_email(const char *v, const char *field, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return 0;
  size_t n = strlen(v);
  if (!ps_utf8_valid(v, n)) return ps_fail_field(st, field, "is not valid UTF-8");
  size_t chars = ps_utf8_chars(v);
  if (chars > 254)
    return ps_fail_field(st, field, "must be at most 254 characters, got %zu", chars);
  const char *at = NULL;
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (*p <= 0x20 || *p == 0x7f) goto bad; /* spaces and control characters */
    if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0xa0) goto bad; /* C1 controls, no-break space */
    if (*p == '@') {
      if (at) goto bad;
      at = (const char *)p;
    }
  }
  if (!at || at == v) goto bad;
  const char *domain = at + 1;
  if (!*domain || *domain == '.' || v[n - 1] == '.' || !strchr(domain, '.') || strstr(domain, ".."))
    goto bad;
  return 0;
bad:
  return ps_fail_field(st, field, "must be an e-mail address such as name@example.com, got \"%s\"",
                       ps_quote(v, q));
}

/* ISO 3166-1 alpha-2, officially assigned codes (249), sorted for bsearch. User-assigned codes
 * such as XK and the reserved UK/EU are not included. */
static const char k_countries[][3] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

static int cmp_country(const void *a, const void *b) { return memcmp(a, b, 2); }

int ps_check_country(const char *v, const char *field, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return 0;
  if (strlen(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' &&
      bsearch(v, k_countries, sizeof k_countries / sizeof k_countries[0], sizeof k_countries[0],
              cmp_country))
    return 0;
  return ps_fail_field(st, field,
                       "must be an assigned ISO 3166-1 alpha-2 country code in upper case such as "
                       "\"NL\", got \"%s\"",
                       ps_quote(v, q));
}

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum(char c) { return is_alpha(c) || is_digit(c); }

int ps_check_language(const char *v, const char *field, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return 0;
  size_t n = strlen(v), i = 0;
  if (n > 35) goto bad;
  while (i < n && is_alpha(v[i])) i++;
  if (i < 2 || i > 3) goto bad;
  while (i < n) {
    if (v[i] != '-') goto bad;
    size_t start = ++i;
    while (i < n && is_alnum(v[i])) i++;
    if (i - start < 1 || i - start > 8) goto bad;
  }
  return 0;
bad:
  return ps_fail_field(st, field, "must be a BCP 47 language tag such as \"nl\" or \"en-GB\", got \"%s\"",
                       ps_quote(v, q));
}

int ps_check_phone(const char *v, const char *field, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return 0;
  size_t n = strlen(v), digits = 0;
  if (n < 3 || n > 32) goto bad;
  for (size_t i = 0; i < n; i++) {
    char c = v[i];
    if (is_digit(c)) digits++;
    else if (c == '+' && i == 0) continue;
    else if (!strchr(" ()-./", c)) goto bad;
  }
  if (digits < 3) goto bad;
  return 0;
bad:
  return ps_fail_field(st, field,
                       "must be a phone number of 3-32 characters (digits, spaces, + ( ) - . /, a + "
                       "only in front), got \"%s\"",
                       ps_quote(v, q));
}

int ps_check_website(const char *v, const char *field, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return 0;
  size_t n = strlen(v);
  if (n > 255) return ps_fail_field(st, field, "must be at most 255 characters, got %zu", n);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c <= 0x20 || c >= 0x7f)
      return ps_fail_field(st, field,
                           "must be printable ASCII without spaces such as https://example.com, "
                           "got \"%s\"",
                           ps_quote(v, q));
  }
  return 0;
}

int ps_check_request_id(const char *v, const char *field, int required, ps_status_t *st) {
  char q[PS_QUOTE_SIZE];
  if (is_empty(v)) return required ? ps_fail_field(st, field, "is required") : 0;
  size_t n = strlen(v);
  int ok = n <= 64;
  for (size_t i = 0; ok && i < n; i++) ok = is_alnum(v[i]) || strchr("_.:-", v[i]) != NULL;
  if (!ok)
    return ps_fail_field(st, field, "must be 1-64 characters of A-Z, a-z, 0-9, _ . : -, got \"%s\"",
                         ps_quote(v, q));
  return 0;
}

int ps_check_page_size(int32_t v, const char *field, int32_t def, int32_t max, int32_t *ret,
                       ps_status_t *st) {
  if (v < 0) return ps_fail_field(st, field, "must not be negative, got %d", (int)v);
  *ret = v == 0 ? def : v > max ? max : v;
  return 0;
}

int ps_has_text(const char *s) {
  for (; s && *s; s++)
    if (*s != ' ' && *s != '\t') return 1;
  return 0;
}
