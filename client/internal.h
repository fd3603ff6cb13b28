/* Internal declarations shared by the files of the client library (psc__ prefix: not exported). */
#ifndef PSC_INTERNAL_H
#define PSC_INTERNAL_H

#include <stddef.h>

#include "prospects/client.h"

/* The method table, in the order of service.proto. */
extern const psc_method_t psc__methods[];
extern const size_t psc__n_methods;

/* Checks every option of o (options.c): 0, or the code of a refusal whose message names the
 * option, set in st. Reads the tls_*_file files once (see options.c). */
int psc__options_check(const psc_options_t *o, psc_status_t *st);

/* 1 when s is usable as an ASCII metadata value (printable, no control characters). */
int psc__printable_ascii(const char *s);

/* 1 when an attempt that ended with code (and ErrorInfo reason) may be repeated by a call whose
 * method is safe to repeat: UNAVAILABLE, or ABORTED without a reason (a lost race: a deadlock, a
 * Galera certification conflict, a concurrent change; the server's RetryInfo says retry).
 * ABORTED with a reason (ETAG_MISMATCH) is the caller's to handle. */
int psc__retryable(int code, const char *reason);

/* Resets st to OK with empty strings. */
void psc__status_clear(psc_status_t *st);

/* Sets st->code and formats st->message (cut to fit, kept valid UTF-8). Returns code. */
int psc__status_set(psc_status_t *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills st->reason, domain, meta[] and surviving_prospect from the bytes of the
 * grpc-status-details-bin trailer (a packed google.rpc.Status). Leaves them empty when the bytes
 * do not decode or carry no google.rpc.ErrorInfo. Returns 0, or -1 when the bytes do not decode. */
int psc__status_decode_details(psc_status_t *st, const unsigned char *data, size_t len);

/* Copies src into dst of size n, cut at a UTF-8 character boundary; always NUL-terminated. */
void psc__copy_cut(char *dst, size_t n, const char *src, size_t src_len);

/* Writes a random UUIDv4 in text form (36 characters + NUL) to out. Returns 0 or -1 (no
 * randomness available). */
int psc__uuid4(char out[37]);

/* A random number in [0, n) (n > 0), from getrandom; falls back to a weak source. */
unsigned long psc__random_below(unsigned long n);

#endif /* PSC_INTERNAL_H */
