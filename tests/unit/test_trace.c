/* obs/trace.c: ps_trace_parse reads a W3C traceparent ("vv-<32 hex>-<16 hex>-<2 hex>"): lowercase
 * hex only, version ff and all-zero ids invalid, version 00 exactly 55 characters, later versions
 * their first four fields when what follows is "-" or nothing. On failure nothing is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "obs/trace.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"
#define VALID "00-" TID "-" PID "-01"

static char trace_id[PS_TRACE_ID_LEN + 1], parent_id[PS_SPAN_ID_LEN + 1];

/* Parses s (its strlen); the ids are preset to a marker so that a failure can be seen to leave them. */
static int parse(const char *s) {
  memset(trace_id, 'X', PS_TRACE_ID_LEN);
  trace_id[PS_TRACE_ID_LEN] = '\0';
  memset(parent_id, 'X', PS_SPAN_ID_LEN);
  parent_id[PS_SPAN_ID_LEN] = '\0';
  return ps_trace_parse(s, s ? strlen(s) : 0, trace_id, parent_id);
}

static void assert_rejected(const char *s) {
  if (parse(s) != -1) fail_msg("accepted: \"%s\"", s ? s : "(null)");
  /* nothing written */
  assert_int_equal(strspn(trace_id, "X"), PS_TRACE_ID_LEN);
  assert_int_equal(strspn(parent_id, "X"), PS_SPAN_ID_LEN);
}

static void test_valid_version_00(void **state) {
  (void)state;
  assert_int_equal(strlen(VALID), 55);
  assert_int_equal(parse(VALID), 0);
  assert_string_equal(trace_id, TID);
  assert_string_equal(parent_id, PID);
  /* flags are any two hex digits (not sampled, unknown bits) */
  assert_int_equal(parse("00-" TID "-" PID "-00"), 0);
  assert_int_equal(parse("00-" TID "-" PID "-ff"), 0);
  assert_string_equal(trace_id, TID);
  /* ids with a single non-zero digit are valid */
  assert_int_equal(parse("00-00000000000000000000000000000001-1000000000000000-01"), 0);
  assert_string_equal(trace_id, "00000000000000000000000000000001");
  assert_string_equal(parent_id, "1000000000000000");
}

static void test_length_is_the_given_n_not_the_nul(void **state) {
  (void)state;
  /* a longer buffer read as its first 55 bytes only */
  const char *s = VALID "-more";
  assert_int_equal(ps_trace_parse(s, 55, trace_id, parent_id), 0);
  assert_string_equal(trace_id, TID);
  /* metadata values are not NUL-terminated: a prefix of 54 is too short */
  assert_int_equal(ps_trace_parse(VALID, 54, trace_id, parent_id), -1);
}

static void test_uppercase_rejected(void **state) {
  (void)state;
  assert_rejected("00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01");
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e473A-" PID "-01"); /* one digit */
  assert_rejected("00-" TID "-00F067AA0BA902B7-01");
  assert_rejected("00-" TID "-" PID "-0A");
  assert_rejected("0A-" TID "-" PID "-01");
}

static void test_all_zero_ids_rejected(void **state) {
  (void)state;
  assert_rejected("00-00000000000000000000000000000000-" PID "-01");
  assert_rejected("00-" TID "-0000000000000000-01");
  assert_rejected("00-00000000000000000000000000000000-0000000000000000-00");
}

static void test_version_ff_rejected(void **state) {
  (void)state;
  assert_rejected("ff-" TID "-" PID "-01");
  assert_rejected("ff-" TID "-" PID "-01-extra");
  assert_rejected("FF-" TID "-" PID "-01");
}

static void test_version_00_must_be_exactly_55(void **state) {
  (void)state;
  assert_rejected(VALID "-");
  assert_rejected(VALID "-extra");
  assert_rejected(VALID "x");
  assert_rejected(VALID "0");
  assert_rejected(VALID " ");
}

