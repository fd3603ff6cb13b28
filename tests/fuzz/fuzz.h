/* Shared by the libFuzzer harnesses of tests/fuzz: the check that turns a broken property into a
 * crash libFuzzer records (with the input that caused it), and the checks of a ps_status_t that
 * every harness makes. Header-only; each harness is one executable. */
#ifndef PS_FUZZ_H
#define PS_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/validate.h"

/* Aborts (a finding) when cond is false, saying which property broke and where. */
#define FUZZ_CHECK(cond, ...)                                              \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: property broken: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                        \
      fputc('\n', stderr);                                                 \
      abort();                                                             \
    }                                                                      \
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

#endif
