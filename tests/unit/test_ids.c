/* core/ids.c: UUIDv7 layout, ordering (also across threads), text form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "core/ids.h"

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t id_ms(const ps_id_t *id) {
  uint64_t ms = 0;
  for (int i = 0; i < 6; i++) ms = ms << 8 | id->b[i];
  return ms;
}

static void test_layout(void **state) {
  (void)state;
  uint64_t before = wall_ms();
  ps_id_t id;
  assert_int_equal(ps_id_new(&id), 0);
  uint64_t after = wall_ms();
  assert_int_equal(id.b[6] >> 4, 7);      /* version */
  assert_int_equal(id.b[8] >> 6, 2);      /* variant 10 */
  assert_true(id_ms(&id) >= before);
  assert_true(id_ms(&id) <= after + 1); /* at most a counter carry ahead */
}

static void test_10000_consecutive_ids_strictly_increase(void **state) {
  (void)state;
  enum { N = 10000 };
  ps_id_t prev, cur;
  assert_int_equal(ps_id_new(&prev), 0);
  char a[PS_ID_TEXT_LEN + 1], b[PS_ID_TEXT_LEN + 1];
  for (int i = 0; i < N; i++) {
    assert_int_equal(ps_id_new(&cur), 0);
    if (memcmp(prev.b, cur.b, 16) >= 0) {
      ps_id_format(&prev, a);
      ps_id_format(&cur, b);
      fail_msg("id %d not after its predecessor: %s then %s", i, a, b);
    }
    /* the text form sorts the same way */
    ps_id_format(&prev, a);
    ps_id_format(&cur, b);
    assert_true(strcmp(a, b) < 0);
    prev = cur;
  }
}

static void test_random_part_differs(void **state) {
  (void)state;
  ps_id_t x, y;
  assert_int_equal(ps_id_new(&x), 0);
  assert_int_equal(ps_id_new(&y), 0);
  assert_memory_not_equal(x.b + 9, y.b + 9, 7);
}

enum { THREADS = 4, PER_THREAD = 5000 };
static ps_id_t g_ids[THREADS][PER_THREAD];

static void *make_ids(void *arg) {
  ps_id_t *out = arg;
  for (int i = 0; i < PER_THREAD; i++)
    if (ps_id_new(&out[i]) != 0) return (void *)1;
  return NULL;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, sizeof(ps_id_t)); }

static void test_threads_ordered_and_unique(void **state) {
  (void)state;
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, make_ids, g_ids[i]), 0);
  for (int i = 0; i < THREADS; i++) {
    void *r;
    assert_int_equal(pthread_join(t[i], &r), 0);
    assert_null(r);
  }
  for (int i = 0; i < THREADS; i++)
    for (int j = 1; j < PER_THREAD; j++) assert_true(cmp_id(&g_ids[i][j - 1], &g_ids[i][j]) < 0);
  ps_id_t *all = &g_ids[0][0];
  qsort(all, THREADS * PER_THREAD, sizeof(ps_id_t), cmp_id);
  for (int k = 1; k < THREADS * PER_THREAD; k++) assert_true(cmp_id(&all[k - 1], &all[k]) != 0);
}

static void test_format_and_parse(void **state) {
  (void)state;
  /* the example of RFC 9562 appendix A.6 */
  const char *upper = "017F22E2-79B0-7CC3-98C4-DC0C0C07398F";
  const unsigned char want[16] = {0x01, 0x7f, 0x22, 0xe2, 0x79, 0xb0, 0x7c, 0xc3,
                                  0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f};
  ps_id_t id;
  assert_int_equal(ps_id_parse(upper, strlen(upper), &id), 0);
  assert_memory_equal(id.b, want, 16);
  char text[PS_ID_TEXT_LEN + 1];
  memset(text, 'x', sizeof text);
  ps_id_format(&id, text);
  assert_string_equal(text, "017f22e2-79b0-7cc3-98c4-dc0c0c07398f");

  ps_id_t fresh, back;
  assert_int_equal(ps_id_new(&fresh), 0);
  ps_id_format(&fresh, text);
  assert_int_equal(strlen(text), PS_ID_TEXT_LEN);
  assert_int_equal(ps_id_parse(text, PS_ID_TEXT_LEN, &back), 0);
  assert_memory_equal(fresh.b, back.b, 16);
}

static void test_parse_uses_exactly_n(void **state) {
  (void)state;
  /* a segment inside a longer name */
  const char *s = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f/documents";
  ps_id_t id;
  assert_int_equal(ps_id_parse(s, PS_ID_TEXT_LEN, &id), 0);
  assert_int_equal(id.b[15], 0x8f);
  assert_int_equal(ps_id_parse(s, PS_ID_TEXT_LEN + 1, &id), -1);
  assert_int_equal(ps_id_parse(s, PS_ID_TEXT_LEN - 1, &id), -1);
}

static void test_parse_rejects(void **state) {
  (void)state;
  static const char *const bad[] = {
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398g", /* bad hex */
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398 ", /* space */
      "017f22e279b0-7cc3-98c4-dc0c0c07398f-", /* dash moved */
      "017f22e2_79b0_7cc3_98c4_dc0c0c07398f", /* wrong separator */
      "{17f22e2-79b0-7cc3-98c4-dc0c0c07398}", /* braces */
      "017f22e2-79b0-7cc3-98c4-dc0c0c0739-f", /* dash in a hex group */
      "+17f22e2-79b0-7cc3-98c4-dc0c0c07398f", /* sign */
      "017f22e2-79b0-7cc3-98c4-dc0c0c07398\xc3", /* non-ASCII */
  };
  ps_id_t id;
  memset(&id, 0xaa, sizeof id);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (ps_id_parse(bad[i], strlen(bad[i]), &id) != -1) fail_msg("accepted \"%s\"", bad[i]);
  }
  assert_int_equal(ps_id_parse("017f22e2-79b0-7cc3-98c4-dc0c0c07398f", 0, &id), -1);
  assert_int_equal(ps_id_parse("", 0, &id), -1);
  assert_int_equal(ps_id_parse(NULL, PS_ID_TEXT_LEN, &id), -1);
  assert_int_equal(ps_id_parse("017f22e2-79b0-7cc3-98c4-dc0c0c07398f0", 37, &id), -1);
  /* untouched on failure */
  for (int i = 0; i < 16; i++) assert_int_equal(id.b[i], 0xaa);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_10000_consecutive_ids_strictly_increase),
      cmocka_unit_test(test_random_part_differs),
      cmocka_unit_test(test_threads_ordered_and_unique),
      cmocka_unit_test(test_format_and_parse),
      cmocka_unit_test(test_parse_uses_exactly_n),
      cmocka_unit_test(test_parse_rejects),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
