/* core/clock.c: deadlines for timed waits carry nanoseconds into seconds and stay normalised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/clock.h"

static void test_adds_and_carries(void **state) {
  (void)state;
  struct timespec t = {10, 999000000L};
  struct timespec u = ps_time_add_ms(t, 1);
  assert_int_equal(u.tv_sec, 11);
  assert_int_equal(u.tv_nsec, 0);
  u = ps_time_add_ms(t, 2500);
  assert_int_equal(u.tv_sec, 13);
  assert_int_equal(u.tv_nsec, 499000000L);
  u = ps_time_add_ms((struct timespec){5, 0}, 0);
  assert_int_equal(u.tv_sec, 5);
  assert_int_equal(u.tv_nsec, 0);
}

static void test_in_ms_is_after_now(void **state) {
  (void)state;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  struct timespec u = ps_time_in_ms(CLOCK_MONOTONIC, 200);
  int64_t d = ((int64_t)u.tv_sec - now.tv_sec) * 1000000000 + (u.tv_nsec - now.tv_nsec);
  assert_true(d >= 200000000 && d < 1200000000);
  assert_true(u.tv_nsec >= 0 && u.tv_nsec < 1000000000L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_adds_and_carries),
      cmocka_unit_test(test_in_ms_is_after_now),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
