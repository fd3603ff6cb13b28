/* JSON <-> protobuf-c by descriptor (see pbjson.h). Messages are built with malloc in the layout
 * protobuf_c_message_unpack() produces, so protobuf_c_message_free_unpacked(m, NULL) frees them,
 * also half-built ones on an error path (array counts grow only after an element is complete). */
#include "pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEMBER(type, msg, off) (*(type *)((char *)(msg) + (off)))

typedef struct ctx {
  char path[256]; /* the field being read, for error messages only ("prospect.address.city"); a
                     longer one is cut there, at a character boundary */
  char *err;
  size_t errlen;
} ctx_t;

/* Drops a multi-byte character that snprintf cut short at the end of s, so that a message built
 * from the user's keys and values stays valid UTF-8 when it is too long for its buffer. */
static void utf8_trim_tail(char *s) {
  size_t n = strlen(s), i = n;
  while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--; /* continuation bytes */
  if (i == 0 || (unsigned char)s[i - 1] < 0xC0) return;                        /* no lead byte: whole */
  unsigned char lead = (unsigned char)s[i - 1];
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  if (n - (i - 1) < want) s[i - 1] = '\0';
}

static int fail(ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ctx_t *c, const char *fmt, ...) {
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  utf8_trim_tail(what);
  snprintf(c->err, c->errlen, "%s%s%s", c->path, c->path[0] ? ": " : "", what);
  utf8_trim_tail(c->err);
  return -1;
}

/* Appends the JSON name of a proto field name or FieldMask path ("address.postal_code" ->
 * "address.postalCode") to out, whatever its length. */
static void camel_append(sbuf_t *out, const char *name) {
  int up = 0;
  const char *start = name; /* name[start..p) is copied as it is */
  for (const char *p = name; *p; p++) {
    if (*p == '_') {
      sb_append(out, start, (size_t)(p - start));
      start = p + 1;
      up = 1;
      continue;
    }
    if (up && *p >= 'a' && *p <= 'z') {
      sb_append(out, start, (size_t)(p - start));
      char u = (char)(*p - 'a' + 'A');
      sb_append(out, &u, 1);
      start = p + 1;
    }
    up = 0;
  }
  sb_append(out, start, strlen(start));
}

