/* Shared by the libFuzzer harnesses of tests/fuzz: the check that turns a broken property into a
 * crash that libFuzzer records with its input, the checks of a ps_status_t and of the strings of a
 * message, and the page-token key of the harnesses and their seeds. Header-only; each harness is
 * one executable. */
#ifndef PS_FUZZ_H
#define PS_FUZZ_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/validate.h"

/* The key fuzz_decode and fuzz_pagetoken seal page tokens with; tests/fuzz/make_corpus.py seals the
 * tokens of the seeds with it too. */
#define FUZZ_PAGE_TOKEN_KEY "fuzz-page-token-key"

/* Aborts (a finding) when cond is false, saying which property broke and where. */
#define FUZZ_CHECK(cond, ...)                                                            \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__, #cond);        \
      fprintf(stderr, __VA_ARGS__);                                                      \
      fputc('\n', stderr);                                                              \
      abort();                                                                           \
    }                                                                                    \
  } while (0)

/* 1 when the NUL-terminated s, cut within n bytes, is valid UTF-8. */
static inline int fuzz_utf8_z(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  return len < n && ps_utf8_valid(s, len);
}

/* A failure status as the transport would send it: a code other than OK within gRPC's range, a
 * message, and every text (message, reason, metadata) NUL-terminated valid UTF-8, since gRPC sends
 * them as proto3 strings. */
static inline void fuzz_check_failure(const ps_status_t *st) {
  FUZZ_CHECK(st->code > PS_OK && st->code <= PS_UNAUTHENTICATED, "code %d", (int)st->code);
  FUZZ_CHECK(fuzz_utf8_z(st->message, sizeof st->message), "message not UTF-8");
  FUZZ_CHECK(st->message[0] != '\0', "%s without a message", ps_code_name(st->code));
  FUZZ_CHECK(fuzz_utf8_z(st->reason, sizeof st->reason), "reason not UTF-8");
  FUZZ_CHECK(st->n_meta >= 0 && st->n_meta <= PS_STATUS_MAX_META, "n_meta %d", st->n_meta);
  for (int i = 0; i < st->n_meta; i++) {
    FUZZ_CHECK(fuzz_utf8_z(st->meta[i].key, sizeof st->meta[i].key), "meta key %d", i);
    FUZZ_CHECK(fuzz_utf8_z(st->meta[i].value, sizeof st->meta[i].value), "meta %s not UTF-8",
               st->meta[i].key);
  }
}

/* 1 when every string of m, nested messages included, is valid UTF-8 (what a proto3 decoder of
 * another language insists on). */
static inline int fuzz_strings_valid(const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    const char *member = (const char *)m + f->offset;
    size_t n = 1;
    const void *const *values = (const void *const *)member;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)((const char *)m + f->quantifier_offset);
      values = *(const void *const *const *)member;
    } else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
               *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id) {
      continue;
    }
    for (size_t k = 0; k < n; k++) {
      if (!values[k]) continue;
      if (f->type == PROTOBUF_C_TYPE_STRING ? !ps_utf8_valid(values[k], strlen(values[k]))
                                            : !fuzz_strings_valid(values[k]))
        return 0;
    }
  }
  return 1;
}

#endif
