/* core/normalize.c: the normal forms behind the duplicate check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/normalize.h"
#include "core/validate.h"

static char out[256];

static const char *email(const char *s) {
  size_t n = ps_norm_email(s, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *vat(const char *s, const char *cc) {
  size_t n = ps_norm_vat(s, cc, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *phone(const char *s, const char *cc) {
  size_t n = ps_norm_phone(s, cc, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}
static const char *name(const char *s) {
  size_t n = ps_norm_name(s, out, sizeof out);
  assert_int_equal(n, strlen(out));
  return out;
}

static void test_email(void **state) {
  (void)state;
  assert_string_equal(email("  Jan@Example.COM "), "jan@example.com");
  assert_string_equal(email("\tJAN@EXAMPLE.COM\r\n"), "jan@example.com");
  assert_string_equal(email("   "), "");
  assert_string_equal(email(""), "");
  assert_string_equal(email(NULL), "");
  /* non-ASCII is kept as is (only ASCII is lower-cased) */
  assert_string_equal(email("Jos\xc3\x89@Ex.fr"), "jos\xc3\x89@ex.fr");
}

static void test_vat(void **state) {
  (void)state;
  assert_string_equal(vat("123.456.789", "BE"), "BE123456789");
  assert_string_equal(vat("nl 0012 b01", NULL), "NL0012B01");
  assert_string_equal(vat("NL0012B01", "BE"), "NL0012B01"); /* own prefix wins */
  assert_string_equal(vat("BE 0123-456-789", NULL), "BE0123456789");
  assert_string_equal(vat("0123/456/789", "be"), "BE0123456789");
  assert_string_equal(vat("U12345678", "AT"), "ATU12345678"); /* one letter is not a prefix */
  assert_string_equal(vat("B12345678", "ES"), "ESB12345678");
  assert_string_equal(vat("123456789", NULL), "123456789");
  assert_string_equal(vat("123456789", ""), "123456789");
  assert_string_equal(vat("123456789", "NLD"), "123456789");
  assert_string_equal(vat("GR 094014201", NULL), "EL094014201"); /* Greece: EL, not GR */
  assert_string_equal(vat("094014201", "GR"), "EL094014201");
  assert_string_equal(vat(" .-. ", "BE"), "");
  assert_string_equal(vat("", "BE"), "");
}

static void test_phone(void **state) {
  (void)state;
  assert_string_equal(phone("+31 6 1234 5678", NULL), "31612345678");
  assert_string_equal(phone("0031 6 12345678", NULL), "31612345678");
  assert_string_equal(phone("06 12345678", "NL"), "31612345678");
  assert_string_equal(phone("06-12345678", "nl"), "31612345678");
  assert_string_equal(phone("+31 (0)6 1234 5678", NULL), "31612345678");
  assert_string_equal(phone("+31 06 12345678", "BE"), "31612345678"); /* stray trunk 0 */
  assert_string_equal(phone("+44 20 7946 0958", NULL), "442079460958");
  assert_string_equal(phone("020 7946 0958", "GB"), "442079460958");
  assert_string_equal(phone("+44 (0) 20 7946 0958", NULL), "442079460958");
  assert_string_equal(phone("089 123456", "DE"), "4989123456");
  assert_string_equal(phone("02 123 45 67", "BE"), "3221234567");
  assert_string_equal(phone("01 23 45 67 89", "FR"), "33123456789");
  assert_string_equal(phone("044 668 18 00", "CH"), "41446681800");
  assert_string_equal(phone("(02) 9876 5432", "AU"), "61298765432");
  /* Italy keeps its leading 0, also in international form */
  assert_string_equal(phone("06 1234 5678", "IT"), "390612345678");
  assert_string_equal(phone("+39 06 1234 5678", NULL), "390612345678");
  /* no trunk prefix */
  assert_string_equal(phone("912 345 678", "ES"), "34912345678");
  assert_string_equal(phone("21 12 34 56", "NO"), "4721123456");
  /* North America: trunk 1, exit code 011 */
  assert_string_equal(phone("(212) 555-1234", "US"), "12125551234");
  assert_string_equal(phone("1 212 555 1234", "US"), "12125551234");
  assert_string_equal(phone("+1 212 555 1234", "NL"), "12125551234");
  assert_string_equal(phone("416 555 0199", "CA"), "14165550199");
  assert_string_equal(phone("011 31 6 12345678", "US"), "31612345678");
  /* Hungary: trunk 06 */
  assert_string_equal(phone("06 1 234 5678", "HU"), "3612345678");
  /* unknown or missing country: digits as written */
  assert_string_equal(phone("06 12345678", NULL), "0612345678");
  assert_string_equal(phone("06 12345678", "ZZ"), "0612345678");
  assert_string_equal(phone("+", "NL"), "");
  assert_string_equal(phone("", "NL"), "");
  assert_string_equal(phone("0", "NL"), "");
  /* same number, different spellings: one key */
  char a[32], b[32], c[32];
  ps_norm_phone("+31 (0)20 123 4567", NULL, a, sizeof a);
  ps_norm_phone("020-1234567", "NL", b, sizeof b);
  ps_norm_phone("0031201234567", "DE", c, sizeof c);
  assert_string_equal(a, b);
  assert_string_equal(b, c);
}

static void test_name(void **state) {
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
  /* "jo" + e-acute (2 bytes): the 2-byte character is never split */
  assert_int_equal(ps_norm_email("jo\xc3\xa9x@e.com", small, 4), 2);
  assert_string_equal(small, "jo");
  assert_int_equal(ps_norm_email("jo\xc3\xa9x@e.com", small, 5), 4);
  assert_string_equal(small, "jo\xc3\xa9");
  assert_int_equal(ps_norm_email("abc", small, 0), 0); /* nothing written */
  assert_int_equal(ps_norm_email("abc", small, 1), 0);
  assert_string_equal(small, "");
  assert_int_equal(ps_norm_phone("+31 6 1234 5678", NULL, small, sizeof small), 5);
  assert_string_equal(small, "31612");
  assert_int_equal(ps_norm_vat("123", "BE", small, 3), 2);
  assert_string_equal(small, "BE");
  assert_int_equal(ps_norm_name("Jansen Bakker", small, sizeof small), 5);
  assert_string_equal(small, "janse");
  /* no dangling separator when the next word does not fit */
  char seven[8];
  assert_int_equal(ps_norm_name("Jansen Bakker", seven, sizeof seven), 6);
  assert_string_equal(seven, "jansen");
  char nine[9];
  assert_int_equal(ps_norm_name("Jansen \xc3\xa9t", nine, sizeof nine), 8);
  assert_string_equal(nine, "jansen e");
  char name_out[4];
  assert_int_equal(ps_norm_name("\xd0\x9c\xd0\xb8\xd1\x80", name_out, sizeof name_out), 2);
  assert_true(ps_utf8_valid(name_out, strlen(name_out)));
}

static void test_invalid_bytes_dropped(void **state) {
  (void)state;
  /* inputs should be valid UTF-8; if not, the output still is */
  ps_norm_email("ja\xffn@x.nl", out, sizeof out);
  assert_string_equal(out, "jan@x.nl");
  ps_norm_name("Ja\xc3n", out, sizeof out);
  assert_string_equal(out, "jan");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_email),
      cmocka_unit_test(test_vat),
      cmocka_unit_test(test_phone),
      cmocka_unit_test(test_name),
      cmocka_unit_test(test_truncation_is_utf8_safe),
      cmocka_unit_test(test_invalid_bytes_dropped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