void pbjson_camel(const char *name, char *out, size_t n) {
  size_t o = 0;
  int up = 0;
  for (const char *p = name; *p && o + 1 < n; p++) {
    if (*p == '_') {
      up = 1;
      continue;
    }
    out[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    up = 0;
  }
  if (n) out[o] = '\0';
}

/* snake_case of a lowerCamelCase path segment (for FieldMask input) into a new string. */
static char *snake(const char *s, size_t len) {
  char *out = malloc(len * 2 + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] >= 'A' && s[i] <= 'Z') {
      out[o++] = '_';
      out[o++] = (char)(s[i] - 'A' + 'a');
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  return out;
}

static int is_type(const ProtobufCMessageDescriptor *d, const char *full) { return strcmp(d->name, full) == 0; }

/* ---------------------------------------------------------------- base64 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(sbuf_t *out, const uint8_t *d, size_t n) {
  sb_append(out, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16;
    if (i + 1 < n) v |= (uint32_t)d[i + 1] << 8;
    if (i + 2 < n) v |= d[i + 2];
    char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                 i + 2 < n ? b64[v & 63] : '='};
    sb_append(out, q, 4);
  }
  sb_append(out, "\"", 1);
}

static int b64_value(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+' || ch == '-') return 62;
  if (ch == '/' || ch == '_') return 63;
  return -1;
}

/* Standard or URL-safe alphabet, padding optional. */
static int b64_decode(const char *s, ProtobufCBinaryData *ret) {
  size_t len = strlen(s);
  while (len > 0 && s[len - 1] == '=') len--;
  if (len % 4 == 1) return -1;
  uint8_t *out = malloc(len * 3 / 4 + 1);
  if (!out) return -1;
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64_value(s[i]);
    if (v < 0) {
      free(out);
      return -1;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  ret->data = out;
  ret->len = o;
  return 0;
}

/* ---------------------------------------------------------------- JSON -> message */

static int to_message(ctx_t *c, const ProtobufCMessageDescriptor *d, const json_t *v, ProtobufCMessage **ret);

static int parse_i64(ctx_t *c, const json_t *v, int64_t lo, int64_t hi, int64_t *ret) {
  if (v->type != JSON_NUMBER && v->type != JSON_STRING) return fail(c, "expected an integer");
  const char *s = v->str;
  char *end;
  errno = 0;
  long long x = strtoll(s, &end, 10);
  if (end == s || *end) { /* 1.0 or 1e3 written as a number: accept when it is a whole number */
    double dv = strtod(s, &end);
    if (end == s || *end || dv != floor(dv) || dv < -9.2e18 || dv > 9.2e18)
      return fail(c, "expected an integer, got %s", s);
    x = (long long)dv;
  } else if (errno == ERANGE) {
    return fail(c, "integer out of range: %s", s);
  }
  if (x < lo || x > hi) return fail(c, "integer out of range: %s", s);
  *ret = x;
  return 0;
}

static int parse_u64(ctx_t *c, const json_t *v, uint64_t hi, uint64_t *ret) {
  if (v->type != JSON_NUMBER && v->type != JSON_STRING) return fail(c, "expected an integer");
  const char *s = v->str;
  if (*s == '-') return fail(c, "expected an unsigned integer, got %s", s);
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (end == s || *end) return fail(c, "expected an unsigned integer, got %s", s);
  if (errno == ERANGE || x > hi) return fail(c, "integer out of range: %s", s);
  *ret = x;
  return 0;
}

static int parse_double(ctx_t *c, const json_t *v, double *ret) {
  if (v->type == JSON_STRING) {
    if (strcmp(v->str, "NaN") == 0) return *ret = NAN, 0;
    if (strcmp(v->str, "Infinity") == 0) return *ret = INFINITY, 0;
    if (strcmp(v->str, "-Infinity") == 0) return *ret = -INFINITY, 0;
  } else if (v->type != JSON_NUMBER) {
    return fail(c, "expected a number");
  }
  char *end;
  double x = strtod(v->str, &end);
  if (end == v->str || *end) return fail(c, "expected a number, got %s", v->str);
  *ret = x;
  return 0;
}

/* RFC 3339: 2024-05-01T12:00:00Z, 2024-05-01T12:00:00.5+02:00 */
static int parse_timestamp(ctx_t *c, const char *s, int64_t *ret_sec, int32_t *ret_nanos) {
  int Y, M, D, h, m, sec, n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10 || (s[10] != 'T' && s[10] != 't'))
    goto bad;
  n = 0;
  if (sscanf(s + 11, "%2d:%2d:%2d%n", &h, &m, &sec, &n) != 3 || n != 8) goto bad;
  const char *p = s + 19;
  int32_t nanos = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
      if (digits >= 9) goto bad;
      nanos = nanos * 10 + (*p - '0');
    }
    if (!digits) goto bad;
    for (; digits < 9; digits++) nanos *= 10;
  }
  int offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59) goto bad;
    offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    goto bad;
  }
  if (*p || Y < 1 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) goto bad;
  struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  time_t t = timegm(&tm);
  if (tm.tm_mday != D) goto bad; /* 2023-02-30 was normalised: not a real date */
  *ret_sec = (int64_t)t - offset;
  *ret_nanos = nanos;
  return 0;
bad:
  return fail(c, "expected an RFC 3339 timestamp like 2024-05-01T12:00:00Z, got \"%s\"", s);
}

static int parse_duration(ctx_t *c, const char *s, int64_t *ret_sec, int32_t *ret_nanos) {
  const char *p = s;
  int neg = *p == '-';
  if (neg) p++;
  if (*p < '0' || *p > '9') goto bad;
  int64_t secs = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (secs > 315576000000LL) goto bad;
    secs = secs * 10 + (*p - '0');
  }
  int32_t nanos = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
      if (digits >= 9) goto bad;
      nanos = nanos * 10 + (*p - '0');
    }
    if (!digits) goto bad;
    for (; digits < 9; digits++) nanos *= 10;
  }
  if (strcmp(p, "s") != 0) goto bad;
  *ret_sec = neg ? -secs : secs;
  *ret_nanos = neg ? -nanos : nanos;
  return 0;
