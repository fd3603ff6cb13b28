/* JSON reader and writer helpers for prospectctl (see json.h). */
#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 100

typedef struct parser {
  const char *p, *end;  /* cursor and end of the text */
  const char *line_start;
  size_t line;
  char *err;
  size_t errlen;
  int failed;
} parser_t;

static void fail(parser_t *ps, const char *what) {
  if (ps->failed) return;
  ps->failed = 1;
  snprintf(ps->err, ps->errlen, "JSON: %s at line %zu column %zu", what, ps->line,
           (size_t)(ps->p - ps->line_start) + 1);
}

static void skip_ws(parser_t *ps) {
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') {
      ps->line++;
      ps->line_start = ps->p + 1;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      return;
    }
    ps->p++;
  }
}

void json_free(json_t *v) {
  if (!v) return;
  free(v->str);
  for (size_t i = 0; i < v->n; i++) {
    json_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v);
}

static json_t *new_value(parser_t *ps, json_type_t t) {
  json_t *v = calloc(1, sizeof *v);
  if (!v) {
    fail(ps, "out of memory");
    return NULL;
  }
  v->type = t;
  v->line = ps->line;
  v->col = (size_t)(ps->p - ps->line_start) + 1;
  return v;
}

static int hex4(const char *s, unsigned *ret) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *ret = v;
  return 0;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

/* Parses a string at ps->p (the opening quote); returns a new NUL-terminated copy. */
static char *parse_string(parser_t *ps) {
  ps->p++; /* the quote */
  /* the decoded text is never longer than the raw text */
  const char *q = ps->p;
  while (q < ps->end && *q != '"') q += (*q == '\\' && q + 1 < ps->end) ? 2 : 1;
  if (q >= ps->end) {
    fail(ps, "unterminated string");
    return NULL;
  }
  char *out = malloc((size_t)(q - ps->p) + 1);
  if (!out) {
    fail(ps, "out of memory");
    return NULL;
  }
  size_t o = 0;
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    if (c < 0x20) {
      fail(ps, "control character in string");
      goto bad;
    }
    if (c != '\\') {
      size_t l = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
      if (!l) {
        fail(ps, "invalid UTF-8 in string");
        goto bad;
      }
      memcpy(out + o, ps->p, l);
      o += l;
      ps->p += l;
      continue;
    }
    ps->p++;
    char e = *ps->p++;
    switch (e) {
      case '"': out[o++] = '"'; break;
      case '\\': out[o++] = '\\'; break;
      case '/': out[o++] = '/'; break;
      case 'b': out[o++] = '\b'; break;
      case 'f': out[o++] = '\f'; break;
      case 'n': out[o++] = '\n'; break;
      case 'r': out[o++] = '\r'; break;
      case 't': out[o++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (ps->end - ps->p < 4 || hex4(ps->p, &cp) < 0) {
          fail(ps, "bad \\u escape");
          goto bad;
        }
        ps->p += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) < 0 ||
              lo < 0xDC00 || lo > 0xDFFF) {
            fail(ps, "unpaired surrogate in \\u escape");
            goto bad;
          }
          ps->p += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail(ps, "unpaired surrogate in \\u escape");
          goto bad;
        } else if (cp == 0) {
          fail(ps, "\\u0000 is not allowed");
          goto bad;
        }
        /* an escape is 6 raw bytes (12 for a pair): always room for its UTF-8 */
        o += put_utf8(out + o, cp);
        break;
      }
      default:
        ps->p--;
        fail(ps, "bad escape in string");
        goto bad;
    }
  }
  ps->p++; /* closing quote */
  out[o] = '\0';
  return out;
bad:
  free(out);
  return NULL;
}

static json_t *parse_value(parser_t *ps, int depth);

static int parse_number(parser_t *ps, json_t *v) {
  const char *s = ps->p;
  if (*ps->p == '-') ps->p++;
  if (ps->p < ps->end && *ps->p == '0') {
    ps->p++;
  } else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9') {
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  } else {
    fail(ps, "bad number");
    return -1;
  }
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
      fail(ps, "bad number");
      return -1;
    }
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    ps->p++;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
      fail(ps, "bad number");
      return -1;
    }
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  }
  v->str = strndup(s, (size_t)(ps->p - s));
  if (!v->str) {
    fail(ps, "out of memory");
    return -1;
  }
  return 0;
}

/* Appends item (and key) to a container; returns -1 on allocation failure (item not taken). */
static int push(parser_t *ps, json_t *c, json_t *item, char *key, size_t *cap) {
  if (c->n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 4;
    json_t **items = realloc(c->items, ncap * sizeof *items);
    if (!items) goto oom;
    c->items = items;
    if (c->type == JSON_OBJECT) {
      char **keys = realloc(c->keys, ncap * sizeof *keys);
      if (!keys) goto oom;
      c->keys = keys;
    }
    *cap = ncap;
  }
  c->items[c->n] = item;
  if (c->type == JSON_OBJECT) c->keys[c->n] = key;
  c->n++;
  return 0;
oom:
  fail(ps, "out of memory");
  return -1;
}

