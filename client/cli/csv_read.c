/* CSV reading (see csv_read.h). */
#include "csv_read.h"

#include <stdlib.h>
#include <string.h>

void csv_reader_init(csv_reader_t *r, const char *data, size_t len) {
  memset(r, 0, sizeof *r);
  r->p = data;
  r->end = data + len;
  r->line = 1;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) r->p += 3;
  size_t semi = 0, comma = 0;
  int quoted = 0;
  for (const char *q = r->p; q < r->end; q++) {
    if (*q == '"') quoted = !quoted;
    else if (!quoted && (*q == '\n' || *q == '\r')) break;
    else if (!quoted && *q == ';') semi++;
    else if (!quoted && *q == ',') comma++;
  }
  r->sep = semi > comma ? ';' : ',';
}

static int buf_put(csv_reader_t *r, size_t *len, char c) {
  if (*len + 1 > r->buf_cap) {
    size_t cap = r->buf_cap ? 2 * r->buf_cap : 1024;
    char *b = realloc(r->buf, cap);
    if (!b) return -1;
    r->buf = b;
    r->buf_cap = cap;
  }
  r->buf[(*len)++] = c;
  return 0;
}

int csv_next(csv_reader_t *r, long *ret_line) {
  if (r->p >= r->end) return 0;
  *ret_line = r->line;
  size_t len = 0, n = 0;
  size_t starts[4096]; /* field starts; fields after the 4096th are joined to it */
  int rc = 1;
  starts[n++] = 0;
  int quoted = 0, was_quoted = 0;
  while (r->p < r->end) {
    char c = *r->p++;
    if (quoted) {
      if (c == '"') {
        if (r->p < r->end && *r->p == '"') {
          r->p++;
          if (buf_put(r, &len, '"')) return -1;
        } else {
          quoted = 0;
        }
        continue;
      }
      if (c == '\n') r->line++;
      if (buf_put(r, &len, c)) return -1;
      continue;
    }
    if (c == '"' && !was_quoted && len == starts[n - 1]) {
      /* a quote at the start of a field opens it; elsewhere it is a character, as Excel reads it */
      quoted = was_quoted = 1;
      continue;
    }
    if (c == r->sep) {
      if (buf_put(r, &len, '\0')) return -1;
      if (n < sizeof starts / sizeof starts[0]) starts[n++] = len;
      was_quoted = 0;
      continue;
    }
    if (c == '\r' && r->p < r->end && *r->p == '\n') continue; /* CRLF: the LF ends it */
    if (c == '\n' || c == '\r') {
      r->line++;
      goto done;
    }
    if (buf_put(r, &len, c)) return -1;
  }
  if (quoted) rc = -2;
done:
  if (buf_put(r, &len, '\0')) return -1;
  if (n > r->fields_cap) {
    size_t cap = n < 32 ? 32 : n;
    char **f = realloc(r->fields, cap * sizeof *f);
    if (!f) return -1;
    r->fields = f;
    r->fields_cap = cap;
  }
  for (size_t i = 0; i < n; i++) r->fields[i] = r->buf + starts[i];
  r->n_fields = n;
  return rc;
}

void csv_reader_free(csv_reader_t *r) {
  free(r->buf);
  free(r->fields);
  r->buf = NULL;
  r->fields = NULL;
  r->buf_cap = r->fields_cap = r->n_fields = 0;
}

int csv_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    unsigned c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t k;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) k = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) k = 2, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) k = 3, cp = c & 0x07;
    else return 0;
    if ((size_t)(e - p) < k + 1) return 0;
    for (size_t i = 1; i <= k; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    p += k + 1;
  }
  return 1;
}