bad:
  return fail(c, "expected a duration like \"1.5s\", got \"%s\"", s);
}

/* The well-known types with a string form. 1 = handled (0 or -1 in *rc), 0 = an ordinary message. */
static int to_wkt(ctx_t *c, const ProtobufCMessageDescriptor *d, const json_t *v, ProtobufCMessage **ret,
                  int *rc) {
  int ts = is_type(d, "google.protobuf.Timestamp"), du = is_type(d, "google.protobuf.Duration");
  int fm = is_type(d, "google.protobuf.FieldMask");
  if (!ts && !du && !fm) return 0;
  if (v->type != JSON_STRING) {
    *rc = fail(c, "expected a string (%s)", d->name);
    return 1;
  }
  *rc = -1;
  ProtobufCMessage *m = malloc(d->sizeof_message);
  if (!m) {
    fail(c, "out of memory");
    return 1;
  }
  d->message_init(m);
  if (ts || du) {
    /* Timestamp and Duration: int64 seconds = 1; int32 nanos = 2 */
    const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field(d, 1);
    const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field(d, 2);
    int64_t sec = 0;
    int32_t nanos = 0;
    if ((ts ? parse_timestamp(c, v->str, &sec, &nanos) : parse_duration(c, v->str, &sec, &nanos)) < 0) {
      free(m);
      return 1;
    }
    MEMBER(int64_t, m, fs->offset) = sec;
    MEMBER(int32_t, m, fn->offset) = nanos;
  } else {
    /* FieldMask: repeated string paths = 1; "displayName,address.city" */
    const ProtobufCFieldDescriptor *fp = protobuf_c_message_descriptor_get_field(d, 1);
    size_t count = 0;
    for (const char *p = v->str; *p; p++) count += *p == ',';
    count = *v->str ? count + 1 : 0;
    char **paths = count ? calloc(count, sizeof *paths) : NULL;
    if (count && !paths) {
      free(m);
      fail(c, "out of memory");
      return 1;
    }
    MEMBER(char **, m, fp->offset) = paths;
    const char *start = v->str;
    for (size_t i = 0; i < count; i++) {
      const char *comma = strchr(start, ',');
      size_t len = comma ? (size_t)(comma - start) : strlen(start);
      while (len && *start == ' ') start++, len--;
      paths[i] = snake(start, len);
      if (!paths[i]) {
        protobuf_c_message_free_unpacked(m, NULL);
        fail(c, "out of memory");
        return 1;
      }
      MEMBER(size_t, m, fp->quantifier_offset) = i + 1;
      start = comma ? comma + 1 : start + len;
    }
  }
  *ret = m;
  *rc = 0;
  return 1;
}

