/* client/cli/csv_read.c (prospectctl import's CSV reader): BOM, separator detection, quotes,
 * doubled quotes, line breaks inside quotes, CRLF and LF, empty fields and lines, an unterminated
 * quote, and the UTF-8 check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../client/cli/csv_read.c" /* the CLI's sources are not in the server library */

/* Reads every record of s; returns them as "f1|f2|...@line" joined by "\n" in out. */
static int read_all(const char *s, char *out, size_t cap, char *sep) {
  csv_reader_t r;
  csv_reader_init(&r, s, strlen(s));
  if (sep) *sep = r.sep;
  size_t o = 0;
  long line;
  int rc;
  out[0] = '\0';
  while ((rc = csv_next(&r, &line)) == 1) {
    for (size_t i = 0; i < r.n_fields; i++)
      o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "|" : "", r.fields[i]);
    o += (size_t)snprintf(out + o, cap - o, "@%ld\n", line);
  }
  csv_reader_free(&r);
  return rc;
}

static void test_semicolon_with_bom_and_crlf(void **state) {
  (void)state;
  char out[512], sep;
  assert_int_equal(read_all("\xEF\xBB\xBFname;city\r\nJan;Gent\r\nPiet;\"Brussel, Centrum\"\r\n",
                            out, sizeof out, &sep), 0);
  assert_int_equal(sep, ';');
  assert_string_equal(out, "name|city@1\nJan|Gent@2\nPiet|Brussel, Centrum@3\n");
}

static void test_comma_and_lf(void **state) {
  (void)state;
  char out[512], sep;
  assert_int_equal(read_all("a,b,c\n1,,3\n", out, sizeof out, &sep), 0);
  assert_int_equal(sep, ',');
  assert_string_equal(out, "a|b|c@1\n1||3@2\n");
}

static void test_separator_counted_outside_quotes(void **state) {
  (void)state;
  char out[512], sep;
  /* the quoted header name holds commas; the semicolons outside quotes decide */
  assert_int_equal(read_all("\"x,y,z\";b\n1;2", out, sizeof out, &sep), 0);
  assert_int_equal(sep, ';');
  assert_string_equal(out, "x,y,z|b@1\n1|2@2\n");
}

static void test_quotes_doubled_and_newlines_inside(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(read_all("n;notes\r\nA;\"zei \"\"hallo\"\"\r\nen ging\"\r\nB;\"\"\r\n", out, sizeof out, NULL), 0);
  assert_string_equal(out, "n|notes@1\nA|zei \"hallo\"\r\nen ging@2\nB|@4\n");
}

static void test_quote_inside_a_field_is_a_character(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(read_all("a;b\n5\" disk;x\n", out, sizeof out, NULL), 0);
  assert_string_equal(out, "a|b@1\n5\" disk|x@2\n");
}

static void test_empty_lines_and_accents(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(read_all("a;b\n\nÉloïse;Øster Straße Ș\n", out, sizeof out, NULL), 0);
  assert_string_equal(out, "a|b@1\n@2\nÉloïse|Øster Straße Ș@3\n");
}

static void test_unterminated_quote(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(read_all("a;b\nx;\"never ends\n", out, sizeof out, NULL), -2);
}

static void test_no_trailing_newline_and_empty_input(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(read_all("a;b\n1;2", out, sizeof out, NULL), 0);
  assert_string_equal(out, "a|b@1\n1|2@2\n");
  assert_int_equal(read_all("", out, sizeof out, NULL), 0);
  assert_string_equal(out, "");
  assert_int_equal(read_all("\xEF\xBB\xBF", out, sizeof out, NULL), 0);
  assert_string_equal(out, "");
}

static void test_utf8(void **state) {
  (void)state;
  assert_true(csv_utf8_valid("Ș é ø ß €", strlen("Ș é ø ß €")));
  assert_true(csv_utf8_valid("\xF0\x9F\x98\x80", 4));
  assert_false(csv_utf8_valid("caf\xE9", 4));         /* Latin-1 é */
  assert_false(csv_utf8_valid("\xC0\xAF", 2));        /* overlong */
  assert_false(csv_utf8_valid("\xED\xA0\x80", 3));    /* surrogate */
  assert_false(csv_utf8_valid("\xE2\x82", 2));        /* cut short */
  assert_false(csv_utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_semicolon_with_bom_and_crlf),
      cmocka_unit_test(test_comma_and_lf),
      cmocka_unit_test(test_separator_counted_outside_quotes),
      cmocka_unit_test(test_quotes_doubled_and_newlines_inside),
      cmocka_unit_test(test_quote_inside_a_field_is_a_character),
      cmocka_unit_test(test_empty_lines_and_accents),
      cmocka_unit_test(test_unterminated_quote),
      cmocka_unit_test(test_no_trailing_newline_and_empty_input),
      cmocka_unit_test(test_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