static void test_future_versions(void **state) {
  (void)state;
  assert_int_equal(parse("01-" TID "-" PID "-01"), 0);
  assert_string_equal(trace_id, TID);
  assert_string_equal(parent_id, PID);
  assert_int_equal(parse("01-" TID "-" PID "-01-extra"), 0);
  assert_string_equal(trace_id, TID);
  assert_string_equal(parent_id, PID);
  assert_int_equal(parse("cc-" TID "-" PID "-09-what-ever"), 0);
  assert_int_equal(parse("fe-" TID "-" PID "-01-"), 0);
  /* what follows the flags must start with "-" */
  assert_rejected("01-" TID "-" PID "-01x");
  assert_rejected("01-" TID "-" PID "-01 extra");
  assert_rejected("01-" TID "-" PID "-012");
  /* a later version still needs valid fields */
  assert_rejected("01-" TID "-0000000000000000-01-extra");
  assert_rejected("01-" TID "-" PID "-0g-extra");
}

static void test_short_long_and_null(void **state) {
  (void)state;
  assert_int_equal(ps_trace_parse(NULL, 55, trace_id, parent_id), -1);
  assert_int_equal(ps_trace_parse(NULL, 0, trace_id, parent_id), -1);
  assert_rejected(NULL);
  assert_rejected("");
  assert_rejected("00");
  assert_rejected("00-" TID "-" PID "-0");           /* 54 */
  assert_rejected("00-" TID "-" PID "-");            /* no flags */
  assert_rejected("00-" TID "-" PID);                /* no flags at all */
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e473-" PID "-01");   /* trace id of 31 */
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e47360-" PID "-01"); /* trace id of 33 */
  assert_rejected("00-" TID "-00f067aa0ba902b-01");  /* parent id of 15 */
  assert_rejected("00-" TID "-00f067aa0ba902b70-01"); /* parent id of 17 */
  assert_rejected("0-" TID "-" PID "-01");           /* version of 1 */
  assert_rejected("000-" TID "-" PID "-01");         /* version of 3 */
}

static void test_non_hex_rejected(void **state) {
  (void)state;
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e473g-" PID "-01");
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e473 -" PID "-01");
  assert_rejected("00-" TID "-00f067aa0ba902bz-01");
  assert_rejected("00-" TID "-" PID "-0x");
  assert_rejected("0x-" TID "-" PID "-01");
  assert_rejected("g0-" TID "-" PID "-01");
  assert_rejected("00-+bf92f3577b34da6a3ce929d0e0e4736-" PID "-01");
  /* a NUL inside the value */
  char v[56];
  memcpy(v, VALID, 56);
  v[10] = '\0';
  assert_int_equal(ps_trace_parse(v, 55, trace_id, parent_id), -1);
}

static void test_wrong_dash_positions(void **state) {
  (void)state;
  assert_rejected("00_" TID "-" PID "-01");
  assert_rejected("00-" TID "_" PID "-01");
  assert_rejected("00-" TID "-" PID "_01");
  /* right length, dashes moved by one */
  assert_rejected("00-4bf92f3577b34da6a3ce929d0e0e473-6" PID "-01");
  assert_rejected("00-" TID "-00f067aa0ba902b-701");
  assert_rejected("004-bf92f3577b34da6a3ce929d0e0e4736-" PID "-01");
  assert_rejected("-00" TID "-" PID "-01");
  /* 55 characters of dashes and hex in the wrong places */
  assert_rejected("-------------------------------------------------------");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_version_00),
      cmocka_unit_test(test_length_is_the_given_n_not_the_nul),
      cmocka_unit_test(test_uppercase_rejected),
      cmocka_unit_test(test_all_zero_ids_rejected),
      cmocka_unit_test(test_version_ff_rejected),
      cmocka_unit_test(test_version_00_must_be_exactly_55),
      cmocka_unit_test(test_future_versions),
      cmocka_unit_test(test_short_long_and_null),
      cmocka_unit_test(test_non_hex_rejected),
      cmocka_unit_test(test_wrong_dash_positions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