static size_t elem_size(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
    case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
      return 8;
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
    case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* Reads one value of field f's type from v into dst (a member or an array element). */
static int to_value(ctx_t *c, const ProtobufCFieldDescriptor *f, const json_t *v, void *dst) {
  int64_t i;
  uint64_t u;
  double dv;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
      if (parse_i64(c, v, INT32_MIN, INT32_MAX, &i) < 0) return -1;
      *(int32_t *)dst = (int32_t)i;
      return 0;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
      if (parse_u64(c, v, UINT32_MAX, &u) < 0) return -1;
      *(uint32_t *)dst = (uint32_t)u;
      return 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
      if (parse_i64(c, v, INT64_MIN, INT64_MAX, &i) < 0) return -1;
      *(int64_t *)dst = i;
      return 0;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
      if (parse_u64(c, v, UINT64_MAX, &u) < 0) return -1;
      *(uint64_t *)dst = u;
      return 0;
    case PROTOBUF_C_TYPE_FLOAT:
      if (parse_double(c, v, &dv) < 0) return -1;
      *(float *)dst = (float)dv;
      return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
      if (parse_double(c, v, &dv) < 0) return -1;
      *(double *)dst = dv;
      return 0;
    case PROTOBUF_C_TYPE_BOOL:
      if (v->type != JSON_BOOL) return fail(c, "expected true or false");
      *(protobuf_c_boolean *)dst = v->boolean;
      return 0;
    case PROTOBUF_C_TYPE_ENUM: {
      const ProtobufCEnumDescriptor *ed = f->descriptor;
      if (v->type == JSON_STRING) {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, v->str);
        if (!ev) {
          char names[300] = "";
          for (unsigned k = 0; k < ed->n_values; k++) {
            if (strlen(names) + strlen(ed->values[k].name) + 3 >= sizeof names) break;
            strcat(names, k ? ", " : "");
            strcat(names, ed->values[k].name);
          }
          return fail(c, "unknown %s \"%s\" (one of: %s)", ed->name, v->str, names);
        }
        *(int32_t *)dst = ev->value;
        return 0;
      }
      if (parse_i64(c, v, INT32_MIN, INT32_MAX, &i) < 0) return -1;
      *(int32_t *)dst = (int32_t)i;
      return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
      if (v->type != JSON_STRING) return fail(c, "expected a string");
      char *s = strdup(v->str);
      if (!s) return fail(c, "out of memory");
      *(char **)dst = s;
      return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
      if (v->type != JSON_STRING || b64_decode(v->str, (ProtobufCBinaryData *)dst) < 0)
        return fail(c, "expected base64 bytes");
      return 0;
    case PROTOBUF_C_TYPE_MESSAGE:
      return to_message(c, f->descriptor, v, (ProtobufCMessage **)dst);
  }
  return fail(c, "unsupported field type");
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d, const char *key) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
  if (f) return f;
  char camel[128];
  for (unsigned i = 0; i < d->n_fields; i++) {
    pbjson_camel(d->fields[i].name, camel, sizeof camel);
    if (strcmp(camel, key) == 0) return &d->fields[i];
  }
  return NULL;
}

static int set_field(ctx_t *c, ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *v) {
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    if (v->type != JSON_ARRAY) return fail(c, "expected an array");
    if (v->n == 0) return 0;
    size_t size = elem_size(f);
    char *arr = calloc(v->n, size);
    if (!arr) return fail(c, "out of memory");
    MEMBER(void *, m, f->offset) = arr;
    MEMBER(size_t, m, f->quantifier_offset) = 0;
    size_t base = strlen(c->path);
    for (size_t i = 0; i < v->n; i++) {
      snprintf(c->path + base, sizeof c->path - base, "[%zu]", i);
      if (to_value(c, f, v->items[i], arr + i * size) < 0) return -1;
      MEMBER(size_t, m, f->quantifier_offset) = i + 1; /* now free_unpacked frees it too */
    }
    c->path[base] = '\0';
    return 0;
  }
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t *which = &MEMBER(uint32_t, m, f->quantifier_offset);
    if (*which != 0 && *which != f->id) {
      const char *other = "another field";
      for (unsigned k = 0; k < m->descriptor->n_fields; k++)
        if (m->descriptor->fields[k].id == *which) other = m->descriptor->fields[k].name;
      return fail(c, "only one of %s and %s may be set", f->name, other);
    }
    if (to_value(c, f, v, (char *)m + f->offset) < 0) return -1;
    *which = f->id;
    return 0;
  }
  if (to_value(c, f, v, (char *)m + f->offset) < 0) return -1;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset && f->type != PROTOBUF_C_TYPE_STRING &&
      f->type != PROTOBUF_C_TYPE_MESSAGE)
    MEMBER(protobuf_c_boolean, m, f->quantifier_offset) = 1;
  return 0;
}

