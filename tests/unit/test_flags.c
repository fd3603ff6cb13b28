/* cache/flags.c: the in-process tier of the apps cache, its single-flight loads, and the
 * non-waiting claim that coalesced reads use (ps_flags_try). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cache/flags.h"

static void test_try_claims_a_miss_once(void **state) {
  (void)state;
  ps_flags_t f = {0};
  assert_int_equal(ps_flags_try("try-a", &f), PS_FLAGS_LOAD);
  /* the claim is held: a second batch leaves the tenant to the first, and does not wait */
  assert_int_equal(ps_flags_try("try-a", &f), PS_FLAGS_BUSY);
  ps_flags_t filled = {1, 0, 7};
  ps_flags_fill("try-a", &filled);
  memset(&f, 0, sizeof f);
  assert_int_equal(ps_flags_try("try-a", &f), PS_FLAGS_HIT);
  assert_int_equal(f.prospects, 1);
  assert_int_equal(f.quote_requests, 0);
  assert_int_equal((int)f.version, 7);
  /* and a call's own lookup is served from memory */
  memset(&f, 0, sizeof f);
  assert_int_equal(ps_flags_lookup("try-a", 0, &f), PS_FLAGS_HIT);
  assert_int_equal((int)f.version, 7);
}

static void test_an_abandoned_claim_can_be_taken_again(void **state) {
  (void)state;
  ps_flags_t f;
  assert_int_equal(ps_flags_try("try-b", &f), PS_FLAGS_LOAD);
  ps_flags_abandon("try-b");
  /* a call's own lookup becomes the loader now (deadline 0: it does not wait) */
  assert_int_equal(ps_flags_lookup("try-b", 0, &f), PS_FLAGS_LOAD);
  assert_int_equal(ps_flags_try("try-b", &f), PS_FLAGS_BUSY);
  ps_flags_abandon("try-b");
  assert_int_equal(ps_flags_try("try-b", &f), PS_FLAGS_LOAD);
  ps_flags_abandon("try-b");
}

static void test_tenants_are_independent(void **state) {
  (void)state;
  ps_flags_t f;
  assert_int_equal(ps_flags_try("try-c", &f), PS_FLAGS_LOAD);
  assert_int_equal(ps_flags_try("try-d", &f), PS_FLAGS_LOAD);
  ps_flags_t c = {1, 1, 2};
  ps_flags_fill("try-c", &c);
  assert_int_equal(ps_flags_try("try-c", &f), PS_FLAGS_HIT);
  assert_int_equal(ps_flags_try("try-d", &f), PS_FLAGS_BUSY);
  ps_flags_abandon("try-d");
}

static void test_stats_count_batched_reads(void **state) {
  (void)state;
  ps_flags_stats_t before, after;
  ps_flags_get_stats(&before);
  ps_flags_count(PS_FLAGS_STAT_MYSQL_BATCH);
  ps_flags_get_stats(&after);
  assert_int_equal((int)(after.mysql_batches - before.mysql_batches), 1);
  assert_int_equal((int)(after.mysql_reads - before.mysql_reads), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_try_claims_a_miss_once),
      cmocka_unit_test(test_an_abandoned_claim_can_be_taken_again),
      cmocka_unit_test(test_tenants_are_independent),
      cmocka_unit_test(test_stats_count_batched_reads),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ps_flags_clear();
  return rc;
}
