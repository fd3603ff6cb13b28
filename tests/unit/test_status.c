/* core/status.c and core/arena.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"
#include "core/status.h"
#include "core/validate.h"

static void test_clear_and_fail(void **state) {
  (void)state;
  ps_status_t st;
  memset(&st, 0x7f, sizeof st);
  ps_status_clear(&st);
  assert_int_equal(st.code, PS_OK);
  assert_string_equal(st.message, "");
  assert_string_equal(st.reason, "");
  assert_int_equal(st.n_meta, 0);

  assert_int_equal(ps_fail(&st, PS_FAILED_PRECONDITION, "PROSPECTS_APP_DISABLED", "app %s is off", "Prospects"),
                   -1);
  assert_int_equal(st.code, PS_FAILED_PRECONDITION);
  assert_string_equal(st.reason, "PROSPECTS_APP_DISABLED");
  assert_string_equal(st.message, "app Prospects is off");
  assert_int_equal(ps_status_meta(&st, "tenant", "acme"), -1);
  assert_int_equal(st.n_meta, 1);

  /* a new failure replaces reason and metadata */
  assert_int_equal(ps_fail(&st, PS_UNAVAILABLE, NULL, "database down"), -1);
  assert_int_equal(st.code, PS_UNAVAILABLE);
  assert_string_equal(st.reason, "");
  assert_int_equal(st.n_meta, 0);
}

static void test_fail_field(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  assert_int_equal(ps_fail_field(&st, "prospect.address.city", "must be at most %d characters", 100), -1);
  assert_int_equal(st.code, PS_INVALID_ARGUMENT);
  assert_string_equal(st.message, "prospect.address.city: must be at most 100 characters");
  assert_string_equal(st.reason, "INVALID_FIELD");
  assert_int_equal(st.n_meta, 1);
  assert_string_equal(st.meta[0].key, "field");
  assert_string_equal(st.meta[0].value, "prospect.address.city");
}

static void test_meta_full_and_truncated(void **state) {
  (void)state;
  ps_status_t st;
  ps_status_clear(&st);
  for (int i = 0; i < PS_STATUS_MAX_META + 2; i++) assert_int_equal(ps_status_meta(&st, "k", "v"), -1);
  assert_int_equal(st.n_meta, PS_STATUS_MAX_META);
  char big[500];
  memset(big, 'v', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ps_status_clear(&st);
  ps_status_meta(&st, "a_key_that_is_far_too_long_for_the_key_field", big);
  assert_int_equal(strlen(st.meta[0].key), sizeof st.meta[0].key - 1);
  assert_int_equal(strlen(st.meta[0].value), sizeof st.meta[0].value - 1);
  ps_status_meta(&st, "null", NULL);
  assert_string_equal(st.meta[1].value, "");
}

/* Messages and metadata go out as proto3 strings: a cut must not leave half a character. */
static void test_truncation_keeps_utf8_valid(void **state) {
  (void)state;
  ps_status_t st;
  char big[1200];
  for (int shift = 0; shift < 3; shift++) {
    size_t o = 0;
    for (int i = 0; i < shift; i++) big[o++] = 'x';
    while (o + 3 < sizeof big) {
      memcpy(big + o, "\xe2\x82\xac", 3); /* EURO SIGN, 3 bytes */
      o += 3;
    }
    big[o] = '\0';
    ps_status_clear(&st);
    ps_fail(&st, PS_INTERNAL, NULL, "%s", big);
    assert_true(strlen(st.message) > 500);
    assert_true(ps_utf8_valid(st.message, strlen(st.message)));
    ps_status_clear(&st);
    ps_fail_field(&st, "f", "%s", big);
    assert_true(ps_utf8_valid(st.message, strlen(st.message)));
    ps_status_meta(&st, "k", big);
    assert_true(ps_utf8_valid(st.meta[1].value, strlen(st.meta[1].value)));
    assert_true(strlen(st.meta[1].value) >= sizeof st.meta[1].value - 3);
  }
  /* a message that fits is left alone */
  ps_fail(&st, PS_INTERNAL, NULL, "%s", "caf\xc3\xa9");
  assert_string_equal(st.message, "caf\xc3\xa9");
}

static void test_code_names(void **state) {
  (void)state;
  assert_string_equal(ps_code_name(PS_OK), "OK");
  assert_string_equal(ps_code_name(PS_INVALID_ARGUMENT), "INVALID_ARGUMENT");
  assert_string_equal(ps_code_name(PS_FAILED_PRECONDITION), "FAILED_PRECONDITION");
  assert_string_equal(ps_code_name(PS_UNAUTHENTICATED), "UNAUTHENTICATED");
  assert_string_equal(ps_code_name((ps_code_t)17), "UNKNOWN");
  assert_string_equal(ps_code_name((ps_code_t)-1), "UNKNOWN");
}

static void test_arena_alloc(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 256), 0);
  unsigned char *prev = NULL;
  for (int i = 1; i < 200; i++) {
    unsigned char *p = ps_arena_alloc(&a, (size_t)i);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (int k = 0; k < i; k++) assert_int_equal(p[k], 0);
    memset(p, 0xee, (size_t)i); /* ASan catches overlap or overflow */
    assert_ptr_not_equal(p, prev);
    prev = p;
  }
  /* larger than a block */
  unsigned char *big = ps_arena_alloc(&a, 10000);
  assert_non_null(big);
  memset(big, 1, 10000);
  /* the head keeps filling after an oversized block */
  assert_non_null(ps_arena_alloc(&a, 16));
  ps_arena_destroy(&a);
}

