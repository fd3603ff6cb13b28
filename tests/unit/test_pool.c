/* pool.c: every queued item runs exactly once, a full queue refuses at once, freeing the pool
 * drains what is queued, and a worker whose state cannot be made fails the start. Coalescing: a
 * worker takes, with an item, the queued items of the same key (in order, at most
 * PS_POOL_BATCH_MAX), leaves the others queued in their order, and never batches a lone item. */
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
  ps_pool_ops_t ops = {.worker_init = init_ok, .worker_run = run_count, .worker_fini = fini};
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
  ps_pool_ops_t ops = {.worker_init = init_ok, .worker_run = run_gated, .worker_fini = fini};
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
  ps_pool_ops_t ops = {.worker_init = init_fail_third, .worker_run = run_count, .worker_fini = fini};
  assert_null(ps_pool_new(4, 8, &ops));
  assert_int_equal(atomic_load(&freed), atomic_load(&made)); /* the others were freed */
}

static atomic_int next;

static void *submitter(void *arg) {
  ps_pool_t *p = arg;
  for (;;) {
    int i = atomic_fetch_add(&next, 1);
    if (i >= 20000) return NULL;
    while (ps_pool_submit(p, (void *)(intptr_t)i) != 0) usleep(100);
  }
}

static void test_concurrent_submitters(void **state) {
  (void)state;
  reset();
  atomic_store(&next, 0);
  ps_pool_ops_t ops = {.worker_init = init_ok, .worker_run = run_count, .worker_fini = fini};
  ps_pool_t *p = ps_pool_new(16, 64, &ops);
  assert_non_null(p);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, submitter, p);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  ps_pool_free(p);
  for (int i = 0; i < 20000; i++) assert_int_equal(atomic_load(&runs[i]), 1);
}

/* Items that cannot be batched still get a worker each: a burst wakes the workers one after the
 * other (each woken worker wakes the next while items are left), until all run at once. */
static atomic_int running_now;

static void run_until_all_running(void *ud, void *state, void *item) {
  (void)ud;
  (void)state;
  atomic_fetch_add(&running_now, 1);
  while (!atomic_load(&gate_open)) usleep(1000);
  atomic_fetch_add(&runs[(intptr_t)item], 1);
}

static void test_a_burst_wakes_every_worker_it_needs(void **state) {
  (void)state;
  reset();
  atomic_store(&running_now, 0);
  atomic_store(&gate_open, 0);
  ps_pool_ops_t ops = {.worker_init = init_ok, .worker_run = run_until_all_running,
                       .worker_fini = fini};
  ps_pool_t *p = ps_pool_new(6, 64, &ops);
  assert_non_null(p);
  for (intptr_t i = 0; i < 6; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  for (int waited = 0; atomic_load(&running_now) < 6 && waited < 10000; waited++) usleep(1000);
  assert_int_equal(atomic_load(&running_now), 6); /* six at once, none waiting behind another */
  assert_int_equal(ps_pool_depth(p), 0);
  atomic_store(&gate_open, 1);
  ps_pool_free(p);
  for (int i = 0; i < 6; i++) assert_int_equal(atomic_load(&runs[i]), 1);
}

/* ---- coalescing: a log of what ran, one entry per worker_run / worker_run_batch */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_items[20000], log_batch[20000]; /* item, and which call (batch number) ran it */
static int n_log, n_calls;

static int key_of(void *ud, void *item) {
  (void)ud;
  intptr_t i = (intptr_t)item;
  if (i >= 2000) return 7;             /* the tests of max_keyed_running */
  return i < 1000 ? (int)(i % 3) : 1; /* 0: never batched; items >= 1000 all share key 1 */
}

static void record(void **items, int n) {
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < n; i++) {
    log_items[n_log] = (int)(intptr_t)items[i];
    log_batch[n_log++] = n_calls;
    atomic_fetch_add(&runs[(intptr_t)items[i]], 1);
  }
  n_calls++;
  pthread_mutex_unlock(&log_mu);
}

static atomic_int reader_started;

static void run_logged(void *ud, void *state, void *item) {
  (void)ud;
  (void)state;
  if ((intptr_t)item == 0) /* the first item holds the only worker until the queue is filled */
    while (!atomic_load(&gate_open)) usleep(1000);
  if ((intptr_t)item == 2000) { /* a keyed item that holds its worker until the gate opens */
    atomic_store(&reader_started, 1);
    while (!atomic_load(&gate_open)) usleep(1000);
  }
  record(&item, 1);
}

static void run_batch_logged(void *ud, void *state, void **items, int n) {
  (void)ud;
  (void)state;
  assert_true(n >= 2 && n <= PS_POOL_BATCH_MAX);
  for (int i = 1; i < n; i++) assert_int_equal(key_of(NULL, items[i]), key_of(NULL, items[0]));
  record(items, n);
}

static void reset_log(void) {
  reset();
  n_log = n_calls = 0;
  atomic_store(&gate_open, 0);
}

