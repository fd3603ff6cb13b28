/* pool.c: every queued item runs exactly once, a full queue refuses at once, freeing the pool
 * drains what is queued, and a worker whose state cannot be made fails the start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"

static atomic_int runs[20000];
static atomic_int made, freed;
static atomic_int gate_open;

static void *init_ok(void *ud, int index) {
  (void)ud;
  (void)index;
  atomic_fetch_add(&made, 1);
  return malloc(1);
}

static void *init_fail_third(void *ud, int index) {
  (void)ud;
  if (index == 2) return NULL;
  atomic_fetch_add(&made, 1);
  return malloc(1);
}

static void run_count(void *ud, void *state, void *item) {
  (void)ud;
  (void)state;
  atomic_fetch_add(&runs[(intptr_t)item], 1);
}

static void run_gated(void *ud, void *state, void *item) {
  (void)ud;
  (void)state;
  while (!atomic_load(&gate_open)) usleep(1000);
  atomic_fetch_add(&runs[(intptr_t)item], 1);
}

static void fini(void *ud, void *state) {
  (void)ud;
  free(state);
  atomic_fetch_add(&freed, 1);
}

static void reset(void) {
  for (int i = 0; i < 20000; i++) atomic_store(&runs[i], 0);
  atomic_store(&made, 0);
  atomic_store(&freed, 0);
}

static void test_every_item_runs_once(void **state) {
  (void)state;
  reset();
  ps_pool_ops_t ops = {NULL, init_ok, run_count, fini};
  ps_pool_t *p = ps_pool_new(8, 20000, &ops);
  assert_non_null(p);
  assert_int_equal(atomic_load(&made), 8);
  for (intptr_t i = 0; i < 20000; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  ps_pool_free(p); /* drains */
  for (int i = 0; i < 20000; i++) assert_int_equal(atomic_load(&runs[i]), 1);
  assert_int_equal(atomic_load(&freed), 8);
}

static void test_full_queue_refuses_at_once_and_free_drains(void **state) {
  (void)state;
  reset();
  atomic_store(&gate_open, 0);
  ps_pool_ops_t ops = {NULL, init_ok, run_gated, fini};
  ps_pool_t *p = ps_pool_new(1, 2, &ops);
  assert_non_null(p);
  assert_int_equal(ps_pool_submit(p, (void *)0), 0); /* taken by the worker, which blocks */
  while (ps_pool_depth(p) != 0) usleep(1000);
  assert_int_equal(ps_pool_submit(p, (void *)1), 0);
  assert_int_equal(ps_pool_submit(p, (void *)2), 0);
  assert_int_equal(ps_pool_depth(p), 2);
  assert_int_equal(ps_pool_submit(p, (void *)3), -1); /* full */
  atomic_store(&gate_open, 1);
  ps_pool_free(p);
  assert_int_equal(atomic_load(&runs[0]) + atomic_load(&runs[1]) + atomic_load(&runs[2]), 3);
  assert_int_equal(atomic_load(&runs[3]), 0);
}

static void test_a_failed_worker_state_fails_the_start(void **state) {
  (void)state;
  reset();
  ps_pool_ops_t ops = {NULL, init_fail_third, run_count, fini};
  assert_null(ps_pool_new(4, 8, &ops));
  assert_int_equal(atomic_load(&freed), atomic_load(&made)); /* the others were freed */
}

static void *submitter(void *arg) {
  ps_pool_t *p = arg;
  static atomic_int next;
  for (;;) {
    int i = atomic_fetch_add(&next, 1);
    if (i >= 20000) return NULL;
    while (ps_pool_submit(p, (void *)(intptr_t)i) != 0) usleep(100);
  }
}

static void test_concurrent_submitters(void **state) {
  (void)state;
  reset();
  ps_pool_ops_t ops = {NULL, init_ok, run_count, fini};
  ps_pool_t *p = ps_pool_new(16, 64, &ops);
  assert_non_null(p);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, submitter, p);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  ps_pool_free(p);
  for (int i = 0; i < 20000; i++) assert_int_equal(atomic_load(&runs[i]), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_item_runs_once),
      cmocka_unit_test(test_full_queue_refuses_at_once_and_free_drains),
      cmocka_unit_test(test_a_failed_worker_state_fails_the_start),
      cmocka_unit_test(test_concurrent_submitters),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
