#include "core/wire.h"

#include <stdio.h>
#include <string.h>

#include "core/validate.h"

#define MAX_DEPTH 32

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

static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, uint32_t num) {
  for (unsigned i = 0; i < d->n_fields; i++)
    if (d->fields[i].id == num) return &d->fields[i];
  return NULL;
}

/* Appends ".name" (or "name" at the root) to path[0..*used). */
static void push(char *path, size_t pathsz, size_t used, const char *name) {
  if (used >= pathsz) return;
  snprintf(path + used, pathsz - used, "%s%s", used ? "." : "", name);
}

static ps_wire_problem_t walk(const ProtobufCMessageDescriptor *d, const uint8_t *p,
                              const uint8_t *end, char *path, size_t pathsz, int depth) {
  if (depth > MAX_DEPTH) return PS_WIRE_MALFORMED;
  size_t used = strnlen(path, pathsz);
  while (p < end) {
    uint64_t key, n;
    if (ps_wire_varint(&p, end, &key)) return PS_WIRE_MALFORMED;
    uint32_t num = (uint32_t)(key >> 3);
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
    case 2: {
      if (ps_wire_varint(&p, end, &n) || n > (uint64_t)(end - p)) return PS_WIRE_MALFORMED;
      const uint8_t *v = p;
      p += n;
      const ProtobufCFieldDescriptor *f = field_of(d, num);
      if (!f) break;
      if (f->type == PROTOBUF_C_TYPE_STRING) {
        ps_wire_problem_t pr = PS_WIRE_OK;
        if (memchr(v, 0, (size_t)n)) pr = PS_WIRE_NUL;
        else if (!ps_utf8_valid((const char *)v, (size_t)n)) pr = PS_WIRE_BAD_UTF8;
        if (pr != PS_WIRE_OK) {
          push(path, pathsz, used, f->name);
          return pr;
        }
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        push(path, pathsz, used, f->name);
        ps_wire_problem_t pr = walk(f->descriptor, v, v + n, path, pathsz, depth + 1);
        if (pr != PS_WIRE_OK) return pr;
        if (used < pathsz) path[used] = '\0';
      }
      break;
    }
    default: /* groups (3, 4) are not used by proto3 */
      return PS_WIRE_MALFORMED;
    }
  }
  return PS_WIRE_OK;
}

ps_wire_problem_t ps_wire_check_strings(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                                        size_t len, char *ret_path, size_t pathsz) {
  if (pathsz == 0) return PS_WIRE_MALFORMED;
  ret_path[0] = '\0';
  return walk(d, buf, buf + len, ret_path, pathsz, 0);
}