static const ps_pool_ops_t batch_ops = {.worker_init = init_ok, .worker_run = run_logged,
                                        .worker_fini = fini, .batch_key = key_of,
                                        .worker_run_batch = run_batch_logged};

static void test_batches_take_the_queued_items_of_one_key_in_order(void **state) {
  (void)state;
  reset_log();
  ps_pool_t *p = ps_pool_new(1, 64, &batch_ops);
  assert_non_null(p);
  assert_int_equal(ps_pool_submit(p, (void *)0), 0);
  while (ps_pool_depth(p) != 0) usleep(1000);
  for (intptr_t i = 1; i <= 12; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  atomic_store(&gate_open, 1);
  ps_pool_free(p);
  /* 0 alone; then 1 (key 1) with 4, 7, 10; 2 (key 2) with 5, 8, 11; 3, 6, 9, 12 (key 0) alone */
  static const int want[][5] = {{0, -1}, {1, 4, 7, 10, -1}, {2, 5, 8, 11, -1}, {3, -1},
                                {6, -1}, {9, -1}, {12, -1}};
  int at = 0;
  for (int b = 0; b < 7; b++) {
    for (int j = 0; want[b][j] >= 0; j++, at++) {
      assert_int_equal(log_items[at], want[b][j]);
      assert_int_equal(log_batch[at], b);
    }
  }
  assert_int_equal(at, n_log);
}

static void test_a_batch_holds_at_most_the_max(void **state) {
  (void)state;
  reset_log();
  ps_pool_t *p = ps_pool_new(1, 100, &batch_ops);
  assert_non_null(p);
  assert_int_equal(ps_pool_submit(p, (void *)0), 0);
  while (ps_pool_depth(p) != 0) usleep(1000);
  for (intptr_t i = 1000; i < 1040; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  unsigned long long batches, items;
  ps_pool_batch_stats(p, &batches, &items);
  assert_int_equal(batches, 0);
  atomic_store(&gate_open, 1);
  while (ps_pool_depth(p) != 0) usleep(1000);
  ps_pool_free(p);
  /* 40 items of one key: 16, 16, 8, each in order */
  assert_int_equal(n_log, 41);
  assert_int_equal(n_calls, 4);
  for (int i = 1; i < 41; i++) {
    assert_int_equal(log_items[i], 1000 + i - 1);
    assert_int_equal(log_batch[i], 1 + (i - 1) / 16);
  }
}

static void test_a_lone_item_is_never_a_batch(void **state) {
  (void)state;
  reset_log();
  atomic_store(&gate_open, 1);
  ps_pool_t *p = ps_pool_new(2, 8, &batch_ops);
  assert_non_null(p);
  for (intptr_t i = 1000; i < 1010; i++) {
    assert_int_equal(ps_pool_submit(p, (void *)i), 0);
    while (atomic_load(&runs[i]) == 0) usleep(100); /* each runs before the next is queued */
  }
  unsigned long long batches, items;
  ps_pool_batch_stats(p, &batches, &items);
  ps_pool_free(p);
  assert_int_equal(batches, 0);
  assert_int_equal(n_calls, 10);
}

static void concurrent_submitters_with_batches(int max_keyed_running) {
  reset_log();
  atomic_store(&next, 0);
  atomic_store(&gate_open, 1);
  ps_pool_ops_t ops = batch_ops;
  ops.max_keyed_running = max_keyed_running;
  ps_pool_t *p = ps_pool_new(3, 64, &ops);
  assert_non_null(p);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, submitter, p);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  unsigned long long batches, items;
  ps_pool_batch_stats(p, &batches, &items);
  ps_pool_free(p);
  for (int i = 0; i < 20000; i++) assert_int_equal(atomic_load(&runs[i]), 1);
  assert_int_equal(n_log, 20000);
  assert_true(items >= 2 * batches);
}

static void test_concurrent_submitters_with_batches(void **state) {
  (void)state;
  concurrent_submitters_with_batches(0);
}

static void test_concurrent_submitters_with_one_reader(void **state) {
  (void)state;
  concurrent_submitters_with_batches(1);
}

/* A pool of `workers` workers, max_keyed_running max, whose one reader is busy with item 2000
 * (held until the gate opens). */
static ps_pool_t *start_reader(int workers, int max) {
  reset_log();
  atomic_store(&reader_started, 0);
  ps_pool_ops_t ops = batch_ops;
  ops.max_keyed_running = max;
  ps_pool_t *p = ps_pool_new(workers, 64, &ops);
  assert_non_null(p);
  assert_int_equal(ps_pool_submit(p, (void *)2000), 0);
  while (!atomic_load(&reader_started)) usleep(1000);
  return p;
}

/* With max_keyed_running 1, keyed items that arrive while one runs wait for it (no idle worker
 * takes them) and then go as one batch; an item without a key is not held back behind them. */
static void test_keyed_items_wait_for_the_running_reader(void **state) {
  (void)state;
  ps_pool_t *p = start_reader(4, 1);
  for (intptr_t i = 2001; i <= 2005; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  usleep(50000); /* three workers are idle: none may take them */
  assert_int_equal(ps_pool_depth(p), 5);
  assert_int_equal(ps_pool_submit(p, (void *)3), 0); /* key 0: runs now, past the held items */
  while (atomic_load(&runs[3]) == 0) usleep(1000);
  assert_int_equal(ps_pool_depth(p), 5);
  atomic_store(&gate_open, 1);
  while (ps_pool_depth(p) != 0) usleep(1000);
  ps_pool_free(p);
  /* 3, then 2000, then 2001..2005 in one batch, in order */
  assert_int_equal(n_log, 7);
  assert_int_equal(log_items[0], 3);
  assert_int_equal(log_items[1], 2000);
  for (int i = 2; i < 7; i++) {
    assert_int_equal(log_items[i], 2001 + i - 2);
    assert_int_equal(log_batch[i], log_batch[2]);
  }
  assert_int_equal(n_calls, 3);
}

/* Keyed items enough to fill two batches (PS_POOL_READER_FILL) do not all wait for the running
 * reader: another worker takes a batch of them (up to max_keyed_running workers at once;
 * test_keyed_items_wait_for_the_running_reader shows the limit). One short of that, they wait. */
static void test_two_full_batches_start_another_reader_up_to_the_max(void **state) {
  (void)state;
  ps_pool_t *p = start_reader(4, 2);
  for (intptr_t i = 2001; i < 2001 + PS_POOL_READER_FILL - 1; i++)
    assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  usleep(50000);
  assert_int_equal(ps_pool_depth(p), PS_POOL_READER_FILL - 1); /* one short: they all wait */
  assert_int_equal(n_log, 0);
  assert_int_equal(ps_pool_submit(p, (void *)(intptr_t)(2001 + PS_POOL_READER_FILL - 1)), 0);
  /* a second reader takes the first batch of them, while the first reader still runs */
  while (atomic_load(&runs[2001 + PS_POOL_BATCH_MAX - 1]) == 0) usleep(1000);
  assert_int_equal(atomic_load(&runs[2000]), 0);
  pthread_mutex_lock(&log_mu);
  int logged = n_log, calls = n_calls;
  pthread_mutex_unlock(&log_mu);
  assert_int_equal(logged, PS_POOL_BATCH_MAX);
  assert_int_equal(calls, 1); /* as one batch, in order */
  for (int i = 0; i < PS_POOL_BATCH_MAX; i++) assert_int_equal(log_items[i], 2001 + i);
  /* the rest wait: two readers run, the max */
  usleep(50000);
  assert_int_equal(ps_pool_depth(p), PS_POOL_READER_FILL - PS_POOL_BATCH_MAX);
  atomic_store(&gate_open, 1);
  ps_pool_free(p);
  assert_int_equal(n_log, PS_POOL_READER_FILL + 1);
}

/* A pool that stops holds nothing back: freeing it while a reader runs lets idle workers drain the
 * held items. */
static void *open_gate_later(void *arg) {
  (void)arg;
  usleep(100000);
  atomic_store(&gate_open, 1);
  return NULL;
}

static void test_a_stopping_pool_drains_held_items(void **state) {
  (void)state;
  ps_pool_t *p = start_reader(3, 1);
  for (intptr_t i = 2001; i <= 2003; i++) assert_int_equal(ps_pool_submit(p, (void *)i), 0);
  pthread_t t;
  pthread_create(&t, NULL, open_gate_later, NULL);
  ps_pool_free(p); /* the held items run on the idle workers while 2000 still holds its own */
  pthread_join(t, NULL);
  for (intptr_t i = 2000; i <= 2003; i++) assert_int_equal(atomic_load(&runs[i]), 1);
  assert_int_equal(log_items[n_log - 1], 2000); /* it finished last */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_item_runs_once),
      cmocka_unit_test(test_keyed_items_wait_for_the_running_reader),
      cmocka_unit_test(test_a_stopping_pool_drains_held_items),
      cmocka_unit_test(test_two_full_batches_start_another_reader_up_to_the_max),
      cmocka_unit_test(test_full_queue_refuses_at_once_and_free_drains),
      cmocka_unit_test(test_a_failed_worker_state_fails_the_start),
      cmocka_unit_test(test_concurrent_submitters),
      cmocka_unit_test(test_a_burst_wakes_every_worker_it_needs),
      cmocka_unit_test(test_batches_take_the_queued_items_of_one_key_in_order),
      cmocka_unit_test(test_a_batch_holds_at_most_the_max),
      cmocka_unit_test(test_a_lone_item_is_never_a_batch),
      cmocka_unit_test(test_concurrent_submitters_with_batches),
      cmocka_unit_test(test_concurrent_submitters_with_one_reader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
