/* core/pagetoken.c: tokens round-trip, are bound to their context and key, and refuse tampering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/pagetoken.h"

static void ctx_for(ps_pagetoken_ctx_t *c, const char *tenant, const char *query, int filter) {
  ps_pagetoken_ctx_init(c, "ListProspects");
  ps_pagetoken_ctx_str(c, tenant);
  ps_pagetoken_ctx_str(c, query);
  ps_pagetoken_ctx_int(c, filter);
}

static void test_round_trip_and_binding(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  assert_int_equal(ps_pagetoken_set_key("unit-test-key"), 0);
  ps_pagetoken_ctx_t c, other;
  ctx_for(&c, "t1", "jansen", 1);
  const unsigned char pos[] = "\x01position bytes";
  char *tok = ps_pagetoken_make(&a, &c, pos, sizeof pos);
  assert_non_null(tok);
  for (const char *p = tok; *p; p++)
    assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_');
  unsigned char out[PS_PAGETOKEN_MAX_POS];
  size_t n = 0;
  assert_int_equal(ps_pagetoken_open(tok, &c, out, &n), 0);
  assert_int_equal(n, sizeof pos);
  assert_memory_equal(out, pos, sizeof pos);

  ctx_for(&other, "t2", "jansen", 1);
  assert_int_equal(ps_pagetoken_open(tok, &other, out, &n), -1);
  ctx_for(&other, "t1", "jansen ", 1);
  assert_int_equal(ps_pagetoken_open(tok, &other, out, &n), -1);
  ctx_for(&other, "t1", "jansen", 3);
  assert_int_equal(ps_pagetoken_open(tok, &other, out, &n), -1);
  /* length prefixes: "ab"+"c" is not "a"+"bc" */
  ps_pagetoken_ctx_t x, y;
  ps_pagetoken_ctx_init(&x, "m");
  ps_pagetoken_ctx_str(&x, "ab");
  ps_pagetoken_ctx_str(&x, "c");
  ps_pagetoken_ctx_init(&y, "m");
  ps_pagetoken_ctx_str(&y, "a");
  ps_pagetoken_ctx_str(&y, "bc");
  char *tx = ps_pagetoken_make(&a, &x, "p", 1);
  assert_int_equal(ps_pagetoken_open(tx, &y, out, &n), -1);

  /* another key (another deployment) refuses it; the same key on another replica accepts it */
  ps_pagetoken_set_key("another-key");
  assert_int_equal(ps_pagetoken_open(tok, &c, out, &n), -1);
  ps_pagetoken_set_key("unit-test-key");
  assert_int_equal(ps_pagetoken_open(tok, &c, out, &n), 0);
  assert_int_equal(ps_pagetoken_set_key(""), 1); /* the development key */
  ps_arena_destroy(&a);
}

static void test_tampering_refused(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  ps_pagetoken_set_key("k");
  ps_pagetoken_ctx_t c;
  ctx_for(&c, "t", "", 1);
  unsigned char pos[17] = {0};
  char *tok = ps_pagetoken_make(&a, &c, pos, sizeof pos);
  assert_non_null(tok);
  size_t len = strlen(tok);
  unsigned char out[PS_PAGETOKEN_MAX_POS];
  size_t n;
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < len; i++) {
    char saved = tok[i];
    for (const char *ch = alphabet; *ch; ch++) {
      if (*ch == saved) continue;
      tok[i] = *ch;
      if (ps_pagetoken_open(tok, &c, out, &n) == 0) fail_msg("altered at %zu to %c and accepted", i, *ch);
    }
    tok[i] = saved;
  }
  assert_int_equal(ps_pagetoken_open(tok, &c, out, &n), 0);
  const char *junk[] = {"", "A", "AAAA", "!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "A=="};
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
    assert_int_equal(ps_pagetoken_open(junk[i], &c, out, &n), -1);
  char big[4000];
  memset(big, 'A', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(ps_pagetoken_open(big, &c, out, &n), -1);
  assert_null(ps_pagetoken_make(&a, &c, big, PS_PAGETOKEN_MAX_POS + 1));
  ps_arena_destroy(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_binding),
      cmocka_unit_test(test_tampering_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
