/* core/hash.c: FNV-1a 64 against the reference vectors, and chaining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/hash.h"

static uint64_t h(const char *s) { return ps_hash64(s, strlen(s), PS_HASH_SEED); }

static void test_reference_vectors(void **state) {
  (void)state;
  /* from the FNV reference test suite (fnv-1a, 64 bit) */
  assert_int_equal(h(""), UINT64_C(0xcbf29ce484222325));
  assert_int_equal(h("a"), UINT64_C(0xaf63dc4c8601ec8c));
  assert_int_equal(h("foobar"), UINT64_C(0x85944171f73967e8));
}

static void test_chaining_equals_one_pass(void **state) {
  (void)state;
  uint64_t part = ps_hash64("foo", 3, PS_HASH_SEED);
  assert_int_equal(ps_hash64("bar", 3, part), h("foobar"));
}

static void test_binary_and_order_sensitive(void **state) {
  (void)state;
  const unsigned char a[] = {0, 1, 2, 0xff}, b[] = {0, 2, 1, 0xff};
  assert_int_not_equal(ps_hash64(a, sizeof a, PS_HASH_SEED), ps_hash64(b, sizeof b, PS_HASH_SEED));
  /* embedded NULs count */
  assert_int_not_equal(ps_hash64(a, 1, PS_HASH_SEED), ps_hash64(a, 0, PS_HASH_SEED));
  assert_int_equal(ps_hash64(NULL, 0, 42), 42);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_vectors),
      cmocka_unit_test(test_chaining_equals_one_pass),
      cmocka_unit_test(test_binary_and_order_sensitive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