static void test_arena_reset_reuses(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 1024), 0);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 100; i++) assert_non_null(ps_arena_alloc(&a, 100));
    assert_non_null(ps_arena_alloc(&a, 5000));
    ps_arena_reset(&a);
    unsigned char *p = ps_arena_alloc(&a, 64);
    assert_non_null(p);
    for (int k = 0; k < 64; k++) assert_int_equal(p[k], 0);
    memset(p, 0xab, 64);
    ps_arena_reset(&a);
  }
  ps_arena_destroy(&a);
  ps_arena_destroy(&a); /* twice is harmless */
  ps_arena_t zero;
  memset(&zero, 0, sizeof zero);
  ps_arena_destroy(&zero);
}

static void test_arena_overflow_refused(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  assert_null(ps_arena_alloc(&a, SIZE_MAX));
  assert_null(ps_arena_alloc(&a, SIZE_MAX - 15));
  assert_null(ps_arena_alloc(&a, SIZE_MAX - 31)); /* header + size would wrap around */
  assert_null(ps_arena_strndup(&a, "x", SIZE_MAX));
  assert_non_null(ps_arena_alloc(&a, 8)); /* still usable */
  ps_arena_destroy(&a);
}

static void test_arena_strings(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 64), 0);
  assert_string_equal(ps_arena_strdup(&a, "hello"), "hello");
  assert_string_equal(ps_arena_strndup(&a, "hello world", 5), "hello");
  assert_string_equal(ps_arena_strdup(&a, ""), "");
  assert_string_equal(ps_arena_printf(&a, "tenants/%s/prospects/%d", "acme", 42), "tenants/acme/prospects/42");
  char big[300];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  char *p = ps_arena_printf(&a, "<%s>", big); /* longer than a block */
  assert_non_null(p);
  assert_int_equal(strlen(p), sizeof big + 1);
  ps_arena_destroy(&a);
}

static void test_arena_protobuf_allocator(void **state) {
  (void)state;
  ps_arena_t a;
  assert_int_equal(ps_arena_init(&a, 0), 0);
  ProtobufCAllocator *al = &a.allocator;
  void *p = al->alloc(al->allocator_data, 100);
  assert_non_null(p);
  memset(p, 1, 100);
  al->free(al->allocator_data, p); /* a no-op */
  ps_arena_destroy(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clear_and_fail),
      cmocka_unit_test(test_fail_field),
      cmocka_unit_test(test_meta_full_and_truncated),
      cmocka_unit_test(test_truncation_keeps_utf8_valid),
      cmocka_unit_test(test_code_names),
      cmocka_unit_test(test_arena_alloc),
      cmocka_unit_test(test_arena_reset_reuses),
      cmocka_unit_test(test_arena_overflow_refused),
      cmocka_unit_test(test_arena_strings),
      cmocka_unit_test(test_arena_protobuf_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
