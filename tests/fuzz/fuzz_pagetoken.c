/* fuzz_pagetoken: page tokens (server/core/pagetoken.h) under a fixed key.
 *
 * Feeds: the input, up to its first NUL, as a token to ps_pagetoken_open with the contexts the List
 * methods build (a ListProspects, a ListMerges and a ListContactPersons listing of one tenant); and
 * the input as a position (at most PS_PAGETOKEN_MAX_POS bytes) and a query string to
 * ps_pagetoken_make.
 *
 * Asserts: a token opens under at most one of the contexts; opening fails with the outputs
 * untouched, or gives a position of at most PS_PAGETOKEN_MAX_POS bytes, and then the token is
 * exactly the one ps_pagetoken_make gives for that position (one spelling per token: nothing to
 * alter without the key). A token made for a position opens with the context it was made for,
 * giving that position, and not with a context that differs in one field. A context too large
 * makes no token. No crash, leak or undefined behaviour. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/pagetoken.h"
#include "fuzz.h"

#define TENANT "acme"

static ps_arena_t arena;
static ps_pagetoken_ctx_t contexts[3];

static void teardown(void) { ps_arena_destroy(&arena); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FUZZ_CHECK(ps_arena_init(&arena, 0) == 0, "out of memory");
  FUZZ_CHECK(ps_pagetoken_set_key(FUZZ_PAGE_TOKEN_KEY) == 0, "the development key is in use");
  /* as ListProspects builds it: tenant, query, state filter (PROSPECTS_ONLY), order (newest) */
  ps_pagetoken_ctx_init(&contexts[0], "ListProspects");
  ps_pagetoken_ctx_str(&contexts[0], TENANT);
  ps_pagetoken_ctx_str(&contexts[0], "");
  ps_pagetoken_ctx_int(&contexts[0], 1);
  ps_pagetoken_ctx_int(&contexts[0], 0);
  /* ListMerges: tenant, target ("" for all) */
  ps_pagetoken_ctx_init(&contexts[1], "ListMerges");
  ps_pagetoken_ctx_str(&contexts[1], TENANT);
  ps_pagetoken_ctx_str(&contexts[1], "");
  /* ListContactPersons: tenant, parent */
  ps_pagetoken_ctx_init(&contexts[2], "ListContactPersons");
  ps_pagetoken_ctx_str(&contexts[2], TENANT);
  ps_pagetoken_ctx_str(&contexts[2],
                       "tenants/" TENANT "/prospects/0190c8e4-0000-7000-8000-000000000001");
  atexit(teardown);
  return 0;
}

/* The input as a token. */
static void open_token(const char *token) {
  int opened = 0;
  for (size_t c = 0; c < sizeof contexts / sizeof contexts[0]; c++) {
    unsigned char pos[PS_PAGETOKEN_MAX_POS];
    size_t n = (size_t)-1;
    memset(pos, 0xa5, sizeof pos);
    if (ps_pagetoken_open(token, &contexts[c], pos, &n) != 0) {
      FUZZ_CHECK(n == (size_t)-1 && pos[0] == 0xa5, "outputs changed on failure");
      continue;
    }
    opened++;
    FUZZ_CHECK(n <= PS_PAGETOKEN_MAX_POS, "position of %zu bytes", n);
    char *again = ps_pagetoken_make(&arena, &contexts[c], pos, n);
    FUZZ_CHECK(again != NULL, "no token for a position that came out of one");
    FUZZ_CHECK(strcmp(again, token) == 0, "token \"%s\" opens, but is made as \"%s\"", token,
               again);
  }
  FUZZ_CHECK(opened <= 1, "one token opens under %d contexts", opened);
}

/* The input as a position and a query. */
static void make_token(const uint8_t *data, size_t size, const char *query) {
  size_t n = size < PS_PAGETOKEN_MAX_POS ? size : PS_PAGETOKEN_MAX_POS;
  ps_pagetoken_ctx_t c, other;
  ps_pagetoken_ctx_init(&c, "ListProspects");
  ps_pagetoken_ctx_str(&c, TENANT);
  ps_pagetoken_ctx_str(&c, query);
  other = c;
  ps_pagetoken_ctx_int(&c, 1);
  ps_pagetoken_ctx_int(&other, 2);
  char *token = ps_pagetoken_make(&arena, &c, data, n);
  if (c.overflow) {
    FUZZ_CHECK(token == NULL, "a token for a context that did not fit");
    return;
  }
  FUZZ_CHECK(token != NULL, "no token for %zu bytes", n);
  unsigned char pos[PS_PAGETOKEN_MAX_POS];
  size_t got = 0;
  FUZZ_CHECK(ps_pagetoken_open(token, &c, pos, &got) == 0, "a fresh token does not open");
  FUZZ_CHECK(got == n && (n == 0 || memcmp(pos, data, n) == 0), "the position changed");
  FUZZ_CHECK(ps_pagetoken_open(token, &other, pos, &got) != 0, "it opens for another filter");
  FUZZ_CHECK(ps_pagetoken_make(&arena, &c, data, PS_PAGETOKEN_MAX_POS + 1) == NULL,
             "a token for a position that is too long");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  FUZZ_CHECK(s != NULL, "out of memory");
  if (size) memcpy(s, data, size);
  s[size] = '\0';
  open_token(s);
  make_token(data, size, s);
  free(s);
  ps_arena_reset(&arena);
  return 0;
}