static int to_message(ctx_t *c, const ProtobufCMessageDescriptor *d, const json_t *v, ProtobufCMessage **ret) {
  int rc;
  if (to_wkt(c, d, v, ret, &rc)) return rc;
  if (v->type != JSON_OBJECT) return fail(c, "expected an object (%s)", d->name);
  ProtobufCMessage *m = malloc(d->sizeof_message);
  if (!m) return fail(c, "out of memory");
  d->message_init(m);
  unsigned char seen[256] = {0}; /* fields already given (by either name) */
  size_t base = strlen(c->path);
  for (size_t i = 0; i < v->n; i++) {
    snprintf(c->path + base, sizeof c->path - base, "%s%s", base ? "." : "", v->keys[i]);
    utf8_trim_tail(c->path); /* a long key is cut for messages, never inside a character */
    const ProtobufCFieldDescriptor *f = find_field(d, v->keys[i]);
    if (!f) {
      c->path[base] = '\0';
      fail(c, "%s has no field \"%s\"", d->name, v->keys[i]);
      goto bad;
    }
    size_t idx = (size_t)(f - d->fields);
    if (idx < sizeof seen * 8) {
      if (seen[idx / 8] & (1u << (idx % 8))) {
        fail(c, "given twice");
        goto bad;
      }
      seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
    }
    if (v->items[i]->type == JSON_NULL) continue; /* null = the default */
    if (set_field(c, m, f, v->items[i]) < 0) goto bad;
  }
  c->path[base] = '\0';
  *ret = m;
  return 0;
bad:
  protobuf_c_message_free_unpacked(m, NULL);
  return -1;
}

int pbjson_to_message(const ProtobufCMessageDescriptor *d, const json_t *v, ProtobufCMessage **ret,
                      char *err, size_t errlen) {
  ctx_t c = {.err = err, .errlen = errlen};
  c.path[0] = '\0';
  if (v->type != JSON_OBJECT) return fail(&c, "the request must be a JSON object (%s)", d->name);
  return to_message(&c, d, v, ret);
}

/* ---------------------------------------------------------------- message -> JSON */

static void newline(sbuf_t *out, int indent, int level) {
  if (!indent) return;
  sb_append(out, "\n", 1);
  for (int i = 0; i < indent * level; i++) sb_append(out, " ", 1);
}

