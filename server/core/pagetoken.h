/* Opaque, tamper-evident page tokens (AIP-158): a keyset position sealed with HMAC-SHA256 under a
 * key from the configuration (PS_PAGE_TOKEN_KEY), bound to the request it continues.
 *
 * A token is base64url(version byte | position bytes | first 16 bytes of
 * HMAC-SHA256(key, version | len(context) | context | position)). The context is what the token
 * may only be used with: the method, tenant, parent, query, filter and order, spelled by the caller
 * with ps_pagetoken_ctx_*. The position is not encrypted (it holds the last id and sort key the
 * caller has already seen); it cannot be forged or moved to another query, filter, order or tenant,
 * and every replica sharing the key accepts the tokens of the others.
 *
 * Thread-safety: ps_pagetoken_set_key once at start-up, before serving; the rest is thread-safe. */
#ifndef PS_CORE_PAGETOKEN_H
#define PS_CORE_PAGETOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* Largest position a token may carry, in bytes. */
#define PS_PAGETOKEN_MAX_POS 1100

/* The key used when none is configured: fine for development and tests, never for production
 * (anyone who reads this source could forge tokens). */
#define PS_PAGETOKEN_DEV_KEY "prospects-dev-page-token-key-not-for-production"

/* Sets the process-wide key (any bytes of a NUL-terminated string; "" or NULL: the development
 * key). Returns 1 when the development key is in use, else 0. Call before serving. */
int ps_pagetoken_set_key(const char *key);

/* The request a token belongs to, built field by field (length-prefixed, so "ab"+"c" differs from
 * "a"+"bc"). Fixed size; a context that does not fit is marked overflowed and every token made or
 * opened with it is refused. */
typedef struct ps_pagetoken_ctx {
  unsigned char buf[1024]; /* the encoded fields */
  size_t len;              /* bytes used */
  int overflow;            /* a field did not fit */
} ps_pagetoken_ctx_t;

void ps_pagetoken_ctx_init(ps_pagetoken_ctx_t *c, const char *method);
void ps_pagetoken_ctx_str(ps_pagetoken_ctx_t *c, const char *s); /* NULL is "" */
void ps_pagetoken_ctx_int(ps_pagetoken_ctx_t *c, int64_t v);

/* A token for pos[0..n) bound to c, in a; NULL when out of memory or n/c are too large. */
char *ps_pagetoken_make(ps_arena_t *a, const ps_pagetoken_ctx_t *c, const void *pos, size_t n);

/* Opens a token made by ps_pagetoken_make with the same key and an equal context. 0 with the
 * position copied into ret_pos (at most PS_PAGETOKEN_MAX_POS bytes) and its length in *ret_n;
 * -1 (outputs untouched) when the token is malformed, was altered, or belongs to another context. */
int ps_pagetoken_open(const char *token, const ps_pagetoken_ctx_t *c,
                      unsigned char ret_pos[PS_PAGETOKEN_MAX_POS], size_t *ret_n);

#endif
