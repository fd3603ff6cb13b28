/* core/wire.c: string fields with NUL bytes or bad UTF-8 are found by path before protobuf-c
 * decodes (and silently truncates) them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/wire.h"
#include "prospects/v1/service.pb-c.h"

/* Appends a length-delimited field. */
static size_t ld(uint8_t *out, size_t at, unsigned field, const void *v, size_t n) {
  out[at++] = (uint8_t)(field << 3 | 2);
  out[at++] = (uint8_t)n; /* the tests keep n < 128 */
  memcpy(out + at, v, n);
  return at + n;
}

static ps_wire_problem_t check(const uint8_t *b, size_t n, char *path) {
  return ps_wire_check_strings(&prospects__v1__create_prospect_request__descriptor, b, n, path, 64);
}

static void test_clean_request_passes(void **state) {
  (void)state;
  uint8_t addr[32], pros[64], req[128];
  char path[64];
  size_t na = ld(addr, 0, 3, "Zürich", strlen("Zürich"));
  size_t np = ld(pros, 0, 4, "Ada", 3);
  np = ld(pros, np, 11, addr, na);
  size_t nr = ld(req, 0, 1, "tenants/acme", 12);
  nr = ld(req, nr, 2, pros, np);
  nr = ld(req, nr, 3, "r-1", 3);
  assert_int_equal(check(req, nr, path), PS_WIRE_OK);
  assert_string_equal(path, "");
}

static void test_nul_in_top_level_string(void **state) {
  (void)state;
  uint8_t req[64];
  char path[64];
  size_t nr = ld(req, 0, 1, "tenants/a\0b", 11);
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "parent");
}

static void test_nul_in_nested_string_names_the_path(void **state) {
  (void)state;
  uint8_t addr[32], pros[64], req[128];
  char path[64];
  size_t na = ld(addr, 0, 3, "Ams\0terdam", 10);
  size_t np = ld(pros, 0, 4, "Ada", 3);
  np = ld(pros, np, 11, addr, na);
  size_t nr = ld(req, 0, 1, "tenants/acme", 12);
  nr = ld(req, nr, 2, pros, np);
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "prospect.address.city");
}

static void test_bad_utf8(void **state) {
  (void)state;
  uint8_t pros[32], req[64];
  char path[64];
  const char bad[] = {'A', (char)0xc3, 'x'}; /* a lead byte without its continuation */
  size_t np = ld(pros, 0, 8, bad, sizeof bad);
  size_t nr = ld(req, 0, 2, pros, np);
  assert_int_equal(check(req, nr, path), PS_WIRE_BAD_UTF8);
  assert_string_equal(path, "prospect.email");
}

static void test_bytes_after_a_nested_message_keep_the_right_path(void **state) {
  (void)state;
  uint8_t pros[32], req[64];
  char path[64];
  size_t np = ld(pros, 0, 4, "Ada", 3);
  size_t nr = ld(req, 0, 2, pros, np);
  nr = ld(req, nr, 3, "r\0", 2); /* request_id after the prospect */
  assert_int_equal(check(req, nr, path), PS_WIRE_NUL);
  assert_string_equal(path, "request_id");
}

static void test_malformed_and_unknown_fields(void **state) {
  (void)state;
  char path[64];
  const uint8_t truncated[] = {0x0a, 0x05, 'a'};
  assert_int_equal(check(truncated, sizeof truncated, path), PS_WIRE_MALFORMED);
  const uint8_t group[] = {0x0b};
  assert_int_equal(check(group, sizeof group, path), PS_WIRE_MALFORMED);
  /* unknown field 99 holding a NUL is not ours to judge */
  const uint8_t unknown[] = {0x9a, 0x06, 0x02, 'a', 0x00, 0x08, 0x01};
  assert_int_equal(check(unknown, sizeof unknown, path), PS_WIRE_OK);
}

static void test_length_past_the_end_is_malformed(void **state) {
  (void)state;
  const uint8_t past_end[] = {0x12, 0x7f, 0x22, 0x01};
  char path[64];
  assert_int_equal(check(past_end, sizeof past_end, path), PS_WIRE_MALFORMED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_request_passes),
      cmocka_unit_test(test_nul_in_top_level_string),
      cmocka_unit_test(test_nul_in_nested_string_names_the_path),
      cmocka_unit_test(test_bad_utf8),
      cmocka_unit_test(test_bytes_after_a_nested_message_keep_the_right_path),
      cmocka_unit_test(test_malformed_and_unknown_fields),
      cmocka_unit_test(test_length_past_the_end_is_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
