/* NFC of request text with utf8proc. utf8proc_map would malloc its result; the calls here write
 * into a per-thread scratch buffer (or, for long text, a buffer in the call's arena) instead:
 * utf8proc_decompose_custom decomposes and orders the marks into code points, utf8proc_reencode
 * composes them and writes the UTF-8 in place over the same buffer. */
#include "core/unicode.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

/* NFC as utf8proc_NFC makes it. */
#define NFC_OPTIONS ((utf8proc_option_t)(UTF8PROC_STABLE | UTF8PROC_COMPOSE))

/* Code points of the per-thread scratch buffer (16 KiB, off the worker's stack): every text field
 * but the notes fits; longer text takes a buffer from the arena. */
#define SCRATCH_CPS 4096

static __thread utf8proc_int32_t scratch[SCRATCH_CPS];

static int is_ascii(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] & 0x80) return 0;
  return 1;
}

int ps_nfc(ps_arena_t *a, const char *s, const char **ret) {
  if (!s) {
    *ret = s;
    return 0;
  }
  size_t n = strlen(s);
  if (is_ascii(s, n) || n > (size_t)PTRDIFF_MAX) {
    *ret = s;
    return 0;
  }
  const utf8proc_uint8_t *in = (const utf8proc_uint8_t *)s;
  /* decomposed, in code points; the buffer also takes the composed UTF-8 and its NUL, which need
   * at most 4 bytes per code point plus one, so one spare code point is enough */
  utf8proc_ssize_t need =
      utf8proc_decompose_custom(in, (utf8proc_ssize_t)n, scratch, SCRATCH_CPS - 1, NFC_OPTIONS, NULL, NULL);
  if (need < 0) { /* not valid UTF-8: kept as it is, for the validators to name */
    *ret = s;
    return 0;
  }
  utf8proc_int32_t *buf = scratch;
  if (need > SCRATCH_CPS - 1) {
    if ((size_t)need >= SIZE_MAX / sizeof *buf) return -1;
    buf = ps_arena_alloc(a, ((size_t)need + 1) * sizeof *buf);
    if (!buf) return -1;
    utf8proc_ssize_t again = utf8proc_decompose_custom(in, (utf8proc_ssize_t)n, buf, need, NFC_OPTIONS,
                                                       NULL, NULL);
    if (again != need) { /* cannot happen: the same input decomposes the same way */
      *ret = s;
      return 0;
    }
  }
  utf8proc_ssize_t len = utf8proc_reencode(buf, need, NFC_OPTIONS);
  if (len < 0) {
    *ret = s;
    return 0;
  }
  const char *nfc = (const char *)buf;
  if ((size_t)len == n && memcmp(nfc, s, n) == 0) {
    *ret = s; /* already NFC: nothing to keep */
    return 0;
  }
  if (buf == scratch) {
    char *copy = ps_arena_strndup(a, nfc, (size_t)len);
    if (!copy) return -1;
    nfc = copy;
  }
  *ret = nfc;
  return 0;
}

/* Replaces the string at *slot by its NFC form. */
static int nfc_slot(ps_arena_t *a, char **slot) {
  const char *out;
  if (ps_nfc(a, *slot, &out) != 0) return -1;
  *slot = (char *)out; /* protobuf-c's strings are char *; this one is never written through */
  return 0;
}

int ps_nfc_message(ps_arena_t *a, ProtobufCMessage *msg) {
  if (!msg) return 0;
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  char *base = (char *)msg;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    /* the members of a oneof share their storage: only the one that is set holds its type */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)(base + f->quantifier_offset) != f->id)
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      void *values = *(void **)(base + f->offset);
      for (size_t k = 0; k < n; k++) {
        int rc = f->type == PROTOBUF_C_TYPE_STRING ? nfc_slot(a, &((char **)values)[k])
                                                   : ps_nfc_message(a, ((ProtobufCMessage **)values)[k]);
        if (rc != 0) return -1;
      }
    } else if (f->type == PROTOBUF_C_TYPE_STRING) {
      if (nfc_slot(a, (char **)(base + f->offset)) != 0) return -1;
    } else if (ps_nfc_message(a, *(ProtobufCMessage **)(base + f->offset)) != 0) {
      return -1;
    }
  }
  return 0;
}
