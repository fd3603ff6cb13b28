/* cache/flags.c: the in-process tier of the apps cache, its single-flight loads, and the
 * non-waiting claim that coalesced reads use (ps_flags_try). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tenants filled at the same moment expire apart, within [TTL - JITTER, TTL] of their fill: when
 * they all expired together, the calls that came next reloaded them all at once, every TTL. */
#define N_SPREAD 64
static void test_entries_filled_together_expire_apart(void **state) {
  (void)state;
  char names[N_SPREAD][32];
  int64_t expired_at[N_SPREAD];
  ps_flags_t f = {1, 1, 3};
  int64_t t0 = mono_ms();
  for (int i = 0; i < N_SPREAD; i++) {
    snprintf(names[i], sizeof names[i], "spread-%d", i);
    ps_flags_fill(names[i], &f);
    expired_at[i] = 0;
  }
  int64_t t1 = mono_ms();
  int left = N_SPREAD;
  while (left > 0) {
    int64_t now = mono_ms();
    assert_true(now <= t1 + PS_FLAGS_LOCAL_TTL_MS + 1000); /* an entry that never expires */
    for (int i = 0; i < N_SPREAD; i++) {
      if (expired_at[i]) continue;
      ps_flags_t got;
      if (ps_flags_try(names[i], &got) == PS_FLAGS_HIT) continue;
      expired_at[i] = mono_ms();
      ps_flags_abandon(names[i]);
      left--;
    }
    struct timespec pause = {0, 1000000};
    nanosleep(&pause, NULL);
  }
  int64_t first = expired_at[0], last = expired_at[0];
  for (int i = 0; i < N_SPREAD; i++) {
    assert_true(expired_at[i] >= t0 + PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_LOCAL_TTL_JITTER_MS);
    if (expired_at[i] < first) first = expired_at[i];
    if (expired_at[i] > last) last = expired_at[i];
  }
  /* 64 uniform draws over 100 ms span about 97 ms; a third of that leaves room for a slow machine,
   * and together (the old rule) they span the time the fills took */
  assert_true(last - first >= PS_FLAGS_LOCAL_TTL_JITTER_MS / 3 + (t1 - t0));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_try_claims_a_miss_once),
      cmocka_unit_test(test_an_abandoned_claim_can_be_taken_again),
      cmocka_unit_test(test_tenants_are_independent),
      cmocka_unit_test(test_stats_count_batched_reads),
      cmocka_unit_test(test_entries_filled_together_expire_apart),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ps_flags_clear();
  return rc;
}
