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

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Fills tenant with f and waits into its refresh window (past TTL - JITTER - AHEAD of the fill,
 * before TTL - JITTER): 1 when a hit there queued it (within 3 tries: a machine that stalls past
 * the window makes a try miss), else 0. Takes the queued tenant out. */
static int fill_and_queue(const char *tenant, const ps_flags_t *f) {
  for (int attempt = 0; attempt < 3; attempt++) {
    int64_t t0 = mono_ms();
    ps_flags_fill(tenant, f);
    sleep_ms(PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_REFRESH_AHEAD_MS + 5);
    ps_flags_t got;
    int hit = ps_flags_try(tenant, &got) == PS_FLAGS_HIT;
    int64_t t1 = mono_ms();
    char taken[4][64];
    int n = ps_flags_refresh_take(4, taken, 0);
    if (hit && t1 < t0 + PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_LOCAL_TTL_JITTER_MS) {
      assert_int_equal(n, 1);
      assert_string_equal(taken[0], tenant);
      return 1;
    }
    if (!hit) ps_flags_abandon(tenant); /* expired: the try claimed the load */
    for (int i = 0; i < n; i++) ps_flags_refresh_skip(taken[i]);
  }
  return 0;
}

static void test_a_hit_near_expiry_queues_one_refresh(void **state) {
  (void)state;
  ps_flags_refresh_enable(1);
  ps_flags_t f = {1, 0, 4}, got;
  char taken[4][64];
  /* fresh: a hit queues nothing */
  ps_flags_fill("ra-fresh", &f);
  assert_int_equal(ps_flags_try("ra-fresh", &got), PS_FLAGS_HIT);
  assert_int_equal(ps_flags_refresh_take(4, taken, 0), 0);
  /* near its expiry: the first hit queues it, once */
  assert_true(fill_and_queue("ra-1", &f));
  assert_int_equal(ps_flags_lookup("ra-1", 0, &got), PS_FLAGS_HIT);
  assert_int_equal(ps_flags_refresh_take(4, taken, 0), 0);
  /* renewed: still a hit past the expiry of the first fill */
  ps_flags_stats_t before, after;
  ps_flags_get_stats(&before);
  int64_t renewed = mono_ms();
  ps_flags_refresh_fill("ra-1", &f);
  ps_flags_get_stats(&after);
  assert_int_equal((int)(after.refreshes - before.refreshes), 1);
  sleep_ms(PS_FLAGS_REFRESH_AHEAD_MS + 10);
  if (mono_ms() < renewed + PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_LOCAL_TTL_JITTER_MS)
    assert_int_equal(ps_flags_try("ra-1", &got), PS_FLAGS_HIT);
  ps_flags_refresh_enable(0);
}

static void test_a_refresh_never_replaces_a_newer_version(void **state) {
  (void)state;
  ps_flags_refresh_enable(1);
  ps_flags_t old = {1, 0, 5}, changed = {0, 0, 6}, got;
  assert_true(fill_and_queue("ra-2", &old));
  ps_flags_fill("ra-2", &changed); /* a change made while the refresh read Redis */
  ps_flags_refresh_fill("ra-2", &old);
  assert_int_equal(ps_flags_lookup("ra-2", 0, &got), PS_FLAGS_HIT);
  assert_int_equal((int)got.version, 6);
  assert_int_equal(got.prospects, 0);
  ps_flags_refresh_enable(0);
}

static void test_a_skipped_refresh_lets_the_entry_expire(void **state) {
  (void)state;
  ps_flags_refresh_enable(1);
  ps_flags_t f = {1, 1, 2}, got;
  assert_true(fill_and_queue("ra-3", &f));
  ps_flags_refresh_skip("ra-3"); /* Redis had nothing usable */
  sleep_ms(PS_FLAGS_REFRESH_AHEAD_MS + 10);
  assert_int_equal(ps_flags_try("ra-3", &got), PS_FLAGS_LOAD); /* the next call loads it */
  ps_flags_abandon("ra-3");
  /* and once loaded again, it is renewed ahead as any other */
  assert_true(fill_and_queue("ra-3", &f));
  ps_flags_refresh_skip("ra-3");
  ps_flags_refresh_enable(0);
}

static void test_a_tenant_without_a_row_is_not_queued(void **state) {
  (void)state;
  ps_flags_refresh_enable(1);
  ps_flags_t none = {0, 0, 0}, got; /* Redis holds no key for it: a call loads it */
  char taken[4][64];
  ps_flags_fill("ra-5", &none);
  sleep_ms(PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_REFRESH_AHEAD_MS + 5);
  (void)ps_flags_try("ra-5", &got);
  assert_int_equal(ps_flags_refresh_take(4, taken, 0), 0);
  ps_flags_refresh_enable(0);
}

static void test_without_a_refresher_nothing_is_queued(void **state) {
  (void)state;
  ps_flags_refresh_enable(0);
  ps_flags_t f = {1, 1, 2}, got;
  char taken[4][64];
  ps_flags_fill("ra-4", &f);
  sleep_ms(PS_FLAGS_LOCAL_TTL_MS - PS_FLAGS_REFRESH_AHEAD_MS + 5);
  (void)ps_flags_try("ra-4", &got);
  assert_int_equal(ps_flags_refresh_take(4, taken, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_try_claims_a_miss_once),
      cmocka_unit_test(test_an_abandoned_claim_can_be_taken_again),
      cmocka_unit_test(test_tenants_are_independent),
      cmocka_unit_test(test_stats_count_batched_reads),
      cmocka_unit_test(test_entries_filled_together_expire_apart),
      cmocka_unit_test(test_a_hit_near_expiry_queues_one_refresh),
      cmocka_unit_test(test_a_refresh_never_replaces_a_newer_version),
      cmocka_unit_test(test_a_skipped_refresh_lets_the_entry_expire),
      cmocka_unit_test(test_a_tenant_without_a_row_is_not_queued),
      cmocka_unit_test(test_without_a_refresher_nothing_is_queued),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ps_flags_clear();
  return rc;
}
