/* core/normalize_v1.c: version 1 of the name key, kept while rows built by it may remain. The
 * expectations of version 1 as its own tests had them (tests/unit/test_normalize.c before the
 * utf8proc folding), what it did differently from version 2 (the forms a reindex replaces), where
 * both agree, and the in-use switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/normalize.h"
#include "core/normalize_v1.h"
#include "core/validate.h"

static char out[256];

static const char *name(const char *s) {
  size_t n = ps_norm_name_v1(s, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}

/* The expectations of version 1's own test, unchanged. */
static void test_name_as_version_1_had_it(void **state) {
  (void)state;
  assert_string_equal(name("Jansen B.V."), "jansen");
  assert_string_equal(name("  JANSEN   bv  "), "jansen");
  assert_string_equal(name("BV Jansen"), "jansen");
  assert_string_equal(name("Jansen & Zn. N.V."), "jansen zn");
  assert_string_equal(name("M\xc3\xbcller GmbH"), "muller");
  assert_string_equal(name("Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale SA"), "societe generale");
  assert_string_equal(name("Stra\xc3\x9f" "e & S\xc3\xb8n Ltd."), "strasse son");
  assert_string_equal(name("\xc5\x81\xc3\xb3\x64\xc5\xba Sp\xc3\xb3\xc5\x82ka"), "lodz spolka");
  assert_string_equal(name("\xc5\x92uvre \xc3\x86sir \xc4\xb2sselmeer"), "oeuvre aesir ijsselmeer");
  assert_string_equal(name("O'Brien Ltd"), "obrien");
  assert_string_equal(name("O\xe2\x80\x99" "Brien"), "obrien");
  assert_string_equal(name("Smit-Jansen, Van der"), "smit jansen van der");
  assert_string_equal(name("A.B.C. Holding S.A.R.L."), "abc holding");
  assert_string_equal(name("Acme Inc"), "acme");
  assert_string_equal(name("Acme, LLC"), "acme");
  assert_string_equal(name("Bouw VOF"), "bouw");
  assert_string_equal(name("Bakker BVBA"), "bakker");
  assert_string_equal(name("Rossi S.r.l."), "rossi");
  /* a form word inside a word is not a form */
  assert_string_equal(name("Sanders Savings"), "sanders savings");
  assert_string_equal(name("B.V."), "");
  assert_string_equal(name(" .,- "), "");
  assert_string_equal(name(""), "");
  /* other scripts are kept */
  assert_string_equal(name("\xd0\x9c\xd0\xb8\xd1\x80 Ltd"), "\xd0\x9c\xd0\xb8\xd1\x80");
  /* 2 * 3 */
  assert_string_equal(name("2\xc3\x97" "3"), "2 3");
}

static void test_truncation_is_utf8_safe(void **state) {
  (void)state;
  char small[6];
  assert_int_equal(ps_norm_name_v1("Jansen Bakker", small, sizeof small), 5);
  assert_string_equal(small, "janse");
  /* no dangling separator when the next word does not fit */
  char seven[8];
  assert_int_equal(ps_norm_name_v1("Jansen Bakker", seven, sizeof seven), 6);
  assert_string_equal(seven, "jansen");
  char nine[9];
  assert_int_equal(ps_norm_name_v1("Jansen \xc3\xa9t", nine, sizeof nine), 8);
  assert_string_equal(nine, "jansen e");
  char name_out[4];
  assert_int_equal(ps_norm_name_v1("\xd0\x9c\xd0\xb8\xd1\x80", name_out, sizeof name_out), 2);
  assert_true(ps_utf8_valid(name_out, strlen(name_out)));
  assert_int_equal(ps_norm_name_v1("abc", small, 0), 0); /* nothing written */
}

static void test_invalid_bytes_dropped(void **state) {
  (void)state;
  ps_norm_name_v1("Ja\xc3n", out, sizeof out);
  assert_string_equal(out, "jan");
}

/* What version 2 folds and version 1 kept: the rows a reindex rewrites. */
static void test_where_version_2_differs(void **state) {
  (void)state;
  char v2[256];
  static const struct {
    const char *in, *v1;
  } cases[] = {
      /* "Ștefan Popescu": S with comma below (U+0218) is past Latin Extended-A, kept as written */
      {"\xc8\x98tefan Popescu", "\xc8\x98tefan popescu"},
      /* decomposed "Hélène" keeps its combining marks */
      {"He\xcc\x81le\xcc\x80ne", "he\xcc\x81le\xcc\x80ne"},
      /* "Nguyễn" (U+1EC5) */
      {"Nguy\xe1\xbb\x85n", "nguy\xe1\xbb\x85n"},
      /* Greek and Cyrillic capitals stay capitals: "ΣΩΚ", "Дмитрий" */
      {"\xce\xa3\xce\xa9\xce\x9a", "\xce\xa3\xce\xa9\xce\x9a"},
      {"\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9",
       "\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9"},
      /* superscript two separated words */
      {"x\xc2\xb2y", "x y"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_string_equal(name(cases[i].in), cases[i].v1);
    ps_norm_name(cases[i].in, v2, sizeof v2);
    assert_string_not_equal(v2, cases[i].v1);
  }
  ps_norm_name("\xc8\x98tefan Popescu", v2, sizeof v2);
  assert_string_equal(v2, "stefan popescu");
}

/* Where both versions agree: ASCII, and every letter of Latin-1 and Latin Extended-A, alone and
 * inside a word (so rows with only such names keep their keys and terms through a reindex). */
static void test_where_both_agree(void **state) {
  (void)state;
  char v1[64], v2[64], in[16];
  const char *ascii[] = {"Jansen B.V.", "O'Brien-Smit 2nd", "a.b.c", "  x  y  "};
  for (size_t i = 0; i < sizeof ascii / sizeof ascii[0]; i++) {
    ps_norm_name_v1(ascii[i], v1, sizeof v1);
    ps_norm_name(ascii[i], v2, sizeof v2);
    assert_string_equal(v1, v2);
  }
  for (uint32_t cp = 0xc0; cp < 0x180; cp++) {
    if (cp == 0xd7 || cp == 0xf7) continue; /* the multiplication and division signs */
    char *p = in;
    *p++ = 'a';
    *p++ = (char)(0xc0 | (cp >> 6));
    *p++ = (char)(0x80 | (cp & 0x3f));
    *p++ = 'z';
    *p = '\0';
    ps_norm_name_v1(in, v1, sizeof v1);
    ps_norm_name(in, v2, sizeof v2);
    if (strcmp(v1, v2) != 0) fail_msg("U+%04X: version 1 \"%s\", version 2 \"%s\"", cp, v1, v2);
  }
}

static void test_in_use_switch(void **state) {
  (void)state;
  assert_int_equal(ps_norm_v1_in_use(), 1); /* not known yet: assume old rows exist */
  ps_norm_v1_set_in_use(0);
  assert_int_equal(ps_norm_v1_in_use(), 0);
  ps_norm_v1_set_in_use(5);
  assert_int_equal(ps_norm_v1_in_use(), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_name_as_version_1_had_it),
      cmocka_unit_test(test_truncation_is_utf8_safe),
      cmocka_unit_test(test_invalid_bytes_dropped),
      cmocka_unit_test(test_where_version_2_differs),
      cmocka_unit_test(test_where_both_agree),
      cmocka_unit_test(test_in_use_switch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