static json_t *parse_container(parser_t *ps, int depth, json_type_t t) {
  json_t *c = new_value(ps, t);
  if (!c) return NULL;
  char close = t == JSON_ARRAY ? ']' : '}';
  size_t cap = 0;
  ps->p++;
  skip_ws(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    return c;
  }
  for (;;) {
    char *key = NULL;
    skip_ws(ps);
    if (t == JSON_OBJECT) {
      if (ps->p >= ps->end || *ps->p != '"') {
        fail(ps, "expected a string key");
        goto bad;
      }
      key = parse_string(ps);
      if (!key) goto bad;
      for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->keys[i], key) == 0) {
          fail(ps, "duplicate key");
          free(key);
          goto bad;
        }
      }
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        fail(ps, "expected ':'");
        free(key);
        goto bad;
      }
      ps->p++;
    }
    json_t *item = parse_value(ps, depth + 1);
    if (!item) {
      free(key);
      goto bad;
    }
    if (push(ps, c, item, key, &cap) < 0) {
      json_free(item);
      free(key);
      goto bad;
    }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) {
      ps->p++;
      return c;
    }
    fail(ps, t == JSON_ARRAY ? "expected ',' or ']'" : "expected ',' or '}'");
    goto bad;
  }
bad:
  json_free(c);
  return NULL;
}

static int literal(parser_t *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
    ps->p += n;
    return 1;
  }
  return 0;
}

static json_t *parse_value(parser_t *ps, int depth) {
  if (depth > MAX_DEPTH) {
    fail(ps, "nested too deeply");
    return NULL;
  }
  skip_ws(ps);
  if (ps->p >= ps->end) {
    fail(ps, "unexpected end of input");
    return NULL;
  }
  char c = *ps->p;
  if (c == '{') return parse_container(ps, depth, JSON_OBJECT);
  if (c == '[') return parse_container(ps, depth, JSON_ARRAY);
  json_t *v;
  if (c == '"') {
    v = new_value(ps, JSON_STRING);
    if (!v) return NULL;
    v->str = parse_string(ps);
    if (!v->str) goto bad;
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    v = new_value(ps, JSON_NUMBER);
    if (!v) return NULL;
    if (parse_number(ps, v) < 0) goto bad;
    return v;
  }
  v = new_value(ps, JSON_NULL);
  if (!v) return NULL;
  if (literal(ps, "null")) return v;
  v->type = JSON_BOOL;
  if (literal(ps, "true")) {
    v->boolean = 1;
    return v;
  }
  if (literal(ps, "false")) return v;
  fail(ps, "unexpected character");
bad:
  json_free(v);
  return NULL;
}

int json_parse(const char *text, size_t len, json_t **ret, char *err, size_t errlen) {
  parser_t ps = {text, text + len, text, 1, err, errlen, 0};
  json_t *v = parse_value(&ps, 0);
  if (v) {
    skip_ws(&ps);
    if (ps.p != ps.end) {
      fail(&ps, "trailing characters after the value");
      json_free(v);
      v = NULL;
    }
  }
  if (!v) return -1;
  *ret = v;
  return 0;
}

const json_t *json_get(const json_t *o, const char *key) {
  if (!o || o->type != JSON_OBJECT) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->keys[i], key) == 0) return o->items[i];
  return NULL;
}

/* ---------------------------------------------------------------- output buffer */

void sb_append(sbuf_t *sb, const char *s, size_t n) {
  if (sb->failed) return;
  if (sb->len + n + 1 > sb->cap) {
    size_t ncap = sb->cap ? sb->cap : 256;
    while (ncap < sb->len + n + 1) {
      if (ncap > SIZE_MAX / 2) {
        sb->failed = 1;
        return;
      }
      ncap *= 2;
    }
    char *b = realloc(sb->buf, ncap);
    if (!b) {
      sb->failed = 1;
      return;
    }
    sb->buf = b;
    sb->cap = ncap;
  }
  memcpy(sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
}

void sb_puts(sbuf_t *sb, const char *s) { sb_append(sb, s, strlen(s)); }

void sb_printf(sbuf_t *sb, const char *fmt, ...) {
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) {
    sb->failed = 1;
    return;
  }
  if ((size_t)n < sizeof small) {
    sb_append(sb, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    sb->failed = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_append(sb, big, (size_t)n);
  free(big);
}

void sb_json_string(sbuf_t *sb, const char *s, size_t n) {
  sb_append(sb, "\"", 1);
  size_t start = 0; /* s[start..i) is text to copy as it is */
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char ubuf[8];
    size_t len = 1;
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20 || c == 0x7F) {
      snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
      esc = ubuf;
    } else if (c >= 0x80 && (len = utf8_len((const unsigned char *)s + i, n - i)) == 0) {
      esc = "\xEF\xBF\xBD"; /* not UTF-8 (protobuf-c does not check strings): U+FFFD per byte */
      len = 1;
    }
    if (esc) {
      sb_append(sb, s + start, i - start);
      sb_puts(sb, esc);
      start = i + len;
    }
    i += len;
  }
  sb_append(sb, s + start, n - start);
  sb_append(sb, "\"", 1);
}
