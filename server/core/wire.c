#include "core/wire.h"

#include <stdio.h>
#include <string.h>

#include "core/validate.h"

#define MAX_DEPTH 32
#define MAX_COUNTED_FIELDS 64 /* repeated fields counted per message (by field index) */

int ps_wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *ret = v;
      return 0;
    }
  }
  return -1;
}

/* The walk's shared state. */
typedef struct walk {
  const ps_wire_rules_t *rules;
  size_t unknown;   /* unknown fields seen so far */
  char *path;
  size_t pathsz;
  ps_wire_limit_t hit; /* the cap that was exceeded */
} walk_t;

static int field_index(const ProtobufCMessageDescriptor *d, uint32_t num) {
  for (unsigned i = 0; i < d->n_fields; i++)
    if (d->fields[i].id == num) return (int)i;
  return -1;
}

/* Appends ".name" (or "name" at the root) to path[0..used). */
static void push(walk_t *w, size_t used, const char *name) {
  if (used >= w->pathsz) return;
  snprintf(w->path + used, w->pathsz - used, "%s%s", used ? "." : "", name);
}

/* The cap of field f of message d (max 0: none). */
static ps_wire_limit_t cap_of(const walk_t *w, const ProtobufCMessageDescriptor *d,
                              const ProtobufCFieldDescriptor *f) {
  ps_wire_limit_t cap = {d, f->id, 0, NULL};
  if (!w->rules) return cap;
  for (size_t i = 0; i < w->rules->n_limits; i++)
    if (w->rules->limits[i].message == d && w->rules->limits[i].field == f->id)
      return w->rules->limits[i];
  cap.max = w->rules->default_max_repeated;
  return cap;
}

/* Values in a packed run of n bytes of a scalar of type t (0 when t cannot be packed). */
static uint64_t packed_count(ProtobufCType t, const uint8_t *v, uint64_t n) {
  switch (t) {
  case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
    return n / 4;
  case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
    return n / 8;
  case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_BYTES: case PROTOBUF_C_TYPE_MESSAGE:
    return 0;
  default: { /* varints: one value per byte without the continuation bit */
    uint64_t c = 0;
    for (uint64_t i = 0; i < n; i++) c += !(v[i] & 0x80);
    return c;
  }
  }
}

static ps_wire_problem_t walk(walk_t *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                              const uint8_t *end, int depth) {
  if (depth > MAX_DEPTH) return PS_WIRE_MALFORMED;
  size_t used = strnlen(w->path, w->pathsz);
  uint64_t counts[MAX_COUNTED_FIELDS];
  memset(counts, 0, sizeof counts);
  uint64_t singular_seen = 0; /* singular message fields met so far, by field index */
  while (p < end) {
    uint64_t key, n = 0;
    if (ps_wire_varint(&p, end, &key)) return PS_WIRE_MALFORMED;
    /* field numbers are 1..2^29-1; protobuf-c keeps others (0 spelled in two bytes, or above the
     * range) as unknown fields, and would pack them back as bytes no other decoder reads */
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return PS_WIRE_MALFORMED;
    uint32_t num = (uint32_t)(key >> 3);
    const uint8_t *v = NULL;
    switch (key & 7) {
    case 0:
      if (ps_wire_varint(&p, end, &n)) return PS_WIRE_MALFORMED;
      break;
    case 1:
      if (end - p < 8) return PS_WIRE_MALFORMED;
      p += 8;
      break;
    case 5:
      if (end - p < 4) return PS_WIRE_MALFORMED;
      p += 4;
      break;
    case 2:
      if (ps_wire_varint(&p, end, &n) || n > (uint64_t)(end - p)) return PS_WIRE_MALFORMED;
      v = p;
      p += n;
      break;
    default: /* groups (3, 4) are not used by proto3 */
      return PS_WIRE_MALFORMED;
    }
    int fi = field_index(d, num);
    if (fi < 0) {
      if (w->rules && !w->rules->unknown_unlimited && ++w->unknown > w->rules->max_unknown)
        return PS_WIRE_TOO_MANY_UNKNOWN;
      continue;
    }
    const ProtobufCFieldDescriptor *f = &d->fields[fi];
    if (w->rules && f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED &&
        fi < MAX_COUNTED_FIELDS) {
      /* protobuf-c merges the copies of a singular message into one, so their repeated fields would
       * add up past the caps counted per copy here, each merge copying them all again */
      if (singular_seen & (UINT64_C(1) << fi)) return PS_WIRE_MALFORMED;
      singular_seen |= UINT64_C(1) << fi;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED && fi < MAX_COUNTED_FIELDS) {
      ps_wire_limit_t cap = cap_of(w, d, f);
      counts[fi] += v && f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_BYTES &&
                            f->type != PROTOBUF_C_TYPE_MESSAGE
                        ? packed_count(f->type, v, n)
                        : 1;
      if (cap.max && counts[fi] > cap.max) {
        push(w, used, f->name);
        w->hit = cap;
        return PS_WIRE_TOO_MANY;
      }
    }
    if (!v) continue;
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      ps_wire_problem_t pr = PS_WIRE_OK;
      if (memchr(v, 0, (size_t)n)) pr = PS_WIRE_NUL;
      else if (!ps_utf8_valid((const char *)v, (size_t)n)) pr = PS_WIRE_BAD_UTF8;
      if (pr != PS_WIRE_OK) {
        push(w, used, f->name);
        return pr;
      }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      push(w, used, f->name);
      ps_wire_problem_t pr = walk(w, f->descriptor, v, v + n, depth + 1);
      if (pr != PS_WIRE_OK) return pr;
      if (used < w->pathsz) w->path[used] = '\0';
    }
  }
  return PS_WIRE_OK;
}

ps_wire_problem_t ps_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                                const ps_wire_rules_t *rules, char *ret_path, size_t pathsz,
                                ps_wire_limit_t *ret_hit) {
  if (pathsz == 0) return PS_WIRE_MALFORMED;
  ret_path[0] = '\0';
  walk_t w = {rules, 0, ret_path, pathsz, {NULL, 0, 0, NULL}};
  ps_wire_problem_t pr = walk(&w, d, buf, buf + len, 0);
  if (pr == PS_WIRE_TOO_MANY && ret_hit) *ret_hit = w.hit;
  return pr;
}

ps_wire_problem_t ps_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                        size_t len, char *ret_path, size_t pathsz) {
  return ps_wire_check(d, buf, len, NULL, ret_path, pathsz, NULL);
}