static void emit_double(sbuf_t *out, double v, int is_float) {
  if (isnan(v)) return sb_puts(out, "\"NaN\"");
  if (isinf(v)) return sb_puts(out, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  char buf[40];
  /* the shortest of a few precisions that reads back as the same value */
  for (int prec = is_float ? 6 : 15; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (is_float ? (float)strtod(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
  }
  sb_puts(out, buf);
}

static void emit_message(const ProtobufCMessage *m, sbuf_t *out, int indent, int level);

static void emit_value(const ProtobufCFieldDescriptor *f, const void *p, sbuf_t *out, int indent, int level) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
      return sb_printf(out, "%" PRId32, *(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
      return sb_printf(out, "%" PRIu32, *(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
      return sb_printf(out, "\"%" PRId64 "\"", *(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
      return sb_printf(out, "\"%" PRIu64 "\"", *(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT: return emit_double(out, *(const float *)p, 1);
    case PROTOBUF_C_TYPE_DOUBLE: return emit_double(out, *(const double *)p, 0);
    case PROTOBUF_C_TYPE_BOOL: return sb_puts(out, *(const protobuf_c_boolean *)p ? "true" : "false");
    case PROTOBUF_C_TYPE_ENUM: {
      const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int32_t *)p);
      if (ev) return sb_json_string(out, ev->name, strlen(ev->name));
      return sb_printf(out, "%" PRId32, *(const int32_t *)p);
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)p;
      return sb_json_string(out, s ? s : "", s ? strlen(s) : 0);
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *b = p;
      return b64_encode(out, b->data, b->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
      if (sub) return emit_message(sub, out, indent, level);
      return sb_puts(out, "null");
    }
  }
}

/* 1 when a singular proto3 field holds its default value (left out of the output). */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
      return *(const uint32_t *)p == 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
      return *(const uint64_t *)p == 0;
    case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)p;
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)p;
      return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
  }
  return 1;
}

static int emit_wkt(const ProtobufCMessage *m, sbuf_t *out) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (is_type(d, "google.protobuf.Timestamp") || is_type(d, "google.protobuf.Duration")) {
    int64_t sec = MEMBER(int64_t, m, protobuf_c_message_descriptor_get_field(d, 1)->offset);
    int32_t nanos = MEMBER(int32_t, m, protobuf_c_message_descriptor_get_field(d, 2)->offset);
    char frac[16] = "";
    int32_t an = nanos < 0 ? -nanos : nanos;
    if (an % 1000000 == 0 && an) snprintf(frac, sizeof frac, ".%03d", (int)(an / 1000000));
    else if (an % 1000 == 0 && an) snprintf(frac, sizeof frac, ".%06d", (int)(an / 1000));
    else if (an) snprintf(frac, sizeof frac, ".%09d", (int)an);
    if (is_type(d, "google.protobuf.Duration")) {
      int neg = sec < 0 || nanos < 0;
      sb_printf(out, "\"%s%" PRId64 "%ss\"", neg ? "-" : "", sec < 0 ? -sec : sec, frac);
      return 1;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999) {
      sb_printf(out, "\"%" PRId64 "s\"", sec); /* out of RFC 3339's range: say something readable */
      return 1;
    }
    sb_printf(out, "\"%04d-%02d-%02dT%02d:%02d:%02d%sZ\"", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return 1;
  }
  if (is_type(d, "google.protobuf.FieldMask")) {
    const ProtobufCFieldDescriptor *fp = protobuf_c_message_descriptor_get_field(d, 1);
    size_t n = MEMBER(size_t, m, fp->quantifier_offset);
    char **paths = MEMBER(char **, m, fp->offset);
    sbuf_t joined = {0}; /* no length limit: a path is as long as it is (issue 10) */
    for (size_t i = 0; i < n; i++) {
      if (i) sb_append(&joined, ",", 1);
      camel_append(&joined, paths[i] ? paths[i] : "");
    }
    if (joined.failed) out->failed = 1;
    sb_json_string(out, joined.buf ? joined.buf : "", joined.len);
    free(joined.buf);
    return 1;
  }
  return 0;
}

static void emit_message(const ProtobufCMessage *m, sbuf_t *out, int indent, int level) {
  if (emit_wkt(m, out)) return;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  int any = 0;
  sb_append(out, "{", 1);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *member = (const char *)m + f->offset;
    size_t n = 0;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = MEMBER(size_t, m, f->quantifier_offset);
      if (n == 0) continue;
    } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      if (MEMBER(uint32_t, m, f->quantifier_offset) != f->id) continue; /* set: shown even if default */
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
               f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) {
      if (!MEMBER(protobuf_c_boolean, m, f->quantifier_offset)) continue;
    } else if (is_default(f, member)) {
      continue;
    }
    sb_append(out, any ? "," : "", any ? 1 : 0);
    newline(out, indent, level + 1);
    sbuf_t camel = {0};
    camel_append(&camel, f->name);
    if (camel.failed) out->failed = 1;
    sb_json_string(out, camel.buf ? camel.buf : "", camel.len);
    free(camel.buf);
    sb_puts(out, indent ? ": " : ":");
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      const char *arr = *(char *const *)member;
      size_t size = elem_size(f);
      sb_append(out, "[", 1);
      for (size_t k = 0; k < n; k++) {
        if (k) sb_append(out, ",", 1);
        newline(out, indent, level + 2);
        emit_value(f, arr + k * size, out, indent, level + 2);
      }
      newline(out, indent, level + 1);
      sb_append(out, "]", 1);
    } else {
      emit_value(f, member, out, indent, level + 1);
    }
    any = 1;
  }
  if (any) newline(out, indent, level);
  sb_append(out, "}", 1);
}

void pbjson_from_message(const ProtobufCMessage *m, sbuf_t *out, int indent) {
  emit_message(m, out, indent, 0);
}
